import Foundation
import Testing
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting

/// CSV as spreadsheets save it, and files that are neither GeoJSON nor CSV, imported on every backend.
@Suite("Conformance: CSV as spreadsheets save it, and files that are not GeoJSON or CSV")
struct CSVDialectConformance {
    @Test("semicolons with decimal commas and a BOM and CRLF, tabs, and commas with quoted newlines import alike", arguments: Backends.all)
    func dialects(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        var options = ImportOptions(layer: .listings)
        options.decimalComma = true
        let semicolons = try dir.write("semi.csv", "\u{FEFF}id;lon;lat;list_price;living_area_m2;address\r\nA1;9,05;48,03;\"450.000,50\";72,5;\"Ring 1\r\nHof\"\r\nA2;9,06;48,02;390000;60;Markt\r\n")
        #expect(try await store.importFeatures(from: semicolons, options: options, progress: nil).inserted == 2)
        let tabs = try dir.write("tabs.tsv", "id\tlon\tlat\tlist_price\nT1\t9.01\t48.01\t1000\n")
        #expect(try await store.importFeatures(from: tabs, options: ImportOptions(layer: .listings), progress: nil).inserted == 1)
        // Each listing as `id X Y list_price living_area_m2 address`, by id.
        let rows = try await store.exportedFeatures(.listings).map { feature -> (String, String) in
            let id = feature["id"]?.stringValue ?? ""
            let point = try Shapes.geometry(feature).positions.first
            let text = { (column: String) in Values.columnText(feature["properties"]?[column], .listings, column) ?? "" }
            return (id, "\(id) \(point.map { "\($0.lon) \($0.lat)" } ?? "") \(text("list_price")) \(text("living_area_m2")) \(text("address"))")
        }.sorted { $0.0 < $1.0 }.map(\.1)
        #expect(rows == ["A1 9.05 48.03 450000.5 72.5 Ring 1\r\nHof", "A2 9.06 48.02 390000.0 60.0 Markt", "T1 9.01 48.01 1000.0  "])
        // Without the flag, the refusal says what it looks like.
        let again = try dir.write("again.csv", "id;lon;lat\nB1;9,05;48,03\n")
        let error = try await #require(throws: RGISError.self) { _ = try await store.importFeatures(from: again, options: ImportOptions(layer: .listings), progress: nil) }
        #expect(error.description.contains("'9,05' is not a number (a decimal comma? pass --decimal-comma)") && error.description.contains("line 2"))
    }

    struct Foreign: CustomTestStringConvertible, Sendable {
        let bytes: [UInt8]
        let seen: String
        var testDescription: String { seen }
    }

    static let sqliteHeader: [UInt8] = Array("SQLite format 3\u{0}".utf8) + [UInt8](repeating: 0, count: 90)
    static let zipHeader: [UInt8] = [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 1, count: 40)
    static let shapefileHeader: [UInt8] = [0x00, 0x00, 0x27, 0x0A] + [UInt8](repeating: 0, count: 96)
    static let kml: [UInt8] = Array("<?xml version=\"1.0\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">".utf8)
    static let junk: [UInt8] = [0x01, 0x02, 0x00, 0x7F, 0x10]
    static let foreign: [Foreign] = [
        Foreign(bytes: sqliteHeader, seen: "a SQLite file (a GeoPackage or SpatiaLite database)"),
        Foreign(bytes: zipHeader, seen: "a zip archive"),
        Foreign(bytes: shapefileHeader, seen: "an ESRI Shapefile"),
        Foreign(bytes: kml, seen: "an XML file (KML)"),
        Foreign(bytes: junk, seen: "a binary file (it begins 01 02 00 7f 10)"),
    ]

    @Test("a broken GeoPackage, zipped Shapefile, Shapefile, KML and binary junk are named for what they are, and nothing is imported",
          arguments: Backends.all, CSVDialectConformance.foreign)
    func foreignFiles(backend: Backend, _ file: Foreign) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let path = dir.path("plots.csv")
        try Data(file.bytes).write(to: URL(fileURLWithPath: path))
        let error = try await #require(throws: RGISError.self) { _ = try await store.importFeatures(from: path, options: ImportOptions(layer: .listings), progress: nil) }
        #expect(error.description.contains(file.seen) && error.description.contains("GDAL"), "\(error.description)")
        #expect(try await store.count(.listings) == 0)
    }
}
