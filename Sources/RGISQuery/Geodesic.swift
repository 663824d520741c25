import CPROJ
import RGISCore

/// Geodesic distances on the WGS84 ellipsoid, by PROJ's implementation of Karney's algorithm (the
/// same routine pyproj's `Geod` and SpatiaLite's ellipsoidal `ST_Distance` agree with to the mm).
///
/// Called directly rather than through SQL: a call costs about a microsecond, where `ST_Distance(…, 1)`
/// costs 20–90 µs of per-call overhead, which made the distance, not the R*Tree, the cost of a search.
enum Geodesic {
    private static let wgs84: geod_geodesic = {
        var g = geod_geodesic()
        geod_init(&g, 6_378_137, 1 / 298.257_223_563)
        return g
    }()

    /// The distance in metres between two (lon, lat) positions.
    static func distanceMetres(_ a: Position, _ b: Position) -> Double {
        var s12 = 0.0
        withUnsafePointer(to: wgs84) { geod_inverse($0, a.lat, a.lon, b.lat, b.lon, &s12, nil, nil) }
        return s12
    }
}
