import CPROJ
import RGISCore

/// Geodesic distances and areas on the WGS84 ellipsoid, by PROJ's implementation of Karney's algorithms
/// (the routines pyproj's `Geod` uses; SpatiaLite's ellipsoidal `ST_Distance` agrees to the mm).
///
/// Called directly rather than through SQL: a call costs about a microsecond, where `ST_Distance(…, 1)`
/// costs 20–90 µs of per-call overhead, which made the distance, not the R*Tree, the cost of a search.
public enum Geodesic {
    private static let wgs84: geod_geodesic = {
        var g = geod_geodesic()
        geod_init(&g, 6_378_137, 1 / 298.257_223_563)
        return g
    }()

    /// The distance in metres between two (lon, lat) positions.
    public static func distanceMetres(_ a: Position, _ b: Position) -> Double {
        var s12 = 0.0
        withUnsafePointer(to: wgs84) { geod_inverse($0, a.lat, a.lon, b.lat, b.lon, &s12, nil, nil) }
        return s12
    }

    /// The area in m² of a Polygon or MultiPolygon: exteriors less holes, each ring by `geod_polygonarea`.
    ///
    /// SpatiaLite's `ST_Area(…, 1)` (RTTOPO's spheroid approximation) is off by up to about 6 × 10⁻⁶ of
    /// the area on cadastral plots; registered areas are exact, as pyproj and QGIS report them.
    public static func areaSquareMetres(_ geometry: Geometry) -> Double {
        let polygons: [[[Position]]] = switch geometry {
        case .polygon(let rings): [rings]
        case .multiPolygon(let polygons): polygons
        default: []
        }
        return polygons.reduce(0) { total, rings in
            rings.enumerated().reduce(total) { sum, ring in
                let area = abs(ringArea(ring.element))
                return ring.offset == 0 ? sum + area : sum - area
            }
        }
    }

    private static func ringArea(_ ring: [Position]) -> Double {
        // geod_polygonarea closes the ring itself: leave out the repeated last position.
        let open = ring.count > 1 && ring.first == ring.last ? Array(ring.dropLast()) : ring
        var lats = open.map(\.lat), lons = open.map(\.lon)
        var area = 0.0, perimeter = 0.0
        withUnsafePointer(to: wgs84) { geod_polygonarea($0, &lats, &lons, Int32(open.count), &area, &perimeter) }
        return area
    }
}
