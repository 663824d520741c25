import Foundation
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Users, tokens and the audit log (``AccountStore``), on every backend: what a token's check says at
/// every second of its life, and that the audit log keeps every read, in order, across opens.
@Suite("Conformance: accounts, tokens and the audit log")
struct AccountConformance {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("a token is valid until the second it expires, refused once revoked, unknown when never issued; its text is never listed",
          arguments: Backends.all)
    func tokenLife(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try await store.addUser(User(name: "alice", role: .agent, agent: "agent-01", createdAt: Self.t0))
        let taken = await #expect(throws: RGISError.self) { try await store.addUser(User(name: "alice", role: .planner, createdAt: Self.t0)) }
        #expect(taken?.code == .conflict)
        let unknownUser = await #expect(throws: RGISError.self) { _ = try await store.createToken(user: "nobody", expires: nil, now: Self.t0) }
        #expect(unknownUser?.code == .notFound)

        let expires = Self.t0.addingTimeInterval(3600)
        let token = try await store.createToken(user: "alice", expires: expires, now: Self.t0)
        #expect(token.hasPrefix("rgis_") && token.count == 48)
        let other = try await backend.reopen(store)
        #expect(try await other.authenticate(token, now: expires.addingTimeInterval(-1)) == .valid(Caller(user: "alice", role: .agent, agent: "agent-01")))
        #expect(try await other.authenticate(token, now: expires) == .expired)
        #expect(try await other.authenticate("rgis_" + String(repeating: "A", count: 43), now: Self.t0) == .unknown)

        let lasting = try await store.createToken(user: "alice", expires: nil, now: Self.t0)
        try await store.revokeToken(lasting, now: Self.t0.addingTimeInterval(10))
        #expect(try await other.authenticate(lasting, now: Self.t0.addingTimeInterval(11)) == .revoked)
        let unknownToken = await #expect(throws: RGISError.self) { try await store.revokeToken("rgis_nope", now: Self.t0) }
        #expect(unknownToken?.code == .notFound)

        let listed = try await store.tokens(user: "alice")
        #expect(listed.count == 2 && listed.contains { $0.revokedAt != nil } && listed.contains { $0.expiresAt == expires })
        #expect(!"\(listed)".contains(token) && !"\(listed)".contains(lasting), "a token's text is never stored")
    }

    @Test("the audit log keeps every read, oldest first, filtered by time and user, seen by another open at once", arguments: Backends.all)
    func auditLog(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let other = try await backend.reopen(store)
        for i in 0..<20 {
            let user = i % 2 == 0 ? "alice" : "bruno"
            try await store.appendAudit(AuditEntry(at: Self.t0.addingTimeInterval(Double(i)), user: user, role: "agent", method: "GET",
                                                   endpoint: "/clients/{clientId}", recordIDs: ["C\(i)"]))
        }
        let all = try await other.audit(since: nil, user: nil)
        #expect(all.map(\.recordIDs) == (0..<20).map { ["C\($0)"] })
        let alice = try await other.audit(since: Self.t0.addingTimeInterval(10), user: "alice")
        #expect(alice.map(\.recordIDs) == [10, 12, 14, 16, 18].map { ["C\($0)"] })
    }

    /// The store tests' moment: 2026-03-01 at noon.
    static let march = Timestamp.date("2026-03-01T12:00:00Z")!

    @Test("a new token is rgis_ and 43 characters, unlike the next one, and names its user", arguments: Backends.all)
    func tokenIssued(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try await store.addUser(User(name: "alice", role: .agent))
        let token = try await store.createToken(user: "alice", expires: nil, now: Self.march)
        #expect(token.hasPrefix("rgis_") && token.count == 48)
        #expect(Digest.looksLikeToken(token))
        // Two tokens differ; each names its user.
        let other = try await store.createToken(user: "alice", expires: nil, now: Self.march)
        #expect(other != token)
        #expect(try await store.authenticate(token, now: Self.march) == .valid(Caller(user: "alice", role: .agent, agent: "alice")))
    }

    @Test("an expired token is refused at the second it expires; a revoked one at once; last-used is kept", arguments: Backends.all)
    func expiryAndRevocation(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try await store.addUser(User(name: "petra", role: .planner))
        let expiry = Self.march.addingTimeInterval(3600)
        let token = try await store.createToken(user: "petra", expires: expiry, now: Self.march)
        #expect(try await store.tokens(user: "petra").first?.lastUsedAt == nil)
        #expect(try await store.authenticate(token, now: expiry.addingTimeInterval(-1)) == .valid(Caller(user: "petra", role: .planner, agent: nil)))
        #expect(try await store.tokens(user: "petra").first?.lastUsedAt == expiry.addingTimeInterval(-1))
        #expect(try await store.authenticate(token, now: expiry) == .expired)
        #expect(try await store.authenticate(token, now: expiry.addingTimeInterval(86_400)) == .expired)

        let second = try await store.createToken(user: "petra", expires: nil, now: Self.march)
        #expect(try await store.authenticate(second, now: Self.march) != .revoked)
        try await store.revokeToken(second, now: Self.march)
        #expect(try await store.authenticate(second, now: Self.march) == .revoked)
        #expect(try await store.tokens(user: "petra").first?.revokedAt == Self.march)
        await expectError(.notFound, at: "token") { try await store.revokeToken("rgis_" + String(repeating: "x", count: 43), now: Self.march) }

        #expect(try await store.authenticate("rgis_" + String(repeating: "A", count: 43), now: Self.march) == .unknown)
        #expect(try await store.authenticate("not a token", now: Self.march) == .unknown)
        await expectError(.invalidValue, at: "--expires") { _ = try await store.createToken(user: "petra", expires: Self.march, now: Self.march) }
        await expectError(.notFound, at: "name") { _ = try await store.createToken(user: "nobody", expires: nil, now: Self.march) }
    }

    @Test("users: an agent carries an agent id (default: the name), names are unique, roles are checked", arguments: Backends.all)
    func users(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
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

    @Test("the audit log filters by time and user", arguments: Backends.all)
    func auditFilters(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        for (i, user) in ["alice", "bob", "alice"].enumerated() {
            try await store.appendAudit(AuditEntry(at: Self.march.addingTimeInterval(Double(i) * 86_400), user: user, role: "agent", method: "GET",
                                                   endpoint: "/clients/{clientId}", recordIDs: ["C\(i)"]))
        }
        #expect(try await store.audit(since: nil, user: "alice").map(\.recordIDs) == [["C0"], ["C2"]])
        #expect(try await store.audit(since: Self.march.addingTimeInterval(86_400), user: nil).map(\.user) == ["bob", "alice"])
    }
}
