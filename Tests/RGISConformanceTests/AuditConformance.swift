import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import RGISCore
import RGISServer
import RGISStore
import RGISTesting

/// Every read of personal data leaves one audit row, whatever backend the server was handed: the
/// server decides what is personal, the store keeps the row, and another open of the store reads it.
@Suite("Conformance: an audit row for every read of personal data")
struct AuditConformance {
    static let agent = "agent-08"
    static let client = "C0002"
    static let demand = "R00002"

    @Test("each of an agent's personal reads over HTTP adds exactly one audit row naming user, endpoint and ids; a public read adds none",
          arguments: Backends.all)
    func everyPersonalRead(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        try await store.addUser(User(name: "agnes", role: .agent, agent: Self.agent))
        let token = try await store.createToken(user: "agnes", expires: nil, now: Date())
        let subscription = try await store.addSubscription(demand: Self.demand, try AlertSettings(channel: .email("c0002@example.test")),
                                                           by: .fileOwner, now: Date())
        let listing = try await store.create(.listing, try JSONValue.parse(Array("""
            {"type":"Feature","geometry":{"type":"Point","coordinates":[9.0805,48.0337]},
             "properties":{"status":"active","property_type":"apartment","list_price":200000,"living_area_m2":50,"bedrooms":2,"agent":"\(Self.agent)",
                            "seller_contact":"+49 7000 000000"}}
            """.utf8)), owner: nil, client: nil, idempotency: nil).id
        // A notification queued for the client, so that the agent's list of them shows one.
        #expect(try await store.backfill(subscription.id, [ScoredMatch(eventID: 0, reason: .new, listingID: listing, demandID: Self.demand,
                                                                       subscriptionID: subscription.id, score: 0.9, price: 200_000)], now: Date()) == 1)

        // (path, the route template the row must name, ids it must hold at least); a read that shows no
        // one's data (a list that comes back empty) names no one and leaves no row.
        let reads: [(String, String, [String])] = [
            ("/clients?limit=5", "/clients", [Self.client]),
            ("/clients/\(Self.client)", "/clients/{clientId}", [Self.client]),
            ("/clients/\(Self.client)/demands", "/clients/{clientId}/demands", [Self.client, Self.demand]),
            ("/demands/\(Self.demand)", "/demands/{demandId}", [Self.demand]),
            ("/demands/\(Self.demand)/events", "/demands/{demandId}/events", [Self.demand]),
            ("/demands/\(Self.demand)/subscriptions", "/demands/{demandId}/subscriptions", [Self.demand]),
            ("/subscriptions", "/subscriptions", [Self.demand]),
            ("/notifications", "/notifications", [Self.demand]),
            ("/clients/\(Self.client)/ledger", "/clients/{clientId}/ledger", [Self.client]),
            ("/match/demands/\(Self.demand)/listings", "/match/demands/{demandId}/listings", [Self.demand]),
            ("/match/listings/\(listing)/demands", "/match/listings/{listingId}/demands", [Self.demand]),
            // The listing's seller contact is shown to its agent only.
            ("/collections/listings/items/\(listing)", "/collections/{collectionId}/items/{featureId}", [listing]),
        ]
        var configuration = ServerConfiguration(databasePath: store.location)
        configuration.port = 0
        configuration.rateLimitPerMinute = 0
        configuration.requestTimeoutSeconds = 300
        let reader = try await backend.reopen(store)
        try await buildApplication(configuration, store: store).test(.router) { client in
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(token)"
            for (path, route, ids) in reads {
                let before = try await reader.audit(since: nil, user: "agnes").count
                try await client.execute(uri: path, method: .get, headers: headers) { response in
                    #expect(response.status == .ok, "\(path): \(response.status) \(String(buffer: response.body))")
                }
                let rows = try await reader.audit(since: nil, user: "agnes")
                #expect(rows.count == before + 1, "\(path): \(rows.count - before) audit rows")
                if let row = rows.last {
                    #expect(row.endpoint == route && row.method == "GET" && row.role == "agent", "\(path): \(row)")
                    #expect(Set(ids).isSubset(of: Set(row.recordIDs)), "\(path): \(row.recordIDs)")
                }
            }
            // The same listing read anonymously shows no private field: no row.
            let before = try await reader.audit(since: nil, user: nil).count
            try await client.execute(uri: "/collections/listings/items/\(listing)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!String(buffer: response.body).contains("+49 7000"), "the seller's contact shown to the public")
            }
            #expect(try await reader.audit(since: nil, user: nil).count == before)
        }
    }
}
