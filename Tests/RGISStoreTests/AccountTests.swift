import Foundation
import GRDB
import RGISCore
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// What the SpatiaLite file itself holds of accounts: token hashes only, and an audit log its triggers
/// keep append-only. The behaviour of users, tokens and the audit log through the store is in the
/// conformance suite (AccountConformance).
@Suite("Users, tokens and the audit log in the SpatiaLite file")
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
        try database.checkpoint()
        // Read by another process: this one must not open and close a descriptor of a database it
        // has open (that would drop its locks on the file).
        let files = [database.path, database.path + "-wal"].filter { FileManager.default.fileExists(atPath: $0) }
        func rawFilesHold(_ text: String) async throws -> Bool { try await run("/bin/grep", ["-q", "-s", "-a", "-F", text] + files).status == 0 }
        #expect(try await !rawFilesHold(token))
        #expect(try await !rawFilesHold(String(token.dropFirst(5))))
        #expect(try await rawFilesHold(Digest.sha256Hex(token)))
    }

    @Test("the audit log is append-only: an UPDATE or DELETE in SQL is refused")
    func auditLogAppendOnly() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database()
        let store = SpatiaLiteStore(database)
        for (i, user) in ["alice", "bob", "alice"].enumerated() {
            try await store.appendAudit(AuditEntry(at: Self.t0.addingTimeInterval(Double(i) * 86_400), user: user, role: "agent", method: "GET",
                                                   endpoint: "/clients/{clientId}", recordIDs: ["C\(i)"]))
        }
        #expect(throws: (any Error).self) { try database.writeTransaction { db in try db.execute(sql: "UPDATE audit_log SET record_ids = '[]'") } }
        #expect(throws: (any Error).self) { try database.writeTransaction { db in try db.execute(sql: "DELETE FROM audit_log WHERE id = 1") } }
        #expect(try await store.audit(since: nil, user: nil).count == 3)
    }
}
