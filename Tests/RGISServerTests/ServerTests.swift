import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
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

/// The demo city, imported once, served in-process.
final class DemoServer: Sendable {
    static let shared = DemoServer()
    let directory: TemporaryDirectory
    let path: String

    private init() {
        directory = try! Fixtures.temporaryDirectory()
        let db = try! Templates.demoCity(in: directory)
        path = db.path
    }

    func test<T>(apiKey: String? = "test-key", _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        var configuration = ServerConfiguration(databasePath: path)
        configuration.apiKey = apiKey
        configuration.port = 0
        configuration.baseURL = "http://rgis.test"
        // Other suites block threads while they run processes; the deadline is tested on its own.
        configuration.requestTimeoutSeconds = 300
        let app = try buildApplication(configuration, store: try await StoreLocation.open(configuration.databasePath))
        return try await app.test(.router, body)
    }
}

func json(_ response: TestResponse) throws -> JSONValue {
    try JSONValue.parse(Array(response.body.readableBytesView))
}

@Suite("HTTP server")
struct ServerTests {
    @Test("the landing page links the API, conformance and data; conformance lists core, geojson and oas30")
    func landing() async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = try json(response)
                let links = try #require(body["links"]?.arrayValue)
                let rels = Set(links.compactMap { $0["rel"] })
                #expect(rels.isSuperset(of: [.string("self"), .string("service-desc"), .string("conformance"), .string("data")]))
                #expect(links.contains { $0["rel"] == .string("service-desc") && $0["href"] == .string("http://rgis.test/api") })
            }
            try await client.execute(uri: "/conformance", method: .get) { response in
                let classes = try #require(try json(response)["conformsTo"]?.arrayValue)
                for name in ["features-1/1.0/conf/core", "features-1/1.0/conf/geojson", "features-1/1.0/conf/oas30",
                             "features-4/1.0/conf/create-replace-delete", "features-4/1.0/conf/update"] {
                    #expect(classes.contains(.string("http://www.opengis.net/spec/ogcapi-\(name)")))
                }
            }
        }
    }

    @Test("/api is OpenAPI 3 and describes every route with its parameters")
    func openAPI() async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/api", method: .get) { response in
                #expect(response.headers[.contentType] == "application/vnd.oai.openapi+json;version=3.0")
                let doc = try json(response)
                #expect(doc["openapi"] == .string("3.0.3"))
                let paths = try #require(doc["paths"]?.objectValue)
                for path in ["/", "/conformance", "/api", "/collections", "/collections/{collectionId}", "/collections/{collectionId}/items",
                             "/collections/{collectionId}/items/{featureId}", "/search/radius", "/search/nearest", "/search/polygon", "/locate",
                             "/districts/{districtId}/listings", "/indicators", "/indicators/series", "/match/demands/{demandId}/listings",
                             "/match/listings/{listingId}/demands", "/match/listing", "/map", "/health", "/metrics"] {
                    #expect(paths[path] != nil, "\(path) is not in /api")
                }
                let parameters = try #require(paths["/search/radius"]?["get"]?["parameters"]?.arrayValue)
                let names = Set(parameters.compactMap { $0["name"] })
                #expect(names.isSuperset(of: [.string("lon"), .string("lat"), .string("radius_m"), .string("price_max"), .string("limit")]))
                #expect(paths["/match/listing"]?["post"]?["security"] != nil)
            }
        }
    }

    @Test("collections carry their extent and typed items links; demand is not public")
    func collections() async throws {
        let info = try RGISDatabase.open(at: DemoServer.shared.path).info()
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/collections", method: .get) { response in
                let collections = try #require(try json(response)["collections"]?.arrayValue)
                #expect(collections.compactMap { $0["id"] } == ["listings", "parcels", "buildings", "districts", "alerts"].map(JSONValue.string))
            }
            try await client.execute(uri: "/collections/listings", method: .get) { response in
                let c = try json(response)
                let e = info.layers.first { $0.layer == .listings }!.extent!
                #expect(c["extent"]?["spatial"]?["bbox"] == .array([.array([.double(e.west), .double(e.south), .double(e.east), .double(e.north)])]))
                let links = try #require(c["links"]?.arrayValue)
                #expect(links.contains { $0["rel"] == .string("items") && $0["type"] == .string("application/geo+json") })
            }
            try await client.execute(uri: "/collections/demands", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test("next links walk the whole collection without repeat or gap; prev goes back; counts are right")
    func paging() async throws {
        try await DemoServer.shared.test { client in
            var uri = "/collections/listings/items?limit=500"
            var ids: [String] = []
            var pages: [[String]] = []
            var matched: JSONValue?
            while true {
                let page = try await client.execute(uri: uri, method: .get) { try json($0) }
                let features = try #require(page["features"]?.arrayValue), links = try #require(page["links"]?.arrayValue)
                matched = page["numberMatched"]
                #expect(page["numberReturned"] == .int(Int64(features.count)))
                #expect(page["timeStamp"] != nil)
                let pageIDs = features.compactMap { if case .string(let s)? = $0["id"] { s } else { nil } }
                ids += pageIDs
                pages.append(pageIDs)
                if pages.count > 1 {
                    let prev = try #require(links.first(where: { $0["rel"] == .string("prev") })?["href"]?.stringValue)
                    let back = try await client.execute(uri: String(prev.dropFirst("http://rgis.test".count)), method: .get) { try json($0) }
                    let previous = try #require(back["features"]?.arrayValue)
                    #expect(previous.compactMap { if case .string(let s)? = $0["id"] { s } else { nil } } == pages[pages.count - 2])
                }
                guard case .string(let next)? = links.first(where: { $0["rel"] == .string("next") })?["href"] else { break }
                uri = String(next.dropFirst("http://rgis.test".count))
            }
            #expect(ids.count == 2270)
            #expect(Set(ids).count == ids.count)
            #expect(matched == .int(2270))
            #expect(pages.count == 5)
        }
    }

    @Test("limit defaults to 10 and is clamped to 10000; bbox, datetime and property filters narrow the page")
    func itemsParameters() async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/collections/listings/items", method: .get) { response in
                #expect(response.headers[.contentType] == "application/geo+json")
                let body = try json(response)
                #expect(body["numberReturned"] == .int(10))
            }
            try await client.execute(uri: "/collections/listings/items?limit=20000", method: .get) { response in
                let body = try json(response)
                #expect(body["numberReturned"] == .int(2270))
            }
            let box = try await client.execute(uri: "/collections/listings/items?bbox=9.04,48.02,9.06,48.03&limit=10000", method: .get) { try json($0) }
            let inBox = try #require(box["features"]?.arrayValue)
            #expect(inBox.count > 50 && box["numberMatched"] == .int(Int64(inBox.count)))
            for f in inBox {
                guard case .array(let c)? = f["geometry"]?["coordinates"], let lon = c[0].number, let lat = c[1].number else { continue }
                #expect(lon >= 9.04 && lon <= 9.06 && lat >= 48.02 && lat <= 48.03)
            }
            let houses = try await client.execute(uri: "/collections/listings/items?property_type=house&status=active&limit=10000", method: .get) { try json($0) }
            let hs = try #require(houses["features"]?.arrayValue)
            #expect(!hs.isEmpty)
            #expect(hs.allSatisfy { $0["properties"]?["property_type"] == .string("house") && $0["properties"]?["status"] == .string("active") })
            #expect(houses["numberMatched"] == nil, "counting on a property filter would cost a scan")
            let recent = try await client.execute(uri: "/collections/listings/items?datetime=2026-11-01/..&limit=10000", method: .get) { try json($0) }
            let rs = try #require(recent["features"]?.arrayValue)
            #expect(!rs.isEmpty)
            for f in rs {
                if case .string(let d)? = f["properties"]?["close_date"] { #expect(d >= "2026-11-01") }
            }
            try await client.execute(uri: "/collections/listings/items/L00001", method: .get) { response in
                let f = try json(response)
                #expect(f["id"] == .string("L00001"))
                let links = try #require(f["links"]?.arrayValue)
                #expect(Set(links.compactMap { $0["rel"] }) == [.string("self"), .string("alternate"), .string("collection")])
            }
        }
    }

    @Test("bad input gets a problem+json naming the parameter, never a 5xx", arguments: [
        ("/collections/listings/items?bbox=1,2,3", 400, "bbox"),
        ("/collections/listings/items?bbox=0,10,1,5", 400, "bbox"),
        ("/collections/listings/items?limit=abc", 400, "limit"),
        ("/collections/listings/items?limit=0", 400, "limit"),
        ("/collections/listings/items?datetime=yesterday", 400, "datetime"),
        ("/collections/listings/items?colour=red", 400, "colour"),
        ("/collections/listings/items?bedrooms=many", 400, "bedrooms"),
        ("/collections/buildings/items?datetime=2020-01-01", 400, "datetime"),
        ("/collections/atlantis/items", 404, "atlantis"),
        ("/collections/listings/items/nope", 404, "nope"),
        ("/nowhere", 404, "no such path"),
        ("/search/radius?lon=9.05&lat=48.02&radius_m=0", 422, "radius_m"),
        ("/search/radius?lon=9.05&lat=48.02&radius_m=200000", 422, "radius_m"),
        ("/search/radius?lon=9.05&lat=95&radius_m=100", 422, "lat"),
        ("/search/radius?lon=9.05&radius_m=100", 400, "lat"),
        ("/search/radius?lon=x&lat=48&radius_m=100", 400, "lon"),
        ("/search/radius?lon=9.05&lat=48.02&radius_m=100&cursor=zzz", 400, "cursor"),
        ("/search/radius?lon=9.05&lat=48.02&radius_m=100&type=castle", 422, "castle"),
        ("/search/nearest?lon=9.05&lat=48.02&k=0", 422, "k"),
        ("/search/nearest?lon=9.05&lat=48.02&k=10001", 422, "k"),
        ("/search/nearest?lat=48.02", 400, "lon"),
        ("/search/nearest?lon=9.05&lat=48.02&price_max=-1", 422, "price_max"),
        ("/locate?lon=9.05", 400, "lat"),
        ("/districts/atlantis/listings", 404, "atlantis"),
        ("/indicators?level=county", 400, "county"),
        ("/indicators?as_of=soon", 400, "as_of"),
        ("/indicators/series?from=2026-13", 400, "from"),
        ("/indicators/series?from=2026-06&to=2026-01", 422, "from"),
        ("/indicators/series?level=subdistrict&district=atlantis", 404, "atlantis"),
        ("/indicators/series?f=xml", 400, "f"),
    ])
    func badInput(_ uri: String, _ status: Int, _ mention: String) async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(Int(response.status.code) == status, "\(uri): \(String(buffer: response.body))")
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try json(response)
                #expect(problem["status"] == .int(Int64(status)))
                if case .string(let detail)? = problem["detail"] { #expect(detail.contains(mention), "\(detail)") }
            }
        }
    }

    @Test("monthly series: JSON per district and month with the figures and their yearly change, CSV with a row per district and month")
    func series() async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/indicators/series?level=district&from=2026-01&to=2026-06", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = try json(response)
                let districts = try #require(body["districts"]?.arrayValue)
                #expect(districts.count == 6 && body["from"] == .string("2026-01") && body["to"] == .string("2026-06"))
                let months = try #require(districts[0]["months"]?.arrayValue)
                #expect(months.map { $0["month"] } == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"].map(JSONValue.string))
                for name in SeriesFigure.allCases.map(\.rawValue) + ["yoy", "suppressed"] {
                    #expect(months[0][name] != nil, "\(name) missing")
                }
                #expect((months[0]["active_inventory"]?.number ?? 0) > 20)
            }
            var active: [String: Int] = [:]
            try await client.execute(uri: "/indicators?level=district&as_of=2026-11-23", method: .get) { response in
                for f in try json(response)["features"]?.arrayValue ?? [] {
                    if let id = f["id"]?.stringValue, let n = f["properties"]?["active_listings"]?.number { active[id] = Int(n) }
                }
            }
            try await client.execute(uri: "/indicators?level=district&as_of=2026-11-23&f=csv", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
                let lines = String(buffer: response.body).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
                #expect(lines.first?.prefix(4) == ["id", "name", "level", "active_listings"])
                #expect(lines.count == 7 && !active.isEmpty)
                for line in lines.dropFirst() { #expect(Int(line[3]) == active[String(line[0])], "\(line)") }
            }
            try await client.execute(uri: "/indicators/series?level=subdistrict&district=D2-1&from=2026-01&to=2026-03&f=csv", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
                let lines = String(buffer: response.body).split(separator: "\r\n")
                #expect(lines.count == 4 && lines[0].hasPrefix("district_id,district_name,month,new_listings,"), "\(lines)")
                #expect(lines[1].hasPrefix("D2-1,") && lines[3].contains(",2026-03,"))
            }
        }
    }

    @Test("early warning: the alerts collection is listed and serves GeoJSON on the districts' polygons; the Atom feed parses, with GeoRSS boxes")
    func alerts() async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/collections", method: .get) { response in
                let ids = try json(response)["collections"]?.arrayValue?.compactMap { $0["id"] } ?? []
                #expect(ids.contains(.string("alerts")))
            }
            var inForce = 0
            try await client.execute(uri: "/collections/alerts/items?as_of=2026-11-30", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/geo+json")
                let features = try #require(try json(response)["features"]?.arrayValue)
                inForce = features.count
                #expect(features.count > 5)
                for f in features {
                    #expect(f["geometry"]?["type"] == .string("MultiPolygon"))
                    for key in ["district_id", "rule", "metric", "value", "threshold", "severity", "since"] { #expect(f["properties"]?[key] != nil, "\(key)") }
                }
            }
            try await client.execute(uri: "/collections/alerts/items?as_of=2026-11-30&level=district", method: .get) { response in
                let features = try #require(try json(response)["features"]?.arrayValue)
                #expect(!features.isEmpty && features.count < inForce && features.allSatisfy { $0["properties"]?["level"] == .string("district") })
            }
            try await client.execute(uri: "/alerts.atom?as_of=2026-11-30", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/atom+xml") == true)
                let body = String(buffer: response.body)
                let parser = XMLParser(data: Data(body.utf8))
                #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
                #expect(body.components(separatedBy: "<entry>").count - 1 >= inForce)
                #expect(body.contains("<georss:box>") && body.contains("district.alert.raised"))
            }
            try await client.execute(uri: "/collections/alerts/items?as_of=someday", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test("polygon search: results, an invalid polygon is 422 naming the rule, malformed JSON 400, 10 MB 413")
    func polygonSearch() async throws {
        let square = #"{"type":"Polygon","coordinates":[[[9.04,48.02],[9.06,48.02],[9.06,48.03],[9.04,48.03],[9.04,48.02]]]}"#
        let bowtie = #"{"type":"Polygon","coordinates":[[[9.04,48.02],[9.06,48.03],[9.06,48.02],[9.04,48.03],[9.04,48.02]]]}"#
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/search/polygon?limit=10000", method: .post, body: ByteBuffer(string: square)) { response in
                #expect(response.status == .ok)
                let body = try json(response)
                let n = try #require(body["numberReturned"]?.number)
                #expect(n > 50)
            }
            try await client.execute(uri: "/search/polygon", method: .post, body: ByteBuffer(string: bowtie)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("Self-intersection"))
            }
            try await client.execute(uri: "/search/polygon", method: .post, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("body"))
            }
            let huge = ByteBuffer(string: String(repeating: " ", count: 10 * 1_048_576 + 10) + square)
            try await client.execute(uri: "/search/polygon", method: .post, body: huge) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test("radius search is sorted by distance; locate and district listings answer")
    func domainSearch() async throws {
        try await DemoServer.shared.test { client in
            let found = try await client.execute(uri: "/search/radius?lon=9.05&lat=48.025&radius_m=400&limit=50", method: .get) { try json($0) }
            let features = try #require(found["features"]?.arrayValue)
            let distances = features.compactMap { $0["properties"]?["distance_m"]?.number }
            #expect(!distances.isEmpty && distances == distances.sorted() && distances.last! <= 400)
            // The 7 nearest are the radius search's first 7, in its order.
            let nearest = try await client.execute(uri: "/search/nearest?lon=9.05&lat=48.025&k=7", method: .get) { try json($0) }
            #expect(nearest["features"]?.arrayValue?.map { $0["id"] } == Array(features.prefix(7)).map { $0["id"] })
            let located = try await client.execute(uri: "/locate?lon=9.05&lat=48.025", method: .get) { try json($0) }
            let districts = try #require(located["features"]?.arrayValue)
            #expect(districts.compactMap { $0["properties"]?["level"] } == ["city", "district", "subdistrict"].map(JSONValue.string))
            let inDistrict = try await client.execute(uri: "/districts/D1/listings?limit=5", method: .get) { try json($0) }
            #expect(inDistrict["numberReturned"] == .int(5))
            #expect(inDistrict["next"] != nil)
        }
    }

    @Test("the deprecated shared key still opens matching as an admin: 401 without it or with another, results with it")
    func apiKey() async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/match/demands/R00001/listings", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            try await client.execute(uri: "/match/demands/R00001/listings", method: .get, headers: [HTTPField.Name("X-API-Key")!: "wrong"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/match/demands/R00001/listings?limit=3", method: .get, headers: [HTTPField.Name("X-API-Key")!: "test-key"]) { response in
                #expect(response.status == .ok)
                let body = try json(response)
                #expect(body["numberReturned"] == .int(3))
            }
            try await client.execute(uri: "/match/listings/L00017/demands", method: .get, headers: [HTTPField.Name("X-API-Key")!: "test-key"]) { response in
                #expect(response.status == .ok)
                #expect(!String(buffer: response.body).contains("phone"))
            }
            let newListing = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.025]},"properties":{"list_price":450000,"living_area_m2":75,"bedrooms":2,"property_type":"apartment"}}"#
            try await client.execute(uri: "/match/listing", method: .post, headers: [HTTPField.Name("X-API-Key")!: "test-key"], body: ByteBuffer(string: newListing)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/match/demands/nobody/listings", method: .get, headers: [HTTPField.Name("X-API-Key")!: "test-key"]) { response in
                #expect(response.status == .notFound)
            }
        }
        try await DemoServer.shared.test(apiKey: nil) { client in
            try await client.execute(uri: "/match/demands/R00001/listings", method: .get, headers: [HTTPField.Name("X-API-Key")!: "anything"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/match/demands/R00001/listings", method: .get, headers: [.authorization: "Bearer test-key"]) { response in
                #expect(response.status == .unauthorized)
            }
        }
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/match/demands/R00001/listings?limit=1", method: .get, headers: [.authorization: "Bearer test-key"]) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("the map page and Leaflet are served by RGIS itself; health and metrics answer")
    func mapAndOperations() async throws {
        try await DemoServer.shared.test { client in
            try await client.execute(uri: "/map", method: .get) { response in
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                #expect(html.contains("/static/leaflet/leaflet.js") && !html.contains("http://") && !html.contains("https://"))
            }
            try await client.execute(uri: "/static/leaflet/leaflet.js", method: .get) { response in
                #expect(response.status == .ok, "libjs-leaflet must be installed (tools/setup)")
                #expect(response.headers[.contentType] == "application/javascript")
            }
            try await client.execute(uri: "/static/leaflet/..%2F..%2Fetc%2Fpasswd", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/health", method: .get) { response in
                let body = try json(response)
                #expect(body["status"] == .string("ok"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(text.contains(#"http_server_request_duration_bucket{http_route="/health",http_request_method="GET",http_response_status_code="200""#), "\(text)")
                #expect(text.contains("rgis_database_bytes") && text.contains("rgis_heavy_slots 1.0") && text.contains("rgis_heavy_slots_in_use 0.0"), "\(text)")
            }
        }
    }
}

@Suite("Wire formats")
struct WireFormatTests {
    @Test("landing, conformance, collections, a collection, /api, an items page and a problem match their golden files",
          arguments: [
              ("/", "landing.json"), ("/conformance", "conformance.json"), ("/collections", "collections.json"),
              ("/collections/districts", "collection-districts.json"), ("/api", "api.json"),
              ("/collections/districts/items?limit=2", "items-districts.json"), ("/search/radius?lon=9&lat=48", "problem.json"),
          ])
    func golden(_ path: String, _ file: String) async throws {
        try await DemoServer.shared.test(apiKey: nil) { client in
            try await client.execute(uri: path, method: .get) { response in
                let text = String(buffer: response.body)
                let mismatch = try Golden.mismatch(text, "Tests/RGISServerTests/Golden/\(file)")
                #expect(mismatch == nil)
            }
        }
    }

    @Test("a changed wire format fails: the golden check sees one changed member")
    func goldenBites() async throws {
        try await DemoServer.shared.test(apiKey: nil) { client in
            try await client.execute(uri: "/conformance", method: .get) { response in
                let changed = String(buffer: response.body).replacingOccurrences(of: "conf/core", with: "conf/kore")
                guard !Golden.recording else { return }
                let mismatch = try Golden.mismatch(changed, "Tests/RGISServerTests/Golden/conformance.json")
                #expect(mismatch?.contains("conf/kore") == true)
            }
        }
    }
}
