import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import RGISCore
import RGISServer
import RGISTesting

/// OGC API – Tiles on the demo city; the tiles' contents are decoded by GDAL in `tools/interop.py`.
@Suite("Vector tiles over HTTP")
struct TileServerTests {
    /// The demo city's centre, at a zoom.
    static func tile(_ zoom: Int) -> (row: Int, column: Int) {
        let pixel = TileID.pixel(Position(lon: 9.05, lat: 48.03), zoom: zoom)
        return (Int(pixel.y / 256), Int(pixel.x / 256))
    }

    @Test("tiles are declared, described and served: ETag, 304, 204 when empty, 404 past the limits, 422 for a filter on parcels")
    func tiles() async throws {
        try await DemoServer.shared.test { client in
            let conformance = try await client.execute(uri: "/conformance", method: .get) { try json($0)["conformsTo"]?.arrayValue ?? [] }
            for name in ["ogcapi-tiles-1/1.0/conf/core", "ogcapi-tiles-1/1.0/conf/mvt", "ogcapi-tiles-1/1.0/conf/geodata-tilesets", "tms/2.0/conf/tilematrixset"] {
                #expect(conformance.contains(.string("http://www.opengis.net/spec/\(name)")), "\(name)")
            }
            let set = try await client.execute(uri: "/tileMatrixSets/WebMercatorQuad", method: .get) { try json($0) }
            let matrices = try #require(set["tileMatrices"]?.arrayValue)
            #expect(matrices.count == TileID.maximumZoom + 1 && matrices[0]["scaleDenominator"]?.number.map { abs($0 - 559082264.0287178) < 1e-3 } == true)
            let tileset = try await client.execute(uri: "/collections/parcels/tiles/WebMercatorQuad", method: .get) { try json($0) }
            let item = tileset["links"]?.arrayValue?.first { $0["rel"]?.stringValue == "item" }
            #expect(item?["href"]?.stringValue == "http://rgis.test/collections/parcels/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
            #expect(item?["type"]?.stringValue == "application/vnd.mapbox-vector-tile" && item?["templated"] == .bool(true))
            #expect(tileset["layers"]?.arrayValue?.first?["minTileMatrix"]?.stringValue == "12")
            let described = try await client.execute(uri: "/collections/listings", method: .get) { try json($0) }
            #expect(described["links"]?.arrayValue?.contains { $0["href"]?.stringValue == "http://rgis.test/collections/listings/tiles" } == true)

            let (row, column) = Self.tile(13)
            let uri = "/collections/listings/tiles/WebMercatorQuad/13/\(row)/\(column)"
            let etag = try await client.execute(uri: uri, method: .get) { response -> String in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/vnd.mapbox-vector-tile")
                #expect(response.headers[.cacheControl]?.contains("max-age") == true)
                #expect(response.body.readableBytes > 100 && response.body.readableBytes < 500_000)
                return response.headers[.eTag] ?? ""
            }
            #expect(etag.hasPrefix("\"") && etag.count == 34, "a strong ETag")
            try await client.execute(uri: uri, method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified && response.body.readableBytes == 0)
            }
            try await client.execute(uri: uri + "?price_min=100000000", method: .get) { #expect($0.status == .noContent, "nothing that dear") }
            try await client.execute(uri: "/collections/districts/tiles/WebMercatorQuad/13/0/0", method: .get) { #expect($0.status == .noContent) }
            for (path, field) in [("/collections/listings/tiles/WebMercatorQuad/23/0/0", "tileMatrix"),
                                  ("/collections/listings/tiles/WebMercatorQuad/3/8/0", "tileRow"),
                                  ("/collections/parcels/tiles/WebMercatorQuad/5/0/0", "tileMatrix"),
                                  ("/collections/demands/tiles/WebMercatorQuad/5/0/0", "collectionId"),
                                  ("/collections/listings/tiles/WorldCRS84Quad/5/0/0", "tileMatrixSetId")] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path)")
                    let detail = try json(response)["detail"]?.stringValue ?? ""
                    #expect(detail.hasPrefix(field), "\(path): \(detail)")
                }
            }
            let (prow, pcol) = Self.tile(14)
            try await client.execute(uri: "/collections/parcels/tiles/WebMercatorQuad/14/\(prow)/\(pcol)?price_min=1", method: .get) { response in
                #expect(response.status == .badRequest, "a listing filter on parcels is refused naming the parameter")
            }
        }
    }

    @Test("the map's viewport: cells whose counts sum to what a bbox query matches, with the filters; singles carry their id")
    func clusters() async throws {
        try await DemoServer.shared.test { client in
            for (bbox, zoom, filter) in [("9.00,48.00,9.11,48.06", 13, ""), ("9.00,48.00,9.11,48.06", 11, "&status=active&price_max=400000"),
                                         ("9.04,48.02,9.06,48.03", 17, "&type=apartment")] {
                let view = try await client.execute(uri: "/search/clusters?bbox=\(bbox)&zoom=\(zoom)\(filter)", method: .get) { try json($0) }
                // What the same box finds as a polygon search with the same filters (every listing, one page).
                let c = bbox.split(separator: ",").map(String.init)
                let ring = "[[\(c[0]),\(c[1])],[\(c[2]),\(c[1])],[\(c[2]),\(c[3])],[\(c[0]),\(c[3])],[\(c[0]),\(c[1])]]"
                let found = try await client.execute(uri: "/search/polygon?limit=10000\(filter)", method: .post,
                                                     body: ByteBuffer(string: #"{"type":"Polygon","coordinates":[\#(ring)]}"#)) { try json($0) }
                #expect(found["next"] == nil)
                let expected = Double(found["features"]?.arrayValue?.count ?? -1)
                let features = try #require(view["features"]?.arrayValue)
                let sum = features.compactMap { $0["properties"]?["count"]?.number }.reduce(0, +)
                #expect(view["numberMatched"]?.number == sum && sum == expected && sum > 0, "\(bbox) z\(zoom)\(filter): \(sum) vs \(expected)")
                if filter.isEmpty {
                    let items = try await client.execute(uri: "/collections/listings/items?bbox=\(bbox)&limit=1", method: .get) { try json($0) }
                    #expect(items["numberMatched"]?.number == sum)
                }
                for f in features where f["properties"]?["count"]?.number == 1 {
                    #expect(f["properties"]?["id"]?.stringValue?.isEmpty == false)
                }
                if zoom == 17 { #expect(features.count > Int(sum) / 2, "zoomed in, most listings stand alone") }
            }
            try await client.execute(uri: "/search/clusters?bbox=9,48,9.1&zoom=12", method: .get) { #expect($0.status == .badRequest || $0.status == .unprocessableContent) }
            try await client.execute(uri: "/search/clusters?bbox=9,48,9.1,48.1&zoom=30", method: .get) { #expect($0.status == .badRequest || $0.status == .unprocessableContent) }
        }
    }
}
