import Foundation
import RGISCore
import RGISStore

/// Vector tiles (OGC API – Tiles, Mapbox Vector Tiles 2.1) and the map's viewport clusters: listings
/// are grouped into cells with exact counts below ``singleListingsFromZoom``, one by one from it.
extension QueryEngine {
    /// From this zoom on, a tile carries each listing; below it, cells of ``tileCellPixels`` with their counts.
    public static let singleListingsFromZoom = 16
    /// A cluster cell in a tile: 32 of a tile's 256 pixels square, so at most 64 clusters a tile.
    public static let tileCellPixels = 32
    /// A tile larger than this is simplified harder until it fits.
    public static let tileByteLimit = 500_000

    /// The first zoom a layer is tiled at (parcels and buildings are too many to draw below it).
    public static func minimumTileZoom(_ layer: Layer) -> Int {
        switch layer {
        case .parcels: 12
        case .buildings: 13
        default: 0
        }
    }

    /// The layers served as tiles: the public ones.
    public static let tiledLayers: [Layer] = [.listings, .parcels, .buildings, .districts]

    /// A tile's bytes, or nil when nothing is in it. Listing and district tiles are kept until the market changes.
    public func tile(_ layer: Layer, _ tile: TileID, filter: ListingFilter = ListingFilter()) async throws -> [UInt8]? {
        guard Self.tiledLayers.contains(layer) else { throw RGISError(.notFound, "\(layer.rawValue) are not served as tiles", at: "collectionId") }
        let minimum = Self.minimumTileZoom(layer)
        guard tile.zoom >= minimum else {
            throw RGISError(.notFound, "\(layer.rawValue) are tiled from tileMatrix \(minimum) (see the tileset's limits)", at: "tileMatrix")
        }
        try filter.validate()
        guard layer == .listings || layer == .districts else { return try await computeTile(layer, tile, filter: filter) }
        let key = "tile|\(layer.rawValue)|\(tile)|\(filter)"
        return try await tileCache.value(key, version: try await features.marketChangeToken()) { try await computeTile(layer, tile, filter: filter) }
    }

    func computeTile(_ layer: Layer, _ tile: TileID, filter: ListingFilter) async throws -> [UInt8]? {
        if layer == .listings && tile.zoom < Self.singleListingsFromZoom {
            let clusters = try await features.listingClusters(try ClusterQuery(box: tile.bounds(), zoom: tile.zoom, cellPixels: Self.tileCellPixels, filter: filter))
            let features = clusters.map { c -> VectorTile.Feature in
                let pixel = TileID.pixel(c.position, zoom: tile.zoom)
                let unit = Double(VectorTile.extent) / 256
                let point = TilePoint(x: Int32(((pixel.x - Double(tile.column * 256)) * unit).rounded()),
                                      y: Int32(((pixel.y - Double(tile.row * 256)) * unit).rounded()))
                return VectorTile.Feature(id: c.singleFID.map { UInt64($0) }, geometry: .points([point]), properties: Self.clusterProperties(c))
            }
            let encoded = VectorTile(layers: [.init(name: layer.rawValue, features: features)])
            return encoded.isEmpty ? nil : encoded.encoded()
        }
        var simplify = 1.0
        while true {
            let found = try await features.tileFeatures(TileQuery(layer: layer, tile: tile, filter: filter, simplifyUnits: simplify))
            let tileFeatures = found.map { VectorTile.Feature(id: UInt64($0.fid), geometry: $0.geometry, properties: $0.properties) }
            let encoded = VectorTile(layers: [.init(name: layer.rawValue, features: tileFeatures)])
            if encoded.isEmpty { return nil }
            let bytes = encoded.encoded()
            // Points cannot be simplified; polygons can, a few times, before the tile is given as it is.
            if bytes.count <= Self.tileByteLimit || layer == .listings || simplify >= 64 { return bytes }
            simplify *= 4
        }
    }

    static func clusterProperties(_ c: ListingCluster) -> [(String, JSONValue)] {
        var properties: [(String, JSONValue)] = [("count", .int(Int64(c.count)))]
        if let id = c.singleID { properties.append(("id", .string(id))) }
        if let low = c.priceMin { properties.append(("price_min", .double(low))) }
        if let high = c.priceMax { properties.append(("price_max", .double(high))) }
        return properties
    }

    /// The listings in a viewport as the map draws them: cells of `cellPixels` at `zoom` with exact
    /// counts (a listing alone in its cell comes with its id), and their total, which is the number a
    /// bbox query over the same box and filter matches.
    public func listingClusters(box: BBox.Part, zoom: Int, cellPixels: Int = 64, filter: ListingFilter) async throws -> (features: [StoredFeature], total: Int) {
        try filter.validate()
        let clusters = try await features.listingClusters(try ClusterQuery(box: box, zoom: zoom, cellPixels: cellPixels, filter: filter))
        let shown = clusters.map { c in
            StoredFeature(fid: c.singleFID ?? 0, id: c.singleID ?? "cell-\(zoom)-\(c.column)-\(c.row)",
                          geometryGeoJSON: #"{"type":"Point","coordinates":[\#(Self.coordinate(c.position.lon)),\#(Self.coordinate(c.position.lat))]}"#,
                          properties: Dictionary(uniqueKeysWithValues: Self.clusterProperties(c)))
        }
        return (shown, clusters.reduce(0) { $0 + $1.count })
    }

    /// Seven decimals: a centimetre, as RFC 7946 recommends for precision.
    static func coordinate(_ x: Double) -> String { String(format: "%.7f", x) }
}
