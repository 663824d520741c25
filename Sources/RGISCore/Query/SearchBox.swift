import Foundation

/// Conservative lon/lat boxes around a geodesic circle: every point within the radius on the WGS84
/// ellipsoid lies in one of them. They only pre-filter candidates through the R*Tree; the exact
/// geodesic distance decides.
public enum SearchBox {
    /// The smallest radius of curvature on WGS84 (meridional, at the equator: a(1 − e²) ≈ 6,335,439 m),
    /// rounded down: an angle from it is never smaller than the true one.
    static let minimumRadiusMetres = 6_335_000.0

    public static func around(_ centre: Position, radiusMetres: Double) -> [BBox.Part] {
        let angle = radiusMetres / minimumRadiusMetres
        let dLat = angle * 180 / .pi
        let south = max(-90, centre.lat - dLat), north = min(90, centre.lat + dLat)
        // A circle that reaches a pole spans every longitude.
        if centre.lat + dLat >= 90 || centre.lat - dLat <= -90 || angle >= .pi / 2 {
            return [BBox.Part(west: -180, south: south, east: 180, north: north)]
        }
        // On a sphere the circle's half-width in longitude is asin(sin(angle) / cos(lat)); taking the
        // box's highest latitude and 1 % more covers the ellipsoid.
        let maxLat = max(abs(south), abs(north)) * .pi / 180
        let ratio = sin(angle) / cos(maxLat)
        if ratio >= 1 { return [BBox.Part(west: -180, south: south, east: 180, north: north)] }
        let dLon = asin(ratio) * 180 / .pi * 1.01
        if dLon >= 180 { return [BBox.Part(west: -180, south: south, east: 180, north: north)] }
        let west = centre.lon - dLon, east = centre.lon + dLon
        if west < -180 {
            return [BBox.Part(west: west + 360, south: south, east: 180, north: north),
                    BBox.Part(west: -180, south: south, east: east, north: north)]
        }
        if east > 180 {
            return [BBox.Part(west: west, south: south, east: 180, north: north),
                    BBox.Part(west: -180, south: south, east: east - 360, north: north)]
        }
        return [BBox.Part(west: west, south: south, east: east, north: north)]
    }
}
