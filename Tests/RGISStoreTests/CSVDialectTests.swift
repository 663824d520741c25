import Foundation
import Testing
import RGISCore
@testable import RGISStore
import RGISTesting

@Suite("CSV as spreadsheets save it, and files that are not GeoJSON or CSV")
struct CSVDialectTests {
    @Test("semicolons with decimal commas and a BOM and CRLF, tabs, and commas with quoted newlines import alike")
    func dialects() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database()
        var options = ImportOptions(layer: .listings)
        options.decimalComma = true
        let semicolons = try dir.write("semi.csv", "\u{FEFF}id;lon;lat;list_price;living_area_m2;address\r\nA1;9,05;48,03;\"450.000,50\";72,5;\"Ring 1\r\nHof\"\r\nA2;9,06;48,02;390000;60;Markt\r\n")
        #expect(try database.importFeatures(from: semicolons, options: options).inserted == 2)
        let tabs = try dir.write("tabs.tsv", "id\tlon\tlat\tlist_price\nT1\t9.01\t48.01\t1000\n")
        #expect(try database.importFeatures(from: tabs, options: ImportOptions(layer: .listings)).inserted == 1)
        let rows = try database.read { db in
            try String.fetchAll(db, sql: "SELECT id || ' ' || X(geom) || ' ' || Y(geom) || ' ' || COALESCE(list_price, '') || ' ' || COALESCE(living_area_m2, '') || ' ' || COALESCE(address, '') FROM listings ORDER BY id")
        }
        #expect(rows == ["A1 9.05 48.03 450000.5 72.5 Ring 1\r\nHof", "A2 9.06 48.02 390000.0 60.0 Markt", "T1 9.01 48.01 1000.0  "])
        // Without the flag, the refusal says what it looks like.
        let again = try dir.write("again.csv", "id;lon;lat\nB1;9,05;48,03\n")
        let error = try #require(throws: RGISError.self) { try database.importFeatures(from: again, options: ImportOptions(layer: .listings)) }
        #expect(error.description.contains("'9,05' is not a number (a decimal comma? pass --decimal-comma)") && error.description.contains("line 2"))
    }

    static let sqliteHeader: [UInt8] = Array("SQLite format 3\u{0}".utf8) + [UInt8](repeating: 0, count: 90)
    static let zipHeader: [UInt8] = [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 1, count: 40)
    static let shapefileHeader: [UInt8] = [0x00, 0x00, 0x27, 0x0A] + [UInt8](repeating: 0, count: 96)
    static let kml: [UInt8] = Array("<?xml version=\"1.0\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">".utf8)
    static let junk: [UInt8] = [0x01, 0x02, 0x00, 0x7F, 0x10]
    static let foreign: [([UInt8], String)] = [
        (sqliteHeader, "a SQLite file (a GeoPackage or SpatiaLite database)"),
        (zipHeader, "a zip archive"),
        (shapefileHeader, "an ESRI Shapefile"),
        (kml, "an XML file (KML)"),
        (junk, "a binary file (it begins 01 02 00 7f 10)"),
    ]

    @Test("a broken GeoPackage, zipped Shapefile, Shapefile, KML and binary junk are named for what they are, and nothing is imported",
          arguments: CSVDialectTests.foreign)
    func foreignFiles(_ bytes: [UInt8], _ seen: String) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database()
        let path = dir.path("plots.csv")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: RGISError.self) { try database.importFeatures(from: path, options: ImportOptions(layer: .listings)) }
        #expect(error.description.contains(seen) && error.description.contains("GDAL"), "\(error.description)")
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM listings") } == 0)
    }
}
