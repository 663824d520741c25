import Foundation
import GRDB
import Testing
import RGISCore
import RGISStore
import RGISTesting

@Suite("Users, tokens and the audit log")
struct AccountTests {
    static let t0 = Timestamp.date("2026-03-01T12:00:00Z")!

    @Test("a token is stored only as its SHA-256: the raw file holds the hash, never the text")
    func hashedAtRest() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database()
        let store = SpatiaLiteStore(database)
        try await store.addUser(User(name: "alice", role: .agent))
        let token = try await store.createToken(user: "alice", expires: nil, now: Self.t0)
        #expect(token.hasPrefix("rgis_") && token.count == 48)
        #expect(Digest.looksLikeToken(token))
        try database.checkpoint()
        // Read by another process: this one must not open and close a descriptor of a database it
        // has open (that would drop its locks on the file).
        let files = [database.path, database.path + "-wal"].filter { FileManager.default.fileExists(atPath: $0) }
        func rawFilesHold(_ text: String) throws -> Bool { try run("/bin/grep", ["-q", "-s", "-a", "-F", text] + files).status == 0 }
        #expect(try !rawFilesHold(token))
        #expect(try !rawFilesHold(String(token.dropFirst(5))))
        #expect(try rawFilesHold(Digest.sha256Hex(token)))
        // Two tokens differ; each names its user.
        let other = try await store.createToken(user: "alice", expires: nil, now: Self.t0)
        #expect(other != token)
        #expect(try await store.authenticate(token, now: Self.t0) == .valid(Caller(user: "alice", role: .agent, agent: "alice")))
    }

    @Test("an expired token is refused at the second it expires; a revoked one at once; last-used is kept")
    func expiryAndRevocation() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = SpatiaLiteStore(try dir.database())
        try await store.addUser(User(name: "petra", role: .planner))
        let expiry = Self.t0.addingTimeInterval(3600)
        let token = try await store.createToken(user: "petra", expires: expiry, now: Self.t0)
        #expect(try await store.tokens(user: "petra").first?.lastUsedAt == nil)
        #expect(try await store.authenticate(token, now: expiry.addingTimeInterval(-1)) == .valid(Caller(user: "petra", role: .planner, agent: nil)))
        #expect(try await store.tokens(user: "petra").first?.lastUsedAt == expiry.addingTimeInterval(-1))
        #expect(try await store.authenticate(token, now: expiry) == .expired)
        #expect(try await store.authenticate(token, now: expiry.addingTimeInterval(86_400)) == .expired)

        let second = try await store.createToken(user: "petra", expires: nil, now: Self.t0)
        #expect(try await store.authenticate(second, now: Self.t0) != .revoked)
        try await store.revokeToken(second, now: Self.t0)
        #expect(try await store.authenticate(second, now: Self.t0) == .revoked)
        #expect(try await store.tokens(user: "petra").first?.revokedAt == Self.t0)
        await expectError(.notFound, at: "token") { try await store.revokeToken("rgis_" + String(repeating: "x", count: 43), now: Self.t0) }

        #expect(try await store.authenticate("rgis_" + String(repeating: "A", count: 43), now: Self.t0) == .unknown)
        #expect(try await store.authenticate("not a token", now: Self.t0) == .unknown)
        await expectError(.invalidValue, at: "--expires") { _ = try await store.createToken(user: "petra", expires: Self.t0, now: Self.t0) }
        await expectError(.notFound, at: "name") { _ = try await store.createToken(user: "nobody", expires: nil, now: Self.t0) }
    }

    @Test("users: an agent carries an agent id (default: the name), names are unique, roles are checked")
    func users() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = SpatiaLiteStore(try dir.database())
        try await store.addUser(User(name: "alice", role: .agent))
        try await store.addUser(User(name: "bob", role: .agent, agent: "agent-05"))
        try await store.addUser(User(name: "rita", role: .regulator, agent: "ignored"))
        let users = try await store.users()
        #expect(users.map(\.name) == ["alice", "bob", "rita"])
        #expect(users.map(\.agent) == ["alice", "agent-05", nil])
        await expectError(.conflict, at: "name") { try await store.addUser(User(name: "alice", role: .admin)) }
        await expectError(.invalidValue, at: "name") { try await store.addUser(User(name: "two words", role: .admin)) }
        expectError(.invalidValue, at: "role") { _ = try Role(parsing: "superuser") }
    }

    @Test("the audit log is append-only and filters by time and user")
    func auditLog() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database()
        let store = SpatiaLiteStore(database)
        for (i, user) in ["alice", "bob", "alice"].enumerated() {
            try await store.appendAudit(AuditEntry(at: Self.t0.addingTimeInterval(Double(i) * 86_400), user: user, role: "agent", method: "GET",
                                                   endpoint: "/clients/{clientId}", recordIDs: ["C\(i)"]))
        }
        #expect(try await store.audit(since: nil, user: "alice").map(\.recordIDs) == [["C0"], ["C2"]])
        #expect(try await store.audit(since: Self.t0.addingTimeInterval(86_400), user: nil).map(\.user) == ["bob", "alice"])
        #expect(throws: (any Error).self) { try database.writeTransaction { db in try db.execute(sql: "UPDATE audit_log SET record_ids = '[]'") } }
        #expect(throws: (any Error).self) { try database.writeTransaction { db in try db.execute(sql: "DELETE FROM audit_log WHERE id = 1") } }
        #expect(try await store.audit(since: nil, user: nil).count == 3)
    }
}
