import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// Users, tokens and the audit log in PostgreSQL: times as `timestamptz` to the whole second (as the
/// SpatiaLite file keeps them, so an expiry is decided to the second alike), a token only as its hash.
extension PostGISStore: AccountStore {
    public func addUser(_ user: User) async throws {
        try AccountRules.checkName(user.name)
        var q = SQLText("INSERT INTO users (name, role, agent, created_at) VALUES (")
        q.bind(user.name)
        q.sql(", ")
        q.bind(user.role.rawValue)
        q.sql(", ")
        q.bind(user.agent)
        q.sql(", ")
        q.bind(Self.second(user.createdAt))
        q.sql(") ON CONFLICT (name) DO NOTHING RETURNING 1")
        guard try await !rows(q).isEmpty else { throw RGISError(.conflict, "user '\(user.name)' exists already", at: "name") }
    }

    public func users() async throws -> [User] {
        let rows = try await rows("SELECT name, role, agent, created_at FROM users ORDER BY name COLLATE \"C\"")
        return try translating {
            try rows.map { row in
                User(name: try row[0].decode(String.self), role: Role(rawValue: try row[1].decode(String.self)) ?? .agent,
                     agent: try row[2].decode(String?.self), createdAt: try row[3].decode(Date.self))
            }
        }
    }

    public func createToken(user: String, expires: Date?, now: Date) async throws -> String {
        try AccountRules.checkExpiry(expires, now: now)
        let token = Digest.newToken()
        // One statement: the user's row is read and the token written under the same snapshot.
        var q = SQLText("INSERT INTO tokens (user_name, sha256, created_at, expires_at) SELECT name, ")
        q.bind(Digest.sha256Hex(token))
        q.sql(", ")
        q.bind(Self.second(now))
        q.sql(", ")
        q.bind(expires.map(Self.second))
        q.sql(" FROM users WHERE name = ")
        q.bind(user)
        q.sql(" RETURNING id")
        guard try await !rows(q).isEmpty else { throw RGISError(.notFound, "no user '\(user)'; add one with rgis users add", at: "name") }
        return token
    }

    public func revokeToken(_ token: String, now: Date) async throws {
        var q = SQLText("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ")
        q.bind(Self.second(now))
        q.sql(") WHERE sha256 = ")
        q.bind(Digest.sha256Hex(token))
        q.sql(" RETURNING id")
        guard try await !rows(q).isEmpty else { throw RGISError(.notFound, "no such token (it may have been mistyped)", at: "token") }
    }

    public func tokens(user: String?) async throws -> [TokenInfo] {
        var q = SQLText("SELECT id, user_name, created_at, expires_at, last_used_at, revoked_at FROM tokens")
        if let user {
            q.sql(" WHERE user_name = ")
            q.bind(user)
        }
        q.sql(" ORDER BY id DESC")
        let rows = try await rows(q)
        return try translating {
            try rows.map { row in
                TokenInfo(id: try row[0].decode(Int64.self), user: try row[1].decode(String.self), createdAt: try row[2].decode(Date.self),
                          expiresAt: try row[3].decode(Date?.self), lastUsedAt: try row[4].decode(Date?.self), revokedAt: try row[5].decode(Date?.self))
            }
        }
    }

    public func authenticate(_ token: String, now: Date) async throws -> TokenCheck {
        guard Digest.looksLikeToken(token) else { return .unknown }
        let hash = Digest.sha256Hex(token)
        var q = SQLText("""
            SELECT t.id, t.sha256, u.name, u.role, u.agent, t.expires_at, t.last_used_at, t.revoked_at
            FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.sha256 =
            """)
        q.sql(" ")
        q.bind(hash)
        // From the primary, even in a request: a token revoked a moment ago is refused everywhere at once.
        let found = try await StoreReads.$standbyAllowed.withValue(false) { try await rows(q) }
        guard let row = found.first else { return .unknown }
        let (id, stored, user, expires, lastUsed, revoked) = try translating {
            (try row[0].decode(Int64.self), try row[1].decode(String.self),
             User(name: try row[2].decode(String.self), role: Role(rawValue: try row[3].decode(String.self)) ?? .agent, agent: try row[4].decode(String?.self)),
             try row[5].decode(Date?.self), try row[6].decode(Date?.self), try row[7].decode(Date?.self))
        }
        // The index lookup finds the row; the comparison that decides is the constant-time one.
        guard Digest.constantTimeEqual(stored, hash) else { return .unknown }
        if revoked != nil { return .revoked }
        let second = Self.second(now)
        if let expires, second >= expires { return .expired }
        // Last use kept at most once a minute, so that reads do not all become writes.
        if lastUsed.map({ $0 <= second.addingTimeInterval(-60) }) ?? true {
            var touch = SQLText("UPDATE tokens SET last_used_at = ")
            touch.bind(second)
            touch.sql(" WHERE id = ")
            touch.bind(id)
            try await run(touch)
        }
        return .valid(user.caller)
    }

    public func appendAudit(_ entry: AuditEntry) async throws {
        var q = SQLText("INSERT INTO audit_log (at, user_name, role, method, endpoint, record_ids) VALUES (")
        q.bind(Self.second(entry.at))
        for value in [entry.user, entry.role, entry.method, entry.endpoint] {
            q.sql(", ")
            q.bind(value)
        }
        q.sql(", ")
        q.bind(entry.recordIDs)
        q.sql(")")
        try await run(q)
    }

    public func audit(since: Date?, user: String?) async throws -> [AuditEntry] {
        var q = SQLText("SELECT at, user_name, role, method, endpoint, record_ids FROM audit_log WHERE true")
        if let since {
            q.sql(" AND at >= ")
            q.bind(Self.second(since))
        }
        if let user {
            q.sql(" AND user_name = ")
            q.bind(user)
        }
        q.sql(" ORDER BY id")
        let rows = try await rows(q)
        return try translating {
            try rows.map { row in
                AuditEntry(at: try row[0].decode(Date.self), user: try row[1].decode(String.self), role: try row[2].decode(String.self),
                           method: try row[3].decode(String.self), endpoint: try row[4].decode(String.self), recordIDs: try row[5].decode([String].self))
            }
        }
    }

    /// A time to the whole second (down), as account times are kept on every backend.
    static func second(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }
}
