/// A geometry as GeoJSON describes it, coordinates in (lon, lat) order.
///
/// The store keeps geometry (and does the geometry work); this value only carries it between files, the CLI and the store.
public enum Geometry: Hashable, Sendable {
    case point(Position)
    case multiPoint([Position])
    case lineString([Position])
    case multiLineString([[Position]])
    /// Rings: the exterior first, then holes.
    case polygon([[Position]])
    case multiPolygon([[[Position]]])

    /// The GeoJSON `type` name.
    public var typeName: String { kind.rawValue }

    public var kind: Kind {
        switch self {
        case .point: .point
        case .multiPoint: .multiPoint
        case .lineString: .lineString
        case .multiLineString: .multiLineString
        case .polygon: .polygon
        case .multiPolygon: .multiPolygon
        }
    }

    public enum Kind: String, Sendable, CaseIterable {
        case point = "Point"
        case multiPoint = "MultiPoint"
        case lineString = "LineString"
        case multiLineString = "MultiLineString"
        case polygon = "Polygon"
        case multiPolygon = "MultiPolygon"
    }

    /// Every position, in order.
    public var positions: [Position] {
        switch self {
        case .point(let p): [p]
        case .multiPoint(let ps), .lineString(let ps): ps
        case .multiLineString(let lines), .polygon(let lines): lines.flatMap { $0 }
        case .multiPolygon(let polygons): polygons.flatMap { $0.flatMap { $0 } }
        }
    }
}
