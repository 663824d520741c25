import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RGISCore
import RGISServer
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

@Suite("Writes: OGC API – Features Part 4, clients and demands")
struct WritesTests {
    static let listing = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.0612,48.0333]},"properties":{"list_price":310000,"property_type":"apartment","bedrooms":2,"living_area_m2":64,"status":"active","PrivateRemarks":"Code 4711 at the door"}}"#

    static func radius(_ client: any TestClientProtocol) async throws -> [JSONValue] {
        try await client.execute(uri: "/search/radius?lon=9.0612&lat=48.0333&radius_m=3", method: .get) { try json($0)["features"]?.arrayValue ?? [] }
    }

    static func events(_ client: any TestClientProtocol, _ id: String) async throws -> [String] {
        try await client.execute(uri: "/collections/listings/items/\(id)/events", method: .get) { response in
            try json(response)["events"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? []
        }
    }

    @Test("create → read → patch with a stale ETag (412) → patch → delete → 404, each step seen by radius search and in events")
    func listingLifecycle() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let alice = server.headers(.agentA, [.contentType: "application/geo+json"])
            let (location, created) = try await client.execute(uri: "/collections/listings/items", method: .post, headers: alice,
                                                              body: ByteBuffer(string: Self.listing)) { response in
                #expect(response.status == .created)
                return (response.headers[.location] ?? "", try json(response))
            }
            let id = try #require(created["id"]?.stringValue)
            #expect(location == "http://rgis.test/collections/listings/items/\(id)")
            #expect(created["properties"]?["agent"] == .string(AccessFixture.agentA))
            #expect(created["properties"]?["private_remarks"] == .string("Code 4711 at the door"))
            #expect(try await Self.radius(client).map { $0["id"] } == [.string(id)])
            #expect(try await Self.events(client, id) == ["new"])

            // Anyone reads it, without the private remarks, and with a tag of what they see: it does not
            // change when only the private remarks do.
            let publicTag = try await client.execute(uri: "/collections/listings/items/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!String(buffer: response.body).contains("4711"))
                return try #require(response.headers[.eTag])
            }
            let etag = try await client.execute(uri: "/collections/listings/items/\(id)", method: .get, headers: alice) { response in
                #expect(String(buffer: response.body).contains("4711"))
                return try #require(response.headers[.eTag])
            }
            #expect(etag.hasPrefix("\"") && etag.count == 34 && etag != publicTag)

            var patchHeaders = alice
            patchHeaders[.ifMatch] = "\"0123456789abcdef0123456789abcdef\""
            patchHeaders[.contentType] = "application/merge-patch+json"
            let patch = #"{"properties":{"list_price":289000,"status":"pending","private_remarks":null}}"#
            try await client.execute(uri: "/collections/listings/items/\(id)", method: .patch, headers: patchHeaders, body: ByteBuffer(string: patch)) { response in
                #expect(response.status == .preconditionFailed)
            }
            #expect(try await Self.radius(client).first?["properties"]?["list_price"] == .int(310000))
            patchHeaders[.ifMatch] = etag
            let newTag = try await client.execute(uri: "/collections/listings/items/\(id)", method: .patch, headers: patchHeaders,
                                                  body: ByteBuffer(string: patch)) { response in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["properties"]?["list_price"] == .int(289000))
                // The merge patch's null removed the private remarks (stored under their own name).
                #expect(!String(buffer: response.body).contains("4711"))
                return response.headers[.eTag]
            }
            #expect(newTag != nil && newTag != etag)
            let found = try await Self.radius(client)
            #expect(found.first?["properties"]?["list_price"] == .int(289000))
            #expect(found.first?["properties"]?["status"] == .string("pending"))
            #expect(try await Self.events(client, id) == ["new", "price_change", "status_change"])

            // The old tag no longer deletes it; the new one does.
            try await client.execute(uri: "/collections/listings/items/\(id)", method: .delete, headers: server.headers(.agentA, [.ifMatch: etag])) {
                #expect($0.status == .preconditionFailed)
            }
            try await client.execute(uri: "/collections/listings/items/\(id)", method: .delete, headers: server.headers(.agentB)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/collections/listings/items/\(id)", method: .delete, headers: server.headers(.agentA, [.ifMatch: newTag!])) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/collections/listings/items/\(id)", method: .get) { #expect($0.status == .notFound) }
            #expect(try await Self.radius(client).isEmpty)
            // The id stays with its history: a new listing cannot take it, and the next generated id is another.
            let again = Self.listing.replacingOccurrences(of: #""type":"Feature","#, with: #""type":"Feature","id":"\#(id)","#)
            try await client.execute(uri: "/collections/listings/items", method: .post, headers: alice, body: ByteBuffer(string: again)) {
                #expect($0.status == .conflict)
            }
            let next = try await client.execute(uri: "/collections/listings/items", method: .post, headers: alice, body: ByteBuffer(string: Self.listing)) {
                try json($0)["id"]?.stringValue
            }
            #expect(next != nil && next != id)
            #expect(try await Self.events(client, next!) == ["new"])
            #expect(try await Self.events(client, id) == ["new", "price_change", "status_change", "withdrawn"])
        }
    }

    @Test("writes are checked by the import's rules: 422 naming the field and the rule, nothing stored")
    func badWrites() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let cases: [(String, String, String)] = [
                ("/collections/listings/items", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,91]},"properties":{}}"#, "lat -90…90"),
                ("/collections/listings/items", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48]},"properties":{"list_price":-5}}"#, "list_price"),
                ("/collections/listings/items", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48]},"properties":{"agent":"agent-05"}}"#, "field agent"),
                ("/clients", #"{"contact":{"email":"not-an-address"}}"#, "contact.email"),
                ("/clients", #"{"lifecycle_stage":"dreaming"}"#, "lifecycle_stage"),
                ("/clients", #"{"shoe_size":44}"#, "shoe_size"),
                ("/clients/\(AccessFixture.clientA)/demands", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48]},"properties":{}}"#, "radius_m"),
            ]
            let before = try RGISDatabase.open(at: server.path).info()
            for (path, body, mention) in cases {
                try await client.execute(uri: path, method: .post, headers: server.headers(.agentA), body: ByteBuffer(string: body)) { response in
                    let text = String(buffer: response.body)
                    #expect([400, 403, 422].contains(response.status.code), "\(path) \(body): \(response.status)")
                    #expect(text.contains(mention), "\(path) \(body): \(text)")
                }
            }
            let after = try RGISDatabase.open(at: server.path).info()
            #expect(after.layers.map(\.count) == before.layers.map(\.count))
            #expect(after.clients == before.clients)
        }
    }

    @Test("an Idempotency-Key: the same body returns the stored response, another body 422, a concurrent duplicate 409")
    func idempotency() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let body = #"{"lifecycle_stage":"viewing","contact":{"name":"Eva Idem","phone":"+420 777 000 111"}}"#
            func post(_ key: String, _ text: String) async throws -> (Int, String?, String?, String) {
                try await client.execute(uri: "/clients", method: .post, headers: server.headers(.agentA, [HTTPField.Name("Idempotency-Key")!: key]),
                                         body: ByteBuffer(string: text)) {
                    ($0.status.code, $0.headers[.location], $0.headers[HTTPField.Name("Idempotent-Replayed")!], String(buffer: $0.body))
                }
            }
            let first = try await post("k-1", body)
            #expect(first.0 == 201 && first.2 == nil)
            let again = try await post("k-1", body)
            #expect(again.0 == 201 && again.1 == first.1 && again.2 == "true" && again.3 == first.3)
            let other = try await post("k-1", #"{"lifecycle_stage":"lost"}"#)
            #expect(other.0 == 422 && other.3.contains("Idempotency-Key"))
            let clients = try await client.execute(uri: "/clients?limit=1000", method: .get, headers: server.headers(.agentA)) { try json($0) }
            #expect(clients["clients"]?.arrayValue?.filter { $0["contact"]?["name"] == .string("Eva Idem") }.count == 1)
            // A whole number out of range breaks a rule (422, as radius_m does); one that is no Int is malformed (400).
            for limit in ["0", "-1", "1001", "9223372036854775807"] {
                try await client.execute(uri: "/clients?limit=\(limit)", method: .get, headers: server.headers(.agentA)) { #expect($0.status == .unprocessableContent, "\(limit)") }
            }
            for limit in ["9223372036854775808", "1.5", "ten"] {
                try await client.execute(uri: "/clients?limit=\(limit)", method: .get, headers: server.headers(.agentA)) { #expect($0.status == .badRequest, "\(limit)") }
            }

            // Once an admin moves the client to another agent, the stored answer is not given back to the first.
            let moved = try #require(first.1?.split(separator: "/").last.map(String.init))
            try await client.execute(uri: "/clients/\(moved)", method: .patch, headers: server.headers(.admin), body: ByteBuffer(string: #"{"agent":"agent-05"}"#)) {
                #expect($0.status == .ok)
            }
            #expect(try await post("k-1", body).0 == 409)

            // Two at once while another writer holds the database: whichever comes second is told 409.
            let blocker = try RGISDatabase.open(at: server.path)
            let release = DispatchSemaphore(value: 0)
            let holding = DispatchSemaphore(value: 0)
            let thread = Thread {
                try? blocker.writeTransaction { _ in
                    holding.signal()
                    release.wait()
                }
            }
            thread.start()
            holding.wait()
            async let one = post("k-2", body)
            async let two = post("k-2", body)
            // Whichever is second answers at once; let it, then let the first write. The wait is
            // generous: on a loaded machine a second request not yet read when the first has
            // finished would rightly get the stored response (201), not the 409 this checks.
            try await Task.sleep(for: .milliseconds(2000))
            release.signal()
            let statuses = try await [one.0, two.0].sorted()
            #expect(statuses == [201, 409])
        }
    }

    @Test("an agent keeps a client and their demand; matching finds listings for it; other agents cannot see them")
    func clientAndDemand() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let alice = server.headers(.agentA)
            let clientID = try await client.execute(uri: "/clients", method: .post, headers: alice,
                                                    body: ByteBuffer(string: #"{"household":"couple","contact":{"name":"Olga Nová","email":"olga@example.test"}}"#)) { response in
                #expect(response.status == .created)
                return try json(response)["id"]?.stringValue ?? ""
            }
            let demand = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"radius_m":1500,"budget_max":600000,"property_types":"apartment"}}"#
            let demandID = try await client.execute(uri: "/clients/\(clientID)/demands", method: .post, headers: alice, body: ByteBuffer(string: demand)) { response in
                #expect(response.status == .created)
                let body = try json(response)
                #expect(body["properties"]?["client_id"] == .string(clientID))
                #expect(body["properties"]?["agent"] == .string(AccessFixture.agentA))
                #expect(body["geometry"]?["type"] == .string("MultiPolygon"))
                return body["id"]?.stringValue ?? ""
            }
            try await client.execute(uri: "/match/demands/\(demandID)/listings?limit=5", method: .get, headers: alice) { response in
                #expect(response.status == .ok)
                let found = try json(response)["features"]?.arrayValue?.count ?? 0
                #expect(found > 0)
            }
            try await client.execute(uri: "/clients/\(clientID)/demands", method: .get, headers: alice) { response in
                let ids = try json(response)["features"]?.arrayValue?.map { $0["id"] }
                #expect(ids == [.string(demandID)])
            }
            // A budget change is logged like a listing's price change.
            try await client.execute(uri: "/demands/\(demandID)", method: .patch, headers: alice, body: ByteBuffer(string: #"{"properties":{"budget_max":650000}}"#)) {
                #expect($0.status == .ok)
            }
            let kinds = try await client.execute(uri: "/demands/\(demandID)/events", method: .get, headers: alice) { response in
                try json(response)["events"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? []
            }
            #expect(kinds == ["new", "price_change"])
            let refusals = [(#"{"properties":{"client_id":"C0012"}}"#, "client_id"), (#"{"properties":{"radius_m":3000}}"#, "radius_m")]
            for (patch, field) in refusals {
                try await client.execute(uri: "/demands/\(demandID)", method: .patch, headers: alice, body: ByteBuffer(string: patch)) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(String(buffer: response.body).contains("field \(field)"))
                }
            }
            for path in ["/clients/\(clientID)", "/demands/\(demandID)", "/clients/\(clientID)/demands", "/match/demands/\(demandID)/listings",
                         "/demands/\(demandID)/events"] {
                try await client.execute(uri: path, method: .get, headers: server.headers(.agentB)) { #expect($0.status == .forbidden, "\(path)") }
            }
            // Deleting the client takes the demand with it.
            try await client.execute(uri: "/clients/\(clientID)", method: .delete, headers: alice) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/demands/\(demandID)", method: .get, headers: alice) { #expect($0.status == .notFound) }
        }
    }
}
