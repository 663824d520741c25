import Foundation

/// A tile of OGC's WebMercatorQuad tile matrix set (EPSG:3857, 256 × 256 tiles, origin at the top
/// left, zoom 0 one tile): the grid every web map and OGC API – Tiles client uses. The set's own
/// definition (OGC 17-083r4, Annex D) fixes its numbers; nothing here projects a geometry.
public struct TileID: Sendable, Hashable, CustomStringConvertible {
    public let zoom: Int
    /// The column (x), from the west.
    public let column: Int
    /// The row (y), from the north.
    public let row: Int

    public static let maximumZoom = 22

    /// Checks the numbers the way `/{tileMatrix}/{tileRow}/{tileCol}` gives them: the error names the part.
    public init(zoom: Int, row: Int, column: Int) throws {
        guard (0...Self.maximumZoom).contains(zoom) else {
            throw RGISError(.notFound, "tileMatrix is 0 to \(Self.maximumZoom) in WebMercatorQuad, not \(zoom)", at: "tileMatrix")
        }
        let size = 1 << zoom
        guard (0..<size).contains(row) else { throw RGISError(.notFound, "tileRow is 0 to \(size - 1) at tileMatrix \(zoom), not \(row)", at: "tileRow") }
        guard (0..<size).contains(column) else { throw RGISError(.notFound, "tileCol is 0 to \(size - 1) at tileMatrix \(zoom), not \(column)", at: "tileCol") }
        self.zoom = zoom
        self.row = row
        self.column = column
    }

    public var description: String { "\(zoom)/\(row)/\(column)" }

    /// Half the side of the square EPSG:3857 covers: π × 6,378,137 m.
    public static let originMetres = 20037508.342789244

    /// The tile's side in EPSG:3857 metres.
    public var sideMetres: Double { 2 * Self.originMetres / Double(1 << zoom) }

    /// The tile's box in EPSG:3857 metres, widened by `buffer` of its side on each edge.
    public func boundsMetres(buffer: Double = 0) -> (west: Double, south: Double, east: Double, north: Double) {
        let side = sideMetres
        let west = -Self.originMetres + Double(column) * side, north = Self.originMetres - Double(row) * side
        return (west - buffer * side, north - side - buffer * side, west + side + buffer * side, north + buffer * side)
    }

    /// The tile's box in degrees (lon, lat on WGS84), widened by `buffer` of its side (clamped to the set's extent).
    public func bounds(buffer: Double = 0) -> BBox.Part {
        let m = boundsMetres(buffer: buffer)
        let limit = Self.originMetres
        return BBox.Part(west: max(-180, Self.longitude(max(-limit, m.west))), south: Self.latitude(max(-limit, m.south)),
                         east: min(180, Self.longitude(min(limit, m.east))), north: Self.latitude(min(limit, m.north)))
    }

    /// The set's definition of its axes: x is linear in longitude, y is the spherical Mercator ordinate.
    public static func longitude(_ x: Double) -> Double { x / originMetres * 180 }
    public static func latitude(_ y: Double) -> Double { (2 * atan(exp(y / originMetres * .pi)) - .pi / 2) * 180 / .pi }
    public static func x(longitude: Double) -> Double { longitude / 180 * originMetres }
    public static func y(latitude: Double) -> Double {
        let clamped = min(max(latitude, -85.05112877980659), 85.05112877980659)
        return log(tan(.pi / 4 + clamped * .pi / 360)) / .pi * originMetres
    }

    /// Where a position falls in the world's pixel grid at `zoom` (256 pixels a tile), from the top left.
    public static func pixel(_ p: Position, zoom: Int) -> (x: Double, y: Double) {
        let world = 256 * Double(1 << zoom)
        return ((x(longitude: p.lon) + originMetres) / (2 * originMetres) * world, (originMetres - y(latitude: p.lat)) / (2 * originMetres) * world)
    }

    /// The metres of one pixel at `zoom` (256 pixels a tile).
    public static func metresPerPixel(zoom: Int) -> Double { 2 * originMetres / (256 * Double(1 << zoom)) }

    /// The tile matrix set as OGC API – Tiles serves it (`/tileMatrixSets/WebMercatorQuad`, OGC 17-083r4 JSON).
    public static func tileMatrixSetJSON(base: String) -> JSONValue {
        .object([
            "id": .string("WebMercatorQuad"),
            "title": .string("Google Maps Compatible for the World"),
            "uri": .string("http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"),
            "crs": .string("http://www.opengis.net/def/crs/EPSG/0/3857"),
            "orderedAxes": .array([.string("E"), .string("N")]),
            "wellKnownScaleSet": .string("http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible"),
            "tileMatrices": .array((0...maximumZoom).map { z in
                let cell = metresPerPixel(zoom: z)
                return .object([
                    "id": .string(String(z)), "scaleDenominator": .double(cell / 0.00028), "cellSize": .double(cell),
                    "cornerOfOrigin": .string("topLeft"), "pointOfOrigin": .array([.double(-originMetres), .double(originMetres)]),
                    "tileWidth": .int(256), "tileHeight": .int(256), "matrixWidth": .int(Int64(1 << z)), "matrixHeight": .int(Int64(1 << z)),
                ])
            }),
            "links": .array([.object(["rel": .string("self"), "type": .string("application/json"), "href": .string("\(base)/tileMatrixSets/WebMercatorQuad")])]),
        ])
    }
}
