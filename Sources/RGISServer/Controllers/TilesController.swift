import Foundation
import HTTPTypes
import Hummingbird
import RGISCore
import RGISQuery
import RGISStore

/// OGC API – Tiles with Mapbox Vector Tiles for the public collections: the tile matrix set, each
/// collection's tileset list and tileset, and the tiles (`…/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`:
/// zoom, then row (y), then column (x)); and `/search/clusters`, the map's viewport of listings as
/// clusters with exact counts.
struct TilesController {
    let state: ServerState

    static let mvt = "application/vnd.mapbox-vector-tile"
    static let conformance = [
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
        "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
        "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    ]
    static let tileMatrixSetID = "WebMercatorQuad"
    static let collection = ParameterSpec("collectionId", .string, required: true, "listings, parcels, buildings or districts")
    static let tilePath = [
        collection,
        ParameterSpec("tileMatrixSetId", .string, required: true, "WebMercatorQuad", values: [tileMatrixSetID]),
        ParameterSpec("tileMatrix", .integer, required: true, "The zoom level, 0–\(TileID.maximumZoom)", minimum: 0, maximum: Double(TileID.maximumZoom)),
        ParameterSpec("tileRow", .integer, required: true, "The row (y), from the north", minimum: 0),
        ParameterSpec("tileCol", .integer, required: true, "The column (x), from the west", minimum: 0),
    ]

    var endpoints: [Endpoint] {
        let collectionPath = [Self.collection]
        let tilesetPath = [Self.collection, Self.tilePath[1]]
        return [
            Endpoint(method: .get, path: "/tileMatrixSets", operationID: "getTileMatrixSets", summary: "The tile matrix sets tiles are served in",
                     tag: "Tiles", query: [LandingController.format], ogc: true) { [state] call in
                let base = state.base(call.request)
                return .json(.object(["tileMatrixSets": .array([.object([
                    "id": .string(Self.tileMatrixSetID), "title": .string("Google Maps Compatible for the World"),
                    "uri": .string("http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"),
                    "links": .array([link("\(base)/tileMatrixSets/\(Self.tileMatrixSetID)", rel: "self", type: MediaTypes.json)]),
                ])])]))
            },
            Endpoint(method: .get, path: "/tileMatrixSets/{tileMatrixSetId}", operationID: "getTileMatrixSet",
                     summary: "A tile matrix set's definition (OGC Two Dimensional Tile Matrix Set 2.0)", tag: "Tiles",
                     pathParameters: [Self.tilePath[1]], query: [LandingController.format], ogc: true) { [state] call in
                try Self.checkSet(call)
                return .json(TileID.tileMatrixSetJSON(base: state.base(call.request)))
            },
            Endpoint(method: .get, path: "/collections/{collectionId}/tiles", operationID: "getTilesets",
                     summary: "A collection's tilesets (vector tiles in WebMercatorQuad)", tag: "Tiles", pathParameters: collectionPath,
                     query: [LandingController.format], ogc: true) { [state] call in
                let layer = try Self.layer(call)
                let tileset = Self.tileset(layer, base: state.base(call.request), summary: true)
                return .json(.object(["tilesets": .array([tileset]), "links": .array([
                    link("\(state.base(call.request))/collections/\(layer.rawValue)/tiles", rel: "self", type: MediaTypes.json)])]))
            },
            Endpoint(method: .get, path: "/collections/{collectionId}/tiles/{tileMatrixSetId}", operationID: "getTileset",
                     summary: "A collection's tileset: its tiles' URL template, layer and zoom limits", tag: "Tiles", pathParameters: tilesetPath,
                     query: [LandingController.format], ogc: true) { [state] call in
                try Self.checkSet(call)
                return .json(Self.tileset(try Self.layer(call), base: state.base(call.request), summary: false))
            },
            Endpoint(method: .get, path: "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
                     operationID: "getTile",
                     summary: "A Mapbox vector tile (listings as clusters with counts below zoom \(QueryEngine.singleListingsFromZoom), one by one from it); 204 when empty",
                     tag: "Tiles", pathParameters: Self.tilePath, query: SearchController.filters, headers: [Self.ifNoneMatch],
                     produces: Self.mvt, alsoAnswers: [204: "Nothing is in the tile", 304: "The tile is as the If-None-Match ETag names it"],
                     ogc: true, handler: tile),
            Endpoint(method: .get, path: "/search/clusters", operationID: "listingClusters",
                     summary: "The listings in a box as the map draws them at a zoom: cells with exact counts (numberMatched is their sum), a listing alone in its cell with its id",
                     tag: "Search", query: [ParameterSpec("bbox", .string, required: true, "west,south,east,north in degrees"),
                                            ParameterSpec("zoom", .integer, required: true, "The map's zoom, 0–\(TileID.maximumZoom)", minimum: 0, maximum: Double(TileID.maximumZoom)),
                                            ParameterSpec("cell", .integer, "Cell side in pixels: 16, 32, 64 (the default), 128 or 256", minimum: 16, maximum: 256)]
                         + SearchController.filters,
                     produces: MediaTypes.geoJSON, handler: clusters),
        ]
    }

    static let ifNoneMatch = ParameterSpec("If-None-Match", .string, "An ETag from an earlier answer: 304 while the tile is the same")

    static func checkSet(_ call: EndpointCall) throws {
        let id = call.path("tileMatrixSetId")
        guard id == tileMatrixSetID else {
            throw RGISError(.notFound, "no tile matrix set '\(id)'; tiles are served in \(tileMatrixSetID)", at: "tileMatrixSetId")
        }
    }

    static func layer(_ call: EndpointCall) throws -> Layer {
        let id = call.path("collectionId")
        guard let layer = QueryEngine.tiledLayers.first(where: { $0.rawValue == id }) else {
            throw RGISError(.notFound, "no tiles for '\(id)'; tiled collections are \(QueryEngine.tiledLayers.map(\.rawValue).joined(separator: ", "))", at: "collectionId")
        }
        return layer
    }

    static func tileset(_ layer: Layer, base: String, summary: Bool) -> JSONValue {
        let url = "\(base)/collections/\(layer.rawValue)/tiles/\(tileMatrixSetID)"
        var o: [String: JSONValue] = [
            "title": .string("\(layer.rawValue) as vector tiles"),
            "dataType": .string("vector"),
            "crs": .string("http://www.opengis.net/def/crs/EPSG/0/3857"),
            "tileMatrixSetURI": .string("http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"),
            "links": .array([
                link(url, rel: summary ? "self" : "self", type: MediaTypes.json),
                link("\(base)/tileMatrixSets/\(tileMatrixSetID)", rel: "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", type: MediaTypes.json),
                templated("\(url)/{tileMatrix}/{tileRow}/{tileCol}", rel: "item", type: mvt),
            ]),
        ]
        if !summary {
            let points = layer == .listings
            var fields: [String: JSONValue] = ["id": .object(["type": .string("string")])]
            if points {
                fields["count"] = .object(["type": .string("integer"), "description": .string("Listings in the cluster (below zoom \(QueryEngine.singleListingsFromZoom))")])
                fields["price_min"] = .object(["type": .string("number")])
                fields["price_max"] = .object(["type": .string("number")])
            }
            for column in TileQuery.columns(layer) { fields[column] = .object(["type": .string("string")]) }
            o["layers"] = .array([.object([
                "id": .string(layer.rawValue), "dataType": .string("vector"),
                "geometryType": .string(points ? "points" : "polygons"),
                "minTileMatrix": .string(String(QueryEngine.minimumTileZoom(layer))), "maxTileMatrix": .string(String(TileID.maximumZoom)),
                "propertiesSchema": .object(["type": .string("object"), "properties": .object(fields)]),
            ])])
            var limits: [JSONValue] = []
            for z in QueryEngine.minimumTileZoom(layer)...TileID.maximumZoom {
                let last = JSONValue.int(Int64((1 << z) - 1))
                let limit: [String: JSONValue] = ["tileMatrix": .string(String(z)), "minTileRow": .int(0), "maxTileRow": last, "minTileCol": .int(0), "maxTileCol": last]
                limits.append(.object(limit))
            }
            o["tileMatrixSetLimits"] = .array(limits)
        }
        return .object(o)
    }

    static func templated(_ href: String, rel: String, type: String) -> JSONValue {
        .object(["href": .string(href), "rel": .string(rel), "type": .string(type), "templated": .bool(true)])
    }

    @Sendable func tile(_ call: EndpointCall) async throws -> Response {
        let layer = try Self.layer(call)
        try Self.checkSet(call)
        func number(_ name: String) throws -> Int {
            guard let n = Int(call.path(name)) else { throw RGISError(.notFound, "\(name) is a whole number, not '\(call.path(name))'", at: name) }
            return n
        }
        let id = try TileID(zoom: try number("tileMatrix"), row: try number("tileRow"), column: try number("tileCol"))
        let filter = try ListingFilter(call.parameters)
        if layer != .listings, !filter.isEmpty {
            throw RGISError(.invalidValue, "listing filters apply to the listings tiles only", at: "parameter \(call.parameters.values.keys.sorted().first ?? "")")
        }
        let bytes = try await state.engine.tile(layer, id, filter: filter)
        var headers = HTTPFields()
        headers[.cacheControl] = "public, max-age=60"
        guard let bytes else {
            return Response(status: .noContent, headers: headers)
        }
        let etag = "\"" + String(Digest.sha256Hex(bytes).prefix(32)) + "\""
        headers[.eTag] = etag
        if let match = call.request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = Self.mvt
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func clusters(_ call: EndpointCall) async throws -> Response {
        let p = call.parameters
        let bbox = try BBox(parsing: try p.required("bbox") { p[$0] })
        guard let part = bbox.parts.first, bbox.parts.count == 1 else {
            throw RGISError(.invalidValue, "a map's box does not cross the antimeridian", at: "parameter bbox")
        }
        guard let zoom = try p.int("zoom") else { throw RGISError(.malformedInput, "zoom is required", at: "parameter zoom") }
        let (features, total) = try await state.engine.listingClusters(box: part, zoom: zoom, cellPixels: try p.int("cell") ?? 64, filter: try ListingFilter(p))
        var out = #"{"type":"FeatureCollection","features":["#
        for (i, f) in features.enumerated() {
            if i > 0 { out += "," }
            f.write(to: &out)
        }
        out += #"],"numberMatched":\#(total),"numberReturned":\#(features.count)}"#
        return .text(out, type: MediaTypes.geoJSON)
    }
}
