import Foundation

/// A coordinate reference system as OGC API – Features Part 2 names it: by URI
/// (`http://www.opengis.net/def/crs/EPSG/0/25833`), or as `EPSG:25833` / `[EPSG:25833]` for short.
/// CRS84 is WGS84 in lon/lat order (what RGIS stores and GeoJSON speaks); EPSG:4326 is the same datum
/// in the order its definition gives, lat/lon.
public enum CRSReference: Hashable, Sendable, CustomStringConvertible {
    case crs84
    case epsg(Int32)

    public static let webMercator = CRSReference.epsg(3857)
    public static let wgs84LatLon = CRSReference.epsg(4326)

    public var uri: String {
        switch self {
        case .crs84: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        case .epsg(let code): "http://www.opengis.net/def/crs/EPSG/0/\(code)"
        }
    }

    /// The name PROJ looks it up by.
    public var projName: String {
        switch self {
        case .crs84: "OGC:CRS84"
        case .epsg(let code): "EPSG:\(code)"
        }
    }

    public var description: String { projName }

    /// From a URI, a safe CURIE (`[EPSG:25833]`) or `EPSG:25833`; `location` names the parameter or option in errors.
    public init(parsing text: String, at location: String = "parameter crs") throws {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("["), t.hasSuffix("]") { t = String(t.dropFirst().dropLast()) }
        let lower = t.lowercased()
        for prefix in ["http://www.opengis.net/def/crs/ogc/1.3/", "https://www.opengis.net/def/crs/ogc/1.3/", "ogc:"] where lower.hasPrefix(prefix) {
            if lower.dropFirst(prefix.count) == "crs84" { self = .crs84; return }
        }
        for prefix in ["http://www.opengis.net/def/crs/epsg/0/", "https://www.opengis.net/def/crs/epsg/0/", "epsg:"] where lower.hasPrefix(prefix) {
            if let code = Int32(lower.dropFirst(prefix.count)), code > 0 { self = .epsg(code); return }
        }
        throw RGISError(.invalidValue, "'\(text)' is not a CRS URI: write http://www.opengis.net/def/crs/EPSG/0/{code} (or EPSG:{code}) or http://www.opengis.net/def/crs/OGC/1.3/CRS84", at: location)
    }
}
