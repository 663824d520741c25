import Foundation
import RGISCore

/// Users, tokens, the audit log. Tokens are stored only as SHA-256 hashes; the text of a new token is
/// returned once and never again. Times are injected (`now`), so expiry can be tested to the second.
public protocol AccountStore: Sendable {
    /// Adds a user; `.conflict` when the name is taken.
    func addUser(_ user: User) async throws
    func users() async throws -> [User]
    /// A new token for a user (`.notFound` for an unknown user): `rgis_` and 43 random base64url characters.
    func createToken(user: String, expires: Date?, now: Date) async throws -> String
    /// Revokes a token by its text; `.notFound` when no token has that text.
    func revokeToken(_ token: String, now: Date) async throws
    /// The tokens of one user or all, newest first, without their text (which is not stored).
    func tokens(user: String?) async throws -> [TokenInfo]
    /// Who a token belongs to, or why it is refused; a valid token's last-used time is updated (at
    /// most once a minute, so that reads do not all become writes).
    func authenticate(_ token: String, now: Date) async throws -> TokenCheck
    /// Appends to the audit log (which refuses updates and deletes).
    func appendAudit(_ entry: AuditEntry) async throws
    /// The audit log since a time, of one user or all, oldest first.
    func audit(since: Date?, user: String?) async throws -> [AuditEntry]
}

public struct User: Sendable, Equatable {
    public let name: String
    public let role: Role
    /// The agent id an agent's records carry; nil for other roles.
    public let agent: String?
    public var createdAt: Date

    public init(name: String, role: Role, agent: String? = nil, createdAt: Date = Date()) {
        self.name = name
        self.role = role
        self.agent = role == .agent ? agent ?? name : nil
        self.createdAt = createdAt
    }

    public var caller: Caller { Caller(user: name, role: role, agent: agent) }
}

public struct TokenInfo: Sendable, Equatable {
    public let id: Int64
    public let user: String
    public let createdAt: Date
    public let expiresAt: Date?
    public let lastUsedAt: Date?
    public let revokedAt: Date?

    package init(id: Int64, user: String, createdAt: Date, expiresAt: Date?, lastUsedAt: Date?, revokedAt: Date?) {
        self.id = id
        self.user = user
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

public enum TokenCheck: Sendable, Equatable {
    case valid(Caller)
    case unknown, expired, revoked

    /// Why a token is refused, for the 401's description.
    public var refusal: String? {
        switch self {
        case .valid: nil
        case .unknown: "the token is not known"
        case .expired: "the token has expired"
        case .revoked: "the token has been revoked"
        }
    }
}

/// One read of personal data: who, when, where, which records. Never the data itself.
public struct AuditEntry: Sendable, Equatable {
    public let at: Date
    public let user: String
    public let role: String
    public let method: String
    /// The endpoint's path template (`/clients/{clientId}`).
    public let endpoint: String
    public let recordIDs: [String]

    public init(at: Date, user: String, role: String, method: String, endpoint: String, recordIDs: [String]) {
        self.at = at
        self.user = user
        self.role = role
        self.method = method
        self.endpoint = endpoint
        self.recordIDs = recordIDs
    }

    public var json: JSONValue {
        .object(["at": .string(Timestamp.text(at)), "user": .string(user), "role": .string(role), "method": .string(method),
                 "endpoint": .string(endpoint), "record_ids": .array(recordIDs.map(JSONValue.string))])
    }
}

/// RFC 3339 UTC seconds, as the account tables store times: as text they sort as time, so the hot
/// path (a token's expiry on every request) compares text and never parses.
public enum Timestamp {
    public static func text(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
