/// A coordinate reference system identified by its EPSG code.
public struct SRID: Hashable, Sendable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// WGS84 longitude/latitude: what RGIS stores and what GeoJSON (RFC 7946) speaks.
    public static let wgs84 = SRID(4326)

    public var isGeographicWGS84: Bool { code == 4326 }
    public var description: String { "EPSG:\(code)" }
}
