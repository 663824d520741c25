/// A position in longitude, latitude order (degrees on WGS84, EPSG:4326), as RFC 7946 requires.
///
/// RGIS never uses latitude-first order: every API, file and column takes longitude first.
/// In a projected CRS (`--srid` on import) the same two numbers are easting, northing.
public struct Position: Hashable, Sendable {
    public var lon: Double
    public var lat: Double

    public init(lon: Double, lat: Double) {
        self.lon = lon
        self.lat = lat
    }
}
