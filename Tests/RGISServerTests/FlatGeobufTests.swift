import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import RGISCore
import RGISServer
import RGISTesting

@Suite("Items and indicators as FlatGeobuf")
struct FlatGeobufTests {
    /// The response body saved to a file and converted by `ogr2ogr` to GeoJSON: what GDAL reads in it.
    static func readByGDAL(_ body: ByteBuffer, in dir: TemporaryDirectory, _ name: String) async throws -> [JSONValue] {
        let path = dir.path(name)
        try Data(buffer: body).write(to: URL(fileURLWithPath: path))
        let converted = try await run(which("ogr2ogr") ?? "/usr/bin/ogr2ogr", ["-f", "GeoJSON", "/vsistdout/", path])
        #expect(converted.status == 0, "\(converted.stderr)")
        return try JSONValue.parse(Array(converted.stdout.utf8))["features"]?.arrayValue ?? []
    }

    @Test("f=fgb: the page's features in a FlatGeobuf file that GDAL reads back alike; paging in the Link header")
    func items() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        try await DemoServer.shared.test { client in
            let uri = "/collections/listings/items?limit=200&bbox=9.02,48.01,9.06,48.03"
            let page = try await client.execute(uri: uri, method: .get) { try json($0) }
            let features = try #require(page["features"]?.arrayValue)
            #expect(features.count == 200)
            let read = try await client.execute(uri: uri + "&f=fgb", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/flatgeobuf")
                #expect(response.headers[HTTPField.Name("Link")!]?.contains("rel=\"next\"") == true)
                #expect(Array(Data(buffer: response.body).prefix(3)) == [0x66, 0x67, 0x62], "the FlatGeobuf magic bytes")
                return try await Self.readByGDAL(response.body, in: dir, "listings.fgb")
            }
            #expect(read.count == features.count)
            let byID = Dictionary(uniqueKeysWithValues: read.map { ($0["properties"]?["id"]?.stringValue ?? "", $0) })
            for feature in features {
                let id = try #require(feature["id"]?.stringValue)
                let other = try #require(byID[id], "\(id) is in the file")
                #expect(other["geometry"]?["coordinates"] == feature["geometry"]?["coordinates"], "\(id)")
                #expect(other["properties"]?["list_price"]?.number == feature["properties"]?["list_price"]?.number, "\(id)")
                #expect(other["properties"]?["status"] == feature["properties"]?["status"], "\(id)")
            }

            let parcels = try await client.execute(uri: "/collections/parcels/items?limit=5&f=fgb", method: .get) {
                try await Self.readByGDAL($0.body, in: dir, "parcels.fgb")
            }
            #expect(parcels.count == 5 && parcels.allSatisfy { $0["geometry"]?["type"]?.stringValue == "MultiPolygon" })
        }
    }

    @Test("indicators with f=fgb: one feature per district with its geometry and the figures as numbers")
    func indicators() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        try await DemoServer.shared.test { client in
            let uri = "/indicators?level=district&as_of=2026-11-23"
            let page = try await client.execute(uri: uri, method: .get) { try json($0) }
            let features = try #require(page["features"]?.arrayValue)
            let read = try await client.execute(uri: uri + "&f=fgb", method: .get) { response in
                #expect(response.headers[.contentType] == "application/flatgeobuf")
                return try await Self.readByGDAL(response.body, in: dir, "indicators.fgb")
            }
            #expect(read.count == features.count && read.count > 3)
            let byID = Dictionary(uniqueKeysWithValues: read.map { ($0["properties"]?["id"]?.stringValue ?? "", $0) })
            for feature in features {
                let id = try #require(feature["id"]?.stringValue)
                let other = try #require(byID[id])
                for figure in ["active_listings", "median_price_per_m2", "active_demands"] {
                    #expect(other["properties"]?[figure] == feature["properties"]?[figure], "\(id) \(figure)")
                }
                #expect(other["geometry"]?["type"]?.stringValue == "MultiPolygon")
            }
        }
    }
}
