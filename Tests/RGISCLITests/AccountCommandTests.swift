import Foundation
import GRDB
import RGISCore
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

@Suite("rgis users, tokens and audit")
struct AccountCommandTests {
    @Test("users add/list, tokens create (the token alone on stdout) / list / revoke, audit as JSON lines; bad input exits non-zero")
    func accounts() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("accounts.sqlite")
        #expect(try await rgis("init", db).status == 0)
        #expect(try await rgis("users", "add", db, "alice", "--role", "agent", "--agent", "agent-01").status == 0)
        #expect(try await rgis("users", "add", db, "rita", "--role", "regulator").status == 0)
        #expect(try await rgis("users", "list", db).stdout == "alice\tagent\tagent-01\nrita\tregulator\t-\n")

        let created = try await rgis("tokens", "create", db, "alice", "--expires", "2099-01-01")
        #expect(created.status == 0)
        let token = created.stdout.trimmingCharacters(in: .newlines)
        #expect(created.stdout == token + "\n" && Digest.looksLikeToken(token))
        let listed = try await rgis("tokens", "list", db)
        #expect(listed.stdout.contains(#""expires_at":"2099-01-01T00:00:00Z""#))
        #expect(!listed.stdout.contains(token))
        #expect(try await rgis("tokens", "revoke", db, token).status == 0)
        #expect(try await rgis("tokens", "list", db, "--user", "alice").stdout.contains(#""revoked_at":"20"#))

        let refused: [([String], String)] = [
            (["users", "add", db, "bob", "--role", "boss"], "role must be one of agent, planner, regulator, admin"),
            (["users", "add", db, "alice", "--role", "agent"], "user 'alice' exists already"),
            (["users", "add", db, "rita2", "--role", "regulator", "--agent", "x"], "only an agent carries an agent id"),
            (["tokens", "create", db, "nobody"], "no user 'nobody'"),
            (["tokens", "create", db, "alice", "--expires", "2020-01-01"], "not in the future"),
            (["tokens", "create", db, "alice", "--expires", "tomorrow"], "not a date"),
            (["tokens", "revoke", db, "rgis_nope"], "no such token"),
            (["audit", db, "--since", "yesterday"], "not a date"),
        ]
        for (arguments, message) in refused {
            let result = try await run(Fixtures.rgisExecutable, arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }

        // The audit log, written by the server, read here; the log refuses changes.
        let store = SpatiaLiteStore(try RGISDatabase.open(at: db))
        try await store.appendAudit(AuditEntry(at: Timestamp.date("2026-05-01T10:00:00Z")!, user: "alice", role: "agent", method: "GET",
                                               endpoint: "/clients/{clientId}", recordIDs: ["C0001"]))
        let audit = try await rgis("audit", db, "--since", "2026-05-01", "--user", "alice")
        #expect(audit.stdout == #"{"at":"2026-05-01T10:00:00Z","endpoint":"/clients/{clientId}","method":"GET","record_ids":["C0001"],"role":"agent","user":"alice"}"# + "\n")
        #expect(try await rgis("audit", db, "--since", "2026-05-02").stdout.isEmpty)
    }
}
