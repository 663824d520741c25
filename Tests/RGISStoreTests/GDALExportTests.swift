import Foundation
import GRDB
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Layers of the demo city and the Prague plots written as GeoPackage, zipped Shapefile, FlatGeobuf and
/// XLSX, then read back: by GDAL's own tools (layer, CRS, geometry type, count, columns) and imported
/// again, row by row equal to the database they came from.
@Suite("Export to GeoPackage, Shapefile, FlatGeobuf and XLSX through GDAL")
struct GDALExportTests {
    static let ogrinfo = which("ogrinfo") ?? "/usr/bin/ogrinfo"

    struct Case: CustomTestStringConvertible, Sendable {
        let layer: Layer
        let format: ExportFormat
        let output: String
        let columns: [String]
        var testDescription: String { "\(layer) as \(format.rawValue)" }
    }

    static let listingColumns = ["status", "property_type", "list_price", "living_area_m2", "bedrooms", "list_date", "close_date", "close_price", "agent"]
    static let demandColumns = ["status", "budget_min", "budget_max", "bedrooms_min", "property_types", "client_id"]
    static let cases: [Case] = [
        Case(layer: .listings, format: .gpkg, output: "listings.gpkg", columns: listingColumns),
        Case(layer: .listings, format: .shp, output: "listings.shp.zip", columns: listingColumns),
        Case(layer: .listings, format: .fgb, output: "listings.fgb", columns: listingColumns),
        Case(layer: .parcels, format: .gpkg, output: "parcels.gpkg", columns: ["cadastral_number"]),
        Case(layer: .parcels, format: .shp, output: "parcels.shp.zip", columns: ["cadastral_number"]),
        Case(layer: .demands, format: .fgb, output: "demands.fgb", columns: demandColumns),
        Case(layer: .districts, format: .shp, output: "districts.shp.zip", columns: ["name", "level"]),
    ]

    /// Each row's compared columns and its geometry as GeoJSON (9 decimals), by id.
    static func rows(_ database: RGISDatabase, _ layer: Layer, _ columns: [String]) throws -> [String: [String]] {
        let selected = (["AsGeoJSON(geom, 9)"] + columns.map { "quote(\($0))" }).joined(separator: ", ")
        return try database.read { db in
            var out: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, \(selected) FROM \(layer.table)") {
                out[row[0]] = (1...(columns.count + 1)).map { (row[$0] as String?) ?? "NULL" }
            }
            return out
        }
    }

    /// A CSV text's header and rows.
    static func table(_ text: String) throws -> (header: [String], rows: [[String]]) {
        var reader = CSVReader(ByteStream(bytes: Array(text.utf8)))
        var records: [[String]] = []
        while let record = try reader.next() { records.append(record.fields) }
        return (records.first ?? [], Array(records.dropFirst()))
    }

    @Test("read back alike: GDAL sees one layer on EPSG:4326, and importing the file again gives the same rows", arguments: cases)
    func readBackAlike(_ c: Case) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let path = dir.path(c.output)
        let written = try database.exportFile(layer: c.layer, format: c.format, to: path)
        let stored = try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(c.layer.table)")! }
        #expect(written == stored && written > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).allSatisfy { !$0.contains("partial") }, "no partial file is left")

        let info = try run(Self.ogrinfo, ["-so", "-al", c.format == .shp ? "/vsizip/" + path : path])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("Layer name: \(c.layer.rawValue)"), "\(info.stdout)")
        #expect(info.stdout.contains("Feature Count: \(stored)"), "\(info.stdout)")
        // A Shapefile does not tell polygons from multipolygons.
        #expect(info.stdout.contains(c.layer == .listings ? "Geometry: Point" : c.format == .shp ? "Geometry: Polygon" : "Geometry: Multi Polygon"), "\(info.stdout)")
        #expect(info.stdout.contains(#"ID["EPSG",4326]"#), "the CRS is EPSG:4326: \(info.stdout)")

        let again = try dir.database("again.sqlite")
        var options = ImportOptions(layer: c.layer)
        options.defaultRadiusMetres = 500
        let report = try again.importFeatures(from: path, options: options)
        #expect(report.inserted == stored && report.rejectedCount == 0, "\(report.rejected.prefix(3))")
        let want = try Self.rows(database, c.layer, c.columns), got = try Self.rows(again, c.layer, c.columns)
        let differences = want.compactMap { id, row in got[id] == row ? nil : "\(id): \(got[id] ?? ["missing"]) ≠ \(row)" }
        #expect(got.count == want.count && differences.isEmpty, "\(differences.count) rows differ: \(differences.prefix(3))")
    }

    @Test("a zipped Shapefile holds its .shp, .shx, .dbf, .prj and .cpg")
    func shapefileParts() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        try database.exportFile(layer: .parcels, format: .shp, to: dir.path("parcels.zip"))
        let listing = try run("/usr/bin/python3", ["-c", "import zipfile, sys; print(' '.join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))", dir.path("parcels.zip")])
        #expect(listing.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "parcels.cpg parcels.dbf parcels.prj parcels.shp parcels.shx", "\(listing.stdout)")
    }

    @Test("XLSX: a sheet of id, lon, lat and the fields, as the CSV export; polygons as WKT")
    func spreadsheet() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let box = try BBox(parsing: "9.02,48.01,9.06,48.03")
        let count = try database.exportFile(layer: .listings, bbox: box, format: .xlsx, to: dir.path("listings.xlsx"))
        // GDAL reads the sheet back as CSV; the cells must be those of the CSV export.
        let converted = try run(which("ogr2ogr") ?? "/usr/bin/ogr2ogr", ["-f", "CSV", dir.path("sheet.csv"), dir.path("listings.xlsx")])
        #expect(converted.status == 0, "\(converted.stderr)")
        let sheet = try Self.table(String(contentsOfFile: dir.path("sheet.csv"), encoding: .utf8))
        var csv = ""
        try database.exportCSV(layer: .listings, bbox: box) { csv += $0 }
        let table = try Self.table(csv)
        #expect(count == table.rows.count && count > 100)
        #expect(sheet.header == table.header, "\(sheet.header) ≠ \(table.header)")
        let id = table.header.firstIndex(of: "id")!, lon = table.header.firstIndex(of: "lon")!, price = table.header.firstIndex(of: "list_price")!
        let theirs = Dictionary(uniqueKeysWithValues: sheet.rows.map { ($0[id], $0) })
        for row in table.rows {
            let other = try #require(theirs[row[id]])
            #expect(Double(other[lon]) == Double(row[lon]) && Double(other[price]) == Double(row[price]), "\(other) ≠ \(row)")
        }

        try database.exportFile(layer: .parcels, format: .xlsx, to: dir.path("parcels.xlsx"))
        let parcels = try run(Self.ogrinfo, ["-al", "-q", dir.path("parcels.xlsx")])
        #expect(parcels.stdout.contains("wkt (String) = MULTIPOLYGON"), "\(parcels.stdout)")
    }

    @Test("errors name the field: a file format without --output's directory, an existing file replaced only when complete")
    func errors() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        try expectError(.io, at: "output") { try database.exportFile(layer: .parcels, format: .gpkg, to: dir.path("missing/parcels.gpkg")) }
        try expectError(.invalidValue, at: "format") { try database.exportFile(layer: .parcels, format: .geojson, to: dir.path("parcels.geojson")) }
        let old = try dir.write("parcels.gpkg", "not yet a GeoPackage")
        try database.exportFile(layer: .parcels, format: .gpkg, to: old)
        let head = try Data(contentsOf: URL(fileURLWithPath: old)).prefix(15)
        #expect(String(decoding: head, as: UTF8.self) == "SQLite format 3")
    }
}
