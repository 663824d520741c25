import Foundation
import GRDB
import RGISCore
@testable import RGISSpatiaLite
@testable import RGISStore
import RGISTesting
import Testing

/// SpatiaLite's own mechanics under the store: an interrupted statement, statistics kept by triggers.
/// Statistics as the store keeps them through its own writes are in the conformance suite
/// (ExportAndCheckConformance).
@Suite("Async store calls", .timeLimit(.minutes(2)))
struct CancellationTests {
    @Test("cancelling a read interrupts the running SQLite statement and throws CancellationError")
    func interrupt() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database()
        let slow = Task {
            try await database.read { db in
                // Never ends by itself: only the interrupt stops it (the suite's time limit catches a hang).
                try Int.fetchOne(db, sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        slow.cancel()
        await #expect(throws: CancellationError.self) { try await slow.value }
        // The connection is usable again at once.
        #expect(try await SpatiaLiteStore(database).layerStatistics().count == Layer.allCases.count)
    }

    @Test("layer statistics follow moves and deletes written in SQL (the table's triggers keep them), and rgis check compares them with the tables")
    func statistics() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database()
        try database.loadShared("berlin-prenzlauer/listings.geojson", into: .listings, map: "price=list_price")
        let store = SpatiaLiteStore(database)
        try database.writeTransaction { db in
            try db.execute(sql: "UPDATE listings SET geom = MakePoint(13.5, 52.6, 4326) WHERE fid = 1")
            try db.execute(sql: "DELETE FROM listings WHERE fid IN (2, 3)")
        }
        let after = try #require(try await store.layerStatistics().first { $0.layer == .listings })
        #expect(after.count == 2201)
        #expect(after.extent?.east == 13.5 && after.extent?.north == 52.6)
        #expect(try database.check().isEmpty)
    }
}
