import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RGISBackends
import RGISCore
import RGISServer
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// The Prague plots registered in 2010, 760 split in 2012, a transfer of 1017 to X in 2011 corrected to Y in 2013.
final class ArchiveServer: Sendable {
    static let shared = ArchiveServer()
    let directory: TemporaryDirectory
    let path: String
    let correctedEvent: Int64

    /// A server of its own, for tests that write.
    static func fresh() -> ArchiveServer { ArchiveServer() }

    private init() {
        directory = try! Fixtures.temporaryDirectory()
        let db = try! Templates.pragueRegister(in: directory)
        let archive = ArchiveRegister(db)
        func record(_ date: String, _ recorded: String) -> ArchiveRecord {
            ArchiveRecord(date: try! ValidDate(parsing: date), recordedAt: try! RecordTime(parsing: recorded, field: "recorded-at", day: .startOfDay))
        }
        let wrong = try! archive.transfer(Transfer(parcel: "1017", to: "X"), record: record("2011-01-01", "2011-01-02"))
        let cut = Geometry.lineString([Position(lon: 14.4062, lat: 50.1010), Position(lon: 14.4062, lat: 50.0999)])
        _ = try! archive.split(parcel: "760", line: cut, record: record("2012-01-01", "2012-01-02"))
        _ = try! archive.correctTransfer(event: wrong.event, to: "Y", recordedAt: try! RecordTime(parsing: "2013-01-01", field: "recorded-at", day: .startOfDay))
        correctedEvent = wrong.event
        path = db.path
    }

    func test<T>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        var configuration = ServerConfiguration(databasePath: path)
        configuration.apiKey = "test-key"
        configuration.port = 0
        configuration.baseURL = "http://rgis.test"
        // Other suites load the machine while they run; the deadline is tested on its own.
        configuration.requestTimeoutSeconds = 300
        return try await buildApplication(configuration, store: try await StoreLocation.open(configuration.databasePath)).test(.router, body)
    }
}

@Suite("HTTP archive")
struct ArchiveServerTests {
    let key: HTTPFields = [HTTPField.Name("X-API-Key")!: "test-key"]

    func ids(_ body: JSONValue) throws -> [String] {
        let features = try #require(body["features"]?.arrayValue)
        return features.compactMap { $0["properties"]?["parcel_id"]?.identifierText }
    }

    @Test("the archive is listed and served only with the API key")
    func protected() async throws {
        try await ArchiveServer.shared.test { client in
            for uri in ["/collections/archive-parcels", "/collections/archive-parcels/items", "/archive/parcels/760/lineage",
                        "/archive/parcels/760/rights?date=2011-01-01"] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .unauthorized, "\(uri)") }
            }
            try await client.execute(uri: "/collections", method: .get) { response in
                let collections = try #require(try json(response)["collections"]?.arrayValue)
                #expect(!collections.contains { $0["id"] == .string("archive-parcels") })
            }
            try await client.execute(uri: "/collections", method: .get, headers: key) { response in
                let collections = try #require(try json(response)["collections"]?.arrayValue)
                #expect(collections.contains { $0["id"] == .string("archive-parcels") })
            }
        }
    }

    @Test("items honour datetime as valid time and known_at as record time, with rights, and page with next links")
    func items() async throws {
        try await ArchiveServer.shared.test { client in
            let bbox = "14.4060,50.1002,14.4066,50.1007"
            try await client.execute(uri: "/collections/archive-parcels/items?datetime=2011-06-01&bbox=\(bbox)&limit=100", method: .get, headers: key) { response in
                #expect(response.headers[.contentType] == "application/geo+json")
                let found = try ids(try json(response))
                #expect(found.contains("760") && !found.contains("760-1"))
            }
            try await client.execute(uri: "/collections/archive-parcels/items?datetime=2012-06-01&bbox=\(bbox)&limit=100", method: .get, headers: key) { response in
                let found = try ids(try json(response))
                #expect(found.contains("760-1") && found.contains("760-2") && !found.contains("760"))
            }
            try await client.execute(uri: "/collections/archive-parcels/items?datetime=2012-06-01&bbox=\(bbox)&known_at=2012-01-01&limit=100", method: .get, headers: key) { response in
                let found = try ids(try json(response))
                #expect(found.contains("760") && !found.contains("760-1"))
            }
            // The wrong buyer before the correction was recorded, the right one after.
            for (knownAt, party) in [("2012-12-31", "X"), ("2013-01-01", "Y")] {
                try await client.execute(uri: "/collections/archive-parcels/items?datetime=2012-06-01&known_at=\(knownAt)&limit=10000", method: .get, headers: key) { response in
                    guard case .array(let features)? = try json(response)["features"],
                          let parcel = features.first(where: { $0["properties"]?["parcel_id"] == .string("1017") }),
                          case .array(let rights)? = parcel["properties"]?["rights"] else { Issue.record("no 1017"); return }
                    #expect(rights.map { $0["party"] } == [.string(party)])
                }
            }
            try await client.execute(uri: "/collections/archive-parcels/items?datetime=2012-06-01&limit=150", method: .get, headers: key) { response in
                let body = try json(response)
                guard case .array(let links)? = body["links"], let next = links.first(where: { $0["rel"] == .string("next") })?["href"]?.identifierText else {
                    Issue.record("no next link"); return
                }
                #expect(next.contains("known_at="))
                #expect(try ids(body).count == 150)
            }
            for bad in ["datetime=2012-13-01", "known_at=yesterday", "limit=0", "bbox=1,2,3", "colour=red"] {
                try await client.execute(uri: "/collections/archive-parcels/items?\(bad)", method: .get, headers: key) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
            }
        }
    }

    @Test("lineage and rights of a parcel, with clear errors for unknown parcels and bad dates")
    func lineageAndRights() async throws {
        try await ArchiveServer.shared.test { client in
            try await client.execute(uri: "/archive/parcels/760-2/lineage", method: .get, headers: key) { response in
                let body = try json(response)
                let ancestors = try #require(body["ancestors"]?.arrayValue)
                #expect(ancestors.map { $0["parcel"] } == [.string("760")])
            }
            try await client.execute(uri: "/archive/parcels/760/lineage?f=geojson", method: .get, headers: key) { response in
                let found = try ids(try json(response))
                #expect(Set(found) == ["760", "760-1", "760-2"])
            }
            try await client.execute(uri: "/archive/parcels/1017/rights?date=2011-06-01&known_at=2012-06-01", method: .get, headers: key) { response in
                let rights = try #require(try json(response)["rights"]?.arrayValue)
                #expect(rights.map { $0["party"] } == [.string("X")])
            }
            try await client.execute(uri: "/archive/parcels/nowhere/rights?date=2011-06-01", method: .get, headers: key) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/archive/parcels/760/rights?date=2013-01-01", method: .get, headers: key) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("was not in force on 2013-01-01"))
            }
            try await client.execute(uri: "/archive/parcels/760/rights?date=2011-02-30", method: .get, headers: key) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/archive/parcels/760/rights", method: .get, headers: key) { #expect($0.status == .badRequest) }
        }
    }

    @Test("POST /archive/events records a split, a transfer and a correction; bad changes are refused and change nothing")
    func recordEvents() async throws {
        let server = ArchiveServer.fresh()
        try await server.test { client in
            func post(_ body: String, headers: HTTPFields? = nil) async throws -> (HTTPResponse.Status, JSONValue) {
                try await client.execute(uri: "/archive/events", method: .post, headers: headers ?? key, body: ByteBuffer(string: body)) { response in
                    (response.status, try json(response))
                }
            }
            let line = #"{"type":"LineString","coordinates":[[14.4062,50.1010],[14.4062,50.0999]]}"#
            var (status, body) = try await post(#"{"kind":"split","parcel":"760-1","line":\#(line),"date":"2014-01-01","recorded_at":"2014-01-02"}"#)
            #expect(status == .unprocessableContent, "760-1 is not cut by this line: \(body.jsonText)")
            (status, body) = try await post(#"{"kind":"transfer","parcel":"365","to":"Q1","share":"1/2","date":"2014-01-01","recorded_at":"2014-01-02","document":"KV-1"}"#)
            #expect(status == .created, "\(body.jsonText)")
            #expect(body["kind"] == .string("transfer"))
            let transferEvent = body["event"]
            (status, body) = try await post(#"{"kind":"correction","event":\#(transferEvent?.jsonText ?? "0"),"to":"Q2","recorded_at":"2014-02-01"}"#)
            #expect(status == .created, "\(body.jsonText)")
            try await client.execute(uri: "/archive/parcels/365/rights?date=2014-06-01", method: .get, headers: key) { response in
                let rights = try #require(try json(response)["rights"]?.arrayValue)
                #expect(rights.map { $0["party"] } == [.string("Q2")])
            }
            let cut365 = #"{"type":"LineString","coordinates":[[14.4061,50.1011],[14.4061,50.1005]]}"#
            (status, body) = try await post(#"{"kind":"split","parcel":"365","line":\#(cut365),"date":"2015-01-01","recorded_at":"2015-01-02"}"#)
            #expect(status == .created, "\(body.jsonText)")
            for bad in [#"{"kind":"transfer","parcel":"365-1","to":"Q3","share":"3/2","date":"2016-01-01"}"#,
                        #"{"kind":"transfer","parcel":"365","to":"Q3","date":"2016-01-01"}"#,
                        #"{"kind":"merge","parcels":["1017","2476"],"date":"2016-01-01"}"#,
                        #"{"kind":"transfer","parcel":"1017","to":"Q3","date":"2016-02-30"}"#,
                        #"{"kind":"teleport","parcel":"1017"}"#, #"[1,2]"#, "not json"] {
                let before = try await client.execute(uri: "/collections/archive-parcels/items?limit=10000", method: .get, headers: key) { String(buffer: $0.body) }
                let (status, body) = try await post(bad)
                #expect([.badRequest, .notFound, .conflict, .unprocessableContent].contains(status), "\(bad): \(status)")
                #expect(body["detail"] != nil)
                let after = try await client.execute(uri: "/collections/archive-parcels/items?limit=10000", method: .get, headers: key) { String(buffer: $0.body) }
                #expect(before.replacingOccurrences(of: #""timeStamp":"[^"]*""#, with: "", options: .regularExpression)
                        == after.replacingOccurrences(of: #""timeStamp":"[^"]*""#, with: "", options: .regularExpression), "\(bad) changed the archive")
            }
            let (unauthorized, _) = try await post(#"{"kind":"demolition","building":"x","date":"2016-01-01"}"#, headers: [:])
            #expect(unauthorized == .unauthorized)
        }
    }
}
