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
        let store = try backend.emptyStore(in: dir)
        try await store.addUser(User(name: "alice", role: .agent, agent: "agent-01", createdAt: Self.t0))
        let taken = await #expect(throws: RGISError.self) { try await store.addUser(User(name: "alice", role: .planner, createdAt: Self.t0)) }
        #expect(taken?.code == .conflict)
        let unknownUser = await #expect(throws: RGISError.self) { _ = try await store.createToken(user: "nobody", expires: nil, now: Self.t0) }
        #expect(unknownUser?.code == .notFound)

        let expires = Self.t0.addingTimeInterval(3600)
        let token = try await store.createToken(user: "alice", expires: expires, now: Self.t0)
        #expect(token.hasPrefix("rgis_") && token.count == 48)
        let other = try backend.reopen(store)
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
        let store = try backend.emptyStore(in: dir)
        let other = try backend.reopen(store)
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
}
