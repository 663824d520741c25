import Foundation
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Real clients against `rgis serve` on a socket: GDAL's OAPIF driver, OWSLib and headless Chromium.
@Suite("Interop", .serialized)
struct InteropTests {
    func runInterop(database: String, listings: Int, bbox: String, schemathesisExamples: Int = 0) throws {
        let python = "/usr/bin/python3"
        let server = try ServerProcess(database: database, apiKey: "key")
        defer { server.stop() }
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let result = try run(python, [Fixtures.packageRoot.appendingPathComponent("tools/interop.py").path, "--url", server.url,
                                      "--listings", String(listings), "--workdir", dir.path("interop"), "--bbox", bbox,
                                      "--schemathesis-examples", String(schemathesisExamples)])
        print(result.stdout, terminator: "")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("interop: all checks passed"))
    }

    @Test("GDAL, OWSLib and Chromium read the demo city; schemathesis finds no 5xx and no response off the document")
    func demo() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        for layer in Layer.allCases {
            _ = try db.importFeatures(from: Fixtures.demo("\(layer.rawValue).geojson"), options: ImportOptions(layer: layer))
        }
        try runInterop(database: db.path, listings: 2270, bbox: "9.04,48.02,9.06,48.03", schemathesisExamples: 50)
    }

    @Test("GDAL, OWSLib and Chromium read a database of the shared real data")
    func sharedData() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        var options = ImportOptions(layer: .listings)
        options.mapping = try FieldMapping(parsing: "price=list_price", for: .listings)
        _ = try db.importFeatures(from: Fixtures.shared("berlin-prenzlauer/listings.geojson"), options: options)
        options = ImportOptions(layer: .districts)
        options.mapping = try FieldMapping(parsing: "neighbourh=name", for: .districts)
        _ = try db.importFeatures(from: Fixtures.shared("berlin-prenzlauer/boundary.geojson"), options: options)
        options = ImportOptions(layer: .parcels)
        options.idField = "ID"
        _ = try db.importFeatures(from: Fixtures.shared("prague-bubenec/plots.geojson"), options: options)
        options = ImportOptions(layer: .buildings)
        options.idField = "uID"
        _ = try db.importFeatures(from: Fixtures.shared("prague-bubenec/buildings.geojson"), options: options)
        try runInterop(database: db.path, listings: 2203, bbox: "13.41,52.535,13.425,52.545")
    }
}
