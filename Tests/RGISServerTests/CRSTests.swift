import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import RGISBackends
import RGISCore
import RGISServer
import RGISStore
import RGISTesting

/// OGC API – Features Part 2 on the demo city with EPSG:25832 (UTM 32N, where the city lies) chosen as
/// its local CRS; every coordinate is checked against pyproj (`tools/crs_oracle.py`).
@Suite("OGC API – Features Part 2: CRS by reference")
struct CRSTests {
    static let utm = "http://www.opengis.net/def/crs/EPSG/0/25832"

    static func serve<T>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        try database.setLocalCRS(.epsg(25832))
        var configuration = ServerConfiguration(databasePath: database.path)
        configuration.port = 0
        configuration.baseURL = "http://rgis.test"
        configuration.requestTimeoutSeconds = 300
        return try await buildApplication(configuration, store: try await StoreLocation.open(configuration.databasePath)).test(.router, body)
    }

    /// pyproj's answer: the positions in `crs` (its axis order), and which lie in `rectangle` of it.
    static func oracle(_ crs: String, _ points: [[Double]], rectangle: [Double]? = nil) async throws -> (points: [[Double]], inside: Set<Int>) {
        var request: [String: JSONValue] = ["to": .string(crs), "points": .array(points.map { .array($0.map(JSONValue.double)) })]
        if let rectangle { request["rectangle"] = .array(rectangle.map(JSONValue.double)) }
        let result = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/crs_oracle.py").path], stdin: JSONValue.object(request).jsonText)
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try JSONValue.parse(Array(result.stdout.utf8))
        return ((answer["points"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.number) },
                Set((answer["inside"]?.arrayValue ?? []).compactMap { $0.number.map { Int($0) } }))
    }

    static func points(_ page: JSONValue) -> [(id: String, position: [Double])] {
        (page["features"]?.arrayValue ?? []).map { ($0["id"]?.stringValue ?? "", ($0["geometry"]?["coordinates"]?.arrayValue ?? []).compactMap(\.number)) }
    }

    @Test("collections list CRS84, EPSG:4326, EPSG:3857 and the local CRS, stored in CRS84; the class is declared")
    func described() async throws {
        try await Self.serve { client in
            let collection = try await client.execute(uri: "/collections/parcels", method: .get) { try json($0) }
            #expect(collection["crs"]?.arrayValue?.compactMap(\.stringValue) == [CRSReference.crs84.uri, CRSReference.wgs84LatLon.uri, CRSReference.webMercator.uri, Self.utm])
            #expect(collection["storageCrs"]?.stringValue == CRSReference.crs84.uri)
            let classes = try await client.execute(uri: "/conformance", method: .get) { try json($0)["conformsTo"]?.arrayValue ?? [] }
            #expect(classes.contains(.string("http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs")))
        }
    }

    @Test("items in each offered CRS agree with pyproj, in the CRS's axis order, with Content-Crs", arguments: [
        ("http://www.opengis.net/def/crs/EPSG/0/25832", 0.001), ("EPSG:4326", 1e-9), ("http://www.opengis.net/def/crs/EPSG/0/3857", 0.001),
    ])
    func items(_ crs: String, _ tolerance: Double) async throws {
        try await Self.serve { client in
            let plain = try await client.execute(uri: "/collections/listings/items?limit=100", method: .get) { try json($0) }
            let (projected, header) = try await client.execute(uri: "/collections/listings/items?limit=100&crs=\(crs)", method: .get) { response in
                (try json(response), response.headers[HTTPField.Name("Content-Crs")!])
            }
            #expect(header == "<\(try CRSReference(parsing: crs).uri)>")
            let ours = Self.points(projected), source = Self.points(plain)
            #expect(ours.map(\.id) == source.map(\.id) && ours.count == 100)
            let theirs = try await Self.oracle(try CRSReference(parsing: crs).projName, source.map(\.position)).points
            for (i, p) in ours.enumerated() {
                #expect(abs(p.position[0] - theirs[i][0]) <= tolerance && abs(p.position[1] - theirs[i][1]) <= tolerance, "\(p.id): \(p.position) ≠ \(theirs[i])")
            }
            try await client.execute(uri: "/collections/listings/items?limit=1", method: .get) {
                #expect($0.headers[HTTPField.Name("Content-Crs")!] == "<\(CRSReference.crs84.uri)>", "CRS84 is named too")
            }
        }
    }

    @Test("bbox-crs: a rectangle of the local grid selects exactly the listings pyproj puts in it; EPSG:4326 takes lat/lon")
    func boxInGrid() async throws {
        try await Self.serve { client in
            let all = try await client.execute(uri: "/collections/listings/items?limit=10000", method: .get) { Self.points(try json($0)) }
            let rectangle = [501_000.0, 5_317_000, 503_500, 5_319_500]
            let inside = try await Self.oracle("EPSG:25832", all.map(\.position), rectangle: rectangle).inside
            let wanted = Set(inside.map { all[$0].id })
            let box = rectangle.map { String($0) }.joined(separator: ",")
            let page = try await client.execute(uri: "/collections/listings/items?limit=10000&bbox=\(box)&bbox-crs=\(Self.utm)", method: .get) { try json($0) }
            let got = Set(Self.points(page).map(\.id))
            #expect(got == wanted && wanted.count > 50, "\(got.symmetricDifference(wanted).count) differ of \(wanted.count)")
            #expect(page["numberMatched"]?.number.map { Int($0) } == wanted.count)

            let parcels = try await client.execute(uri: "/collections/parcels/items?limit=10000&bbox=\(box)&bbox-crs=\(Self.utm)&crs=\(Self.utm)", method: .get) { try json($0) }
            #expect((parcels["features"]?.arrayValue?.count ?? 0) > 10)

            let lonLat = try await client.execute(uri: "/collections/listings/items?limit=10000&bbox=9.02,48.01,9.04,48.02", method: .get) { Set(Self.points(try json($0)).map(\.id)) }
            let latLon = try await client.execute(uri: "/collections/listings/items?limit=10000&bbox=48.01,9.02,48.02,9.04&bbox-crs=EPSG:4326", method: .get) { Set(Self.points(try json($0)).map(\.id)) }
            #expect(lonLat == latLon && lonLat.count > 20)
        }
    }

    @Test("one feature in the local CRS: a listing and a parcel's every vertex agree with pyproj")
    func feature() async throws {
        try await Self.serve { client in
            let plain = try await client.execute(uri: "/collections/parcels/items/P-3-4-0", method: .get) { try json($0) }
            let projected = try await client.execute(uri: "/collections/parcels/items/P-3-4-0?crs=\(Self.utm)", method: .get) { response in
                #expect(response.headers[HTTPField.Name("Content-Crs")!] == "<\(Self.utm)>")
                return try json(response)
            }
            func vertices(_ f: JSONValue) -> [[Double]] {
                (f["geometry"]?["coordinates"]?.arrayValue?.first?.arrayValue?.first?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.number) }
            }
            let theirs = try await Self.oracle("EPSG:25832", vertices(plain)).points
            #expect(vertices(projected).count == theirs.count && theirs.count >= 4)
            for (a, b) in zip(vertices(projected), theirs) { #expect(abs(a[0] - b[0]) <= 0.001 && abs(a[1] - b[1]) <= 0.001, "\(a) ≠ \(b)") }
            let listing = try await client.execute(uri: "/collections/listings/items/L00001?crs=EPSG:4326", method: .get) { try json($0) }
            let point = try await client.execute(uri: "/collections/listings/items/L00001", method: .get) { try json($0) }
            let swapped = (point["geometry"]?["coordinates"]?.arrayValue ?? []).reversed().map { $0 }
            #expect(listing["geometry"]?["coordinates"]?.arrayValue == swapped)
        }
    }

    @Test("a CRS not offered, not a URI, a bbox-crs without bbox, or crs with csv: 400 naming the parameter")
    func errors() async throws {
        try await Self.serve { client in
            for (uri, parameter) in [("/collections/listings/items?crs=EPSG:2100", "crs"), ("/collections/listings/items?crs=WGS84", "crs"),
                                     ("/collections/listings/items?bbox-crs=EPSG:4326", "bbox-crs"), ("/collections/listings/items?crs=EPSG:4326&f=csv", "crs"),
                                     ("/collections/listings/items?bbox=1,2,3,4&bbox-crs=EPSG:2100", "bbox-crs"), ("/collections/parcels/items/P-3-4-0?crs=EPSG:2100", "crs")] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(String(buffer: response.body).contains("parameter \(parameter)"), "\(uri): \(String(buffer: response.body))")
                }
            }
        }
    }
}
