import Foundation
import GRDB
import RGISCore
import RGISStore

extension SpatiaLiteStore: AccountStore {
    public func addUser(_ user: User) async throws {
        try AccountRules.checkName(user.name)
        try await write { db in
            if try db.value("SELECT count(*) FROM users WHERE name = \(user.name)", as: Int.self) ?? 0 > 0 {
                throw RGISError(.conflict, "user '\(user.name)' exists already", at: "name")
            }
            try db.execute(literal: "INSERT INTO users (name, role, agent, created_at) VALUES (\(user.name), \(user.role.rawValue), \(user.agent), \(Timestamp.text(user.createdAt)))")
        }
    }

    public func users() async throws -> [User] {
        try await read { db in
            try db.rows("SELECT name, role, agent, created_at FROM users ORDER BY name").map { row in
                User(name: row[0], role: Role(rawValue: row[1]) ?? .agent, agent: row[2], createdAt: Timestamp.date(row[3]) ?? Date(timeIntervalSince1970: 0))
            }
        }
    }

    public func createToken(user: String, expires: Date?, now: Date) async throws -> String {
        let token = Digest.newToken()
        let hash = Digest.sha256Hex(token)
        try await write { db in
            guard try db.value("SELECT count(*) FROM users WHERE name = \(user)", as: Int.self) ?? 0 > 0 else {
                throw RGISError(.notFound, "no user '\(user)'; add one with rgis users add", at: "name")
            }
            try AccountRules.checkExpiry(expires, now: now)
            try db.execute(literal: """
                INSERT INTO tokens (user_name, sha256, created_at, expires_at) VALUES (\(user), \(hash), \(Timestamp.text(now)), \(expires.map(Timestamp.text)))
                """)
        }
        return token
    }

    public func revokeToken(_ token: String, now: Date) async throws {
        let hash = Digest.sha256Hex(token)
        try await write { db in
            try db.execute(literal: "UPDATE tokens SET revoked_at = COALESCE(revoked_at, \(Timestamp.text(now))) WHERE sha256 = \(hash)")
            guard db.changesCount > 0 else { throw RGISError(.notFound, "no such token (it may have been mistyped)", at: "token") }
        }
    }

    public func tokens(user: String?) async throws -> [TokenInfo] {
        try await read { db in
            var sql: SQL = "SELECT id, user_name, created_at, expires_at, last_used_at, revoked_at FROM tokens"
            if let user { sql += " WHERE user_name = \(user)" }
            sql += " ORDER BY id DESC"
            return try db.rows(sql).map { row in
                TokenInfo(id: row[0], user: row[1], createdAt: Timestamp.date(row[2]) ?? Date(timeIntervalSince1970: 0),
                          expiresAt: (row[3] as String?).flatMap(Timestamp.date), lastUsedAt: (row[4] as String?).flatMap(Timestamp.date),
                          revokedAt: (row[5] as String?).flatMap(Timestamp.date))
            }
        }
    }

    public func authenticate(_ token: String, now: Date) async throws -> TokenCheck {
        guard Digest.looksLikeToken(token) else { return .unknown }
        let hash = Digest.sha256Hex(token)
        let found = try await read { db -> (id: Int64, stored: String, user: User, expires: String?, lastUsed: String?, revoked: String?)? in
            guard let row = try db.row("""
                SELECT t.id, t.sha256, u.name, u.role, u.agent, t.expires_at, t.last_used_at, t.revoked_at
                FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.sha256 = \(hash)
                """, cached: true) else { return nil }
            return (row[0], row[1], User(name: row[2], role: Role(rawValue: row[3]) ?? .agent, agent: row[4]), row[5], row[6], row[7])
        }
        // The index lookup finds the row; the comparison that decides is the constant-time one.
        guard let found, Digest.constantTimeEqual(found.stored, hash) else { return .unknown }
        if found.revoked != nil { return .revoked }
        let stamp = Timestamp.text(now)
        if let expires = found.expires, stamp >= expires { return .expired }
        if found.lastUsed.map({ $0 <= Timestamp.text(now.addingTimeInterval(-60)) }) ?? true {
            try await write { db in try db.execute(literal: "UPDATE tokens SET last_used_at = \(stamp) WHERE id = \(found.id)") }
        }
        return .valid(found.user.caller)
    }

    public func appendAudit(_ entry: AuditEntry) async throws {
        let ids = JSONValue.array(entry.recordIDs.map(JSONValue.string)).jsonText
        try await write { db in
            try db.execute(literal: """
                INSERT INTO audit_log (at, user_name, role, method, endpoint, record_ids)
                VALUES (\(Timestamp.text(entry.at)), \(entry.user), \(entry.role), \(entry.method), \(entry.endpoint), \(ids))
                """)
        }
    }

    public func audit(since: Date?, user: String?) async throws -> [AuditEntry] {
        try await read { db in
            var sql: SQL = "SELECT at, user_name, role, method, endpoint, record_ids FROM audit_log WHERE 1"
            if let since { sql += " AND at >= \(Timestamp.text(since))" }
            if let user { sql += " AND user_name = \(user)" }
            sql += " ORDER BY id"
            return try db.rows(sql).map { row in
                let ids = (try? JSONValue.parse(Array((row[5] as String).utf8)))?.arrayValue?.compactMap(\.stringValue) ?? []
                return AuditEntry(at: Timestamp.date(row[0]) ?? Date(timeIntervalSince1970: 0), user: row[1], role: row[2], method: row[3],
                                  endpoint: row[4], recordIDs: ids)
            }
        }
    }
}
