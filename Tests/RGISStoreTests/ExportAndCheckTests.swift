import Foundation
import GRDB
import Testing
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting

/// `rgis check` against a file whose spatial index was broken in SQL. Exports, and a check that passes
/// on what the store wrote, are in the conformance suite (ExportAndCheckConformance).
@Suite("Check of a damaged file")
struct ExportAndCheckTests {
    @Test("check finds a spatial index out of step with its table")
    func checkFindsProblems() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        var options = ImportOptions(layer: .buildings)
        options.idField = "uID"
        _ = try db.importFeatures(from: Fixtures.shared("prague-bubenec/buildings.geojson"), options: options)
        let queue = try DatabaseQueue(path: db.path)
        try queue.writeWithoutTransaction { try $0.execute(sql: "DELETE FROM idx_buildings_geom WHERE pkid IN (1, 2, 3)") }
        try queue.close()
        let problems = try db.check()
        #expect(problems.count == 1)
        #expect(problems.first?.description.contains("3 geometries are missing from the spatial index") == true)
    }
}
