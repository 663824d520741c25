/// The file formats a layer or a page of features is written in: GeoJSON and CSV natively, the
/// others through GDAL.
public enum ExportFormat: String, CaseIterable, Sendable {
    case geojson, csv, gpkg, shp, fgb, xlsx

    /// GDAL's driver for the format; nil for the formats written natively.
    public var gdalDriver: String? {
        switch self {
        case .geojson, .csv: nil
        case .gpkg: "GPKG"
        case .shp: "ESRI Shapefile"
        case .fgb: "FlatGeobuf"
        case .xlsx: "XLSX"
        }
    }

    /// Whether the file holds geometry as such; XLSX holds it as columns (`lon`/`lat` or `wkt`), as CSV does.
    public var hasGeometry: Bool { self != .xlsx && self != .csv }

    /// The name's usual ending: a Shapefile is written as one zip (`.shp`, `.shx`, `.dbf`, `.prj`, `.cpg`).
    public var fileExtension: String { self == .shp ? "shp.zip" : rawValue }

    public var mediaType: String {
        switch self {
        case .geojson: "application/geo+json"
        case .csv: "text/csv; charset=utf-8; header=present"
        case .gpkg: "application/geopackage+sqlite3"
        case .shp: "application/zip"
        case .fgb: "application/flatgeobuf"
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
    }

    /// What each format is, for help texts.
    public static let summary = "geojson (RFC 7946), csv (lon/lat or WKT columns), gpkg (GeoPackage), shp (a zipped Shapefile with its .prj), fgb (FlatGeobuf, with its spatial index), xlsx (a spreadsheet, lon/lat or WKT columns)"

    /// The format a file name implies (`parcels.gpkg`, `parcels.shp.zip`), if any.
    public init?(fileName: String) {
        let name = fileName.lowercased()
        if name.hasSuffix(".shp.zip") || name.hasSuffix(".shz") || name.hasSuffix(".zip") || name.hasSuffix(".shp") { self = .shp; return }
        for format in Self.allCases where name.hasSuffix("." + format.rawValue) { self = format; return }
        if name.hasSuffix(".json") { self = .geojson; return }
        return nil
    }
}
