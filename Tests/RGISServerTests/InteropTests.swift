import Foundation
import RGISCore
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// Real clients against `rgis serve` on a socket: GDAL's OAPIF driver, OWSLib and headless Chromium.
@Suite("Interop", .serialized)
struct InteropTests {
    func runInterop(database: String, listings: Int, bbox: String, schemathesisExamples: Int = 0, conformanceSuite: Bool = false) async throws {
        let python = "/usr/bin/python3"
        // An admin's token, made the way an operator makes one.
        #expect(try await rgis("users", "add", database, "ops", "--role", "admin").status == 0)
        let token = try await rgis("tokens", "create", database, "ops").stdout.trimmingCharacters(in: .newlines)
        // Property-based tests send thousands of requests a minute: no rate limit here.
        let server = try ServerProcess(database: database, arguments: ["--rate-limit", "0"])
        defer { server.stop() }
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let result = try await run(python, [Fixtures.packageRoot.appendingPathComponent("tools/interop.py").path, "--url", server.url,
                                      "--listings", String(listings), "--workdir", dir.path("interop"), "--bbox", bbox,
                                      "--schemathesis-examples", String(schemathesisExamples), "--token", token] + (conformanceSuite ? ["--ogctests"] : []))
        print(result.stdout, terminator: "")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("interop: all checks passed"))
    }

    @Test("GDAL, OWSLib and Chromium read the demo city; schemathesis finds no 5xx and no response off the document; ogctests passes")
    func demo() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try Templates.demoCity(in: dir)
        try await runInterop(database: db.path, listings: 2270, bbox: "9.04,48.02,9.06,48.03", schemathesisExamples: 50, conformanceSuite: true)
    }

    @Test("GDAL, OWSLib and Chromium read a database of the shared real data")
    func sharedData() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        try db.loadShared("berlin-prenzlauer/listings.geojson", into: .listings, map: "price=list_price")
        try db.loadShared("berlin-prenzlauer/boundary.geojson", into: .districts, map: "neighbourh=name")
        try db.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        try db.loadShared("prague-bubenec/buildings.geojson", into: .buildings, idField: "uID")
        // The same plots as the property archive, one of them split, for the regulator's view.
        let archive = ArchiveRegister(db)
        func record(_ date: String) throws -> ArchiveRecord {
            ArchiveRecord(date: try ValidDate(parsing: date), recordedAt: try RecordTime(parsing: date, field: "recorded_at", day: .startOfDay))
        }
        _ = try archive.register(.parcels, fromFile: Fixtures.shared("prague-bubenec/plots.geojson"), idField: "ID", record: try record("2010-01-01"))
        _ = try archive.split(parcel: "760", line: .lineString([Position(lon: 14.4062, lat: 50.1010), Position(lon: 14.4062, lat: 50.0999)]),
                              record: try record("2012-01-01"))
        try await runInterop(database: db.path, listings: 2203, bbox: "13.41,52.535,13.425,52.545")
    }
}
