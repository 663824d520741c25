import Foundation
import GRDB
import RGISCore
@testable import RGISQuery
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// The archive's SpatiaLite mechanics on the real Prague-Bubeneč plots, registered on 2010-01-01:
/// triggers that refuse rewrites, the R*Trees behind as-of reads, and the oracle run through the CLI;
/// and the dates and shares a change is made of. What an archive answers and refuses is stated on
/// every backend in the conformance suite (`ArchiveConformance`).
@Suite("Archive: append-only triggers, query plans, dates and the oracle")
struct ArchiveTests {
    struct Register {
        let directory: TemporaryDirectory
        let database: RGISDatabase

        init() throws {
            directory = try Fixtures.temporaryDirectory()
            database = try Templates.pragueRegister(in: directory)
        }
    }

    @Test("dates that are not dates are refused before anything is read")
    func notADate() {
        for text in ["2021-02-30", "yesterday", "2021-13-01", "21-01-01"] {
            expectError(.malformedInput) { _ = try ValidDate(parsing: text) }
            expectError(.malformedInput, at: "known-at") { _ = try RecordTime(parsing: text, field: "known-at", day: .endOfDay) }
        }
        expectError(.invalidValue) { _ = try Share(parsing: "3/2") }
        expectError(.invalidValue) { _ = try Share(parsing: "0") }
        expectError(.malformedInput) { _ = try Share(parsing: "a/b") }
    }

    @Test("archive rows cannot be rewritten or deleted, even by SQL")
    func appendOnly() async throws {
        let r = try Register()
        for sql in ["DELETE FROM archive_parcels WHERE parcel_id = '760'",
                    "UPDATE archive_parcels SET valid_from = '2000-01-01' WHERE parcel_id = '760'",
                    "UPDATE archive_parcels SET area_m2 = 1 WHERE parcel_id = '760'"] {
            #expect(throws: (any Error).self, "\(sql)") {
                try r.database.writeTransaction { db in try db.execute(sql: sql) }
            }
        }
    }

    @Test("as-of reads go through the time R*Tree, or with a box through the spatial R*Tree")
    func queryPlans() throws {
        let r = try Register()
        var query = ArchiveQuery(valid: try DateTimeInterval(parsing: "2011-01-01"), limit: try Limit(100))
        try r.database.read { db in
            for bbox in [nil, try BBox(west: 14.40, south: 50.09, east: 14.41, north: 50.11)] {
                query.bbox = bbox
                let sql = try SpatiaLiteStore.archiveSQL(db, query)
                let details = try Row.fetchAll(db, SQLRequest<Row>(literal: "EXPLAIN QUERY PLAN \(sql)")).map { $0["detail"] as String }
                #expect(!details.contains { $0.hasPrefix("SCAN v") }, "\(details)")
                if bbox == nil {
                    #expect(details.contains { $0.contains("archive_parcels_time VIRTUAL TABLE INDEX") }, "\(details)")
                } else {
                    #expect(details.contains { $0.contains("idx_archive_parcels_geom VIRTUAL TABLE INDEX") }, "\(details)")
                }
            }
        }
    }

    @Test("the oracle (shapely, pyproj) replays a 36-event history on the Prague plots and agrees with asof and lineage")
    func oracle() async throws {
        let result = try await Fixtures.runOracle("archive_oracle.py", ["check"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("archive oracle: all answers agree"))
        #expect(result.stdout.contains("archive oracle asof: 15 (date, known-at) pairs"))
        #expect(result.stdout.contains("archive oracle lineage: 7 parcels"))
        print(result.stdout, terminator: "")
    }
}
