import Foundation
import Testing
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting

/// Layers of the demo city and the Prague plots written as GeoPackage, zipped Shapefile, FlatGeobuf and
/// XLSX, then read back: by GDAL's own tools (layer, CRS, geometry type, count, columns) and imported
/// again, row by row equal to the store they came from, on every backend.
@Suite("Conformance: export to GeoPackage, Shapefile, FlatGeobuf and XLSX through GDAL")
struct GDALExportConformance {
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

    /// Each row's geometry (as exported: GeoJSON, 9 decimals) and compared columns, by id.
    static func rows(_ store: any Store, _ layer: Layer, _ columns: [String]) async throws -> [String: [JSONValue]] {
        var out: [String: [JSONValue]] = [:]
        for feature in try await store.exportedFeatures(layer) {
            guard let id = feature["id"]?.stringValue else { continue }
            out[id] = [Values.normalized(feature["geometry"] ?? .null)] + columns.map { Values.normalized(feature["properties"]?[$0] ?? .null) }
        }
        return out
    }

    /// A CSV text's header and rows.
    static func table(_ text: String) throws -> (header: [String], rows: [[String]]) {
        var reader = CSVReader(ByteStream(bytes: Array(text.utf8)))
        var records: [[String]] = []
        while let record = try reader.next() { records.append(record.fields) }
        return (records.first ?? [], Array(records.dropFirst()))
    }

    @Test("read back alike: GDAL sees one layer on EPSG:4326, and importing the file again gives the same rows", arguments: Backends.all, cases)
    func readBackAlike(backend: Backend, _ c: Case) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let path = dir.path(c.output)
        let written = try await store.exportFile(layer: c.layer, bbox: nil, format: c.format, to: path)
        let stored = try await store.count(c.layer)
        #expect(written == stored && written > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).allSatisfy { !$0.contains("partial") }, "no partial file is left")

        let info = try await run(Self.ogrinfo, ["-so", "-al", c.format == .shp ? "/vsizip/" + path : path])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("Layer name: \(c.layer.rawValue)"), "\(info.stdout)")
        #expect(info.stdout.contains("Feature Count: \(stored)"), "\(info.stdout)")
        // A Shapefile does not tell polygons from multipolygons.
        #expect(info.stdout.contains(c.layer == .listings ? "Geometry: Point" : c.format == .shp ? "Geometry: Polygon" : "Geometry: Multi Polygon"), "\(info.stdout)")
        #expect(info.stdout.contains(#"ID["EPSG",4326]"#), "the CRS is EPSG:4326: \(info.stdout)")

        let again = try await backend.emptyStore(in: dir, "again")
        var options = ImportOptions(layer: c.layer)
        options.defaultRadiusMetres = 500
        let report = try await again.importFeatures(from: path, options: options, progress: nil)
        #expect(report.inserted == stored && report.rejectedCount == 0, "\(report.rejected.prefix(3))")
        let want = try await Self.rows(store, c.layer, c.columns), got = try await Self.rows(again, c.layer, c.columns)
        let differences = want.compactMap { id, row in got[id] == row ? nil : "\(id): \(got[id] ?? [.string("missing")]) ≠ \(row)" }
        #expect(got.count == want.count && differences.isEmpty, "\(differences.count) rows differ: \(differences.prefix(3))")
    }

    @Test("a zipped Shapefile holds its .shp, .shx, .dbf, .prj and .cpg", arguments: Backends.all)
    func shapefileParts(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        _ = try await store.exportFile(layer: .parcels, bbox: nil, format: .shp, to: dir.path("parcels.zip"))
        let listing = try await run("/usr/bin/python3", ["-c", "import zipfile, sys; print(' '.join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))", dir.path("parcels.zip")])
        #expect(listing.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "parcels.cpg parcels.dbf parcels.prj parcels.shp parcels.shx", "\(listing.stdout)")
    }

    @Test("XLSX: a sheet of id, lon, lat and the fields, as the CSV export; polygons as WKT", arguments: Backends.all)
    func spreadsheet(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let box = try BBox(parsing: "9.02,48.01,9.06,48.03")
        let count = try await store.exportFile(layer: .listings, bbox: box, format: .xlsx, to: dir.path("listings.xlsx"))
        // GDAL reads the sheet back as CSV; the cells must be those of the CSV export.
        let converted = try await run(which("ogr2ogr") ?? "/usr/bin/ogr2ogr", ["-f", "CSV", dir.path("sheet.csv"), dir.path("listings.xlsx")])
        #expect(converted.status == 0, "\(converted.stderr)")
        let sheet = try Self.table(String(contentsOfFile: dir.path("sheet.csv"), encoding: .utf8))
        let csv = try await store.exportedText(.listings, bbox: box, format: .csv).text
        let table = try Self.table(csv)
        #expect(count == table.rows.count && count > 100)
        #expect(sheet.header == table.header, "\(sheet.header) ≠ \(table.header)")
        let id = table.header.firstIndex(of: "id")!, lon = table.header.firstIndex(of: "lon")!, price = table.header.firstIndex(of: "list_price")!
        let theirs = Dictionary(uniqueKeysWithValues: sheet.rows.map { ($0[id], $0) })
        for row in table.rows {
            let other = try #require(theirs[row[id]])
            #expect(Double(other[lon]) == Double(row[lon]) && Double(other[price]) == Double(row[price]), "\(other) ≠ \(row)")
        }

        _ = try await store.exportFile(layer: .parcels, bbox: nil, format: .xlsx, to: dir.path("parcels.xlsx"))
        let parcels = try await run(Self.ogrinfo, ["-al", "-q", dir.path("parcels.xlsx")])
        #expect(parcels.stdout.contains("wkt (String) = MULTIPOLYGON"), "\(parcels.stdout)")
    }

    @Test("errors name the field: a file format without --output's directory, an existing file replaced only when complete", arguments: Backends.all)
    func errors(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        await expectError(.io, at: "output") { _ = try await store.exportFile(layer: .parcels, bbox: nil, format: .gpkg, to: dir.path("missing/parcels.gpkg")) }
        await expectError(.invalidValue, at: "format") { _ = try await store.exportFile(layer: .parcels, bbox: nil, format: .geojson, to: dir.path("parcels.geojson")) }
        let old = try dir.write("parcels.gpkg", "not yet a GeoPackage")
        _ = try await store.exportFile(layer: .parcels, bbox: nil, format: .gpkg, to: old)
        let head = try Data(contentsOf: URL(fileURLWithPath: old)).prefix(15)
        #expect(String(decoding: head, as: UTF8.self) == "SQLite format 3")
    }
}
