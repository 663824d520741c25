import Foundation
import RGISCore
@testable import RGISPostGIS
import RGISStore
import RGISTesting
import Testing

/// PostgreSQL's own mechanics under the accounts (what they do is AccountConformance): the audit log
/// refuses to be rewritten even by SQL, and the database holds only a token's hash.
@Suite("Accounts in PostgreSQL")
struct PostGISAccountTests {
    @Test("the audit log refuses UPDATE, DELETE and TRUNCATE from SQL (RG002); a token's text is nowhere in the tokens table")
    func appendOnly() async throws {
        let store = try await PostGISStore.create(try PostgresServer.newDatabase("appendonly"))
        try await store.addUser(User(name: "alice", role: .agent))
        let token = try await store.createToken(user: "alice", expires: nil, now: Date())
        try await store.appendAudit(AuditEntry(at: Date(), user: "alice", role: "agent", method: "GET", endpoint: "/clients/{clientId}", recordIDs: ["C1", "C2"]))
        for statement: SQLText in ["UPDATE audit_log SET user_name = 'mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
            let refused = await #expect(throws: RGISError.self) { try await store.run(statement) }
            #expect(refused?.reason.contains("append-only") == true && refused?.reason.contains("RG002") == true, "\(String(describing: refused))")
        }
        #expect(try await store.audit(since: nil, user: nil).map(\.recordIDs) == [["C1", "C2"]])
        let stored = try await store.rows("SELECT string_agg(t::text, ' ') FROM tokens t")[0][0].decode(String.self)
        #expect(!stored.contains(token) && stored.contains(Digest.sha256Hex(token)))
    }
}
