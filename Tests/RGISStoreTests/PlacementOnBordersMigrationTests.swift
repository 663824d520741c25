import Foundation
import GRDB
@testable import RGISSpatiaLite
import RGISTesting
import Testing

@Suite("Migration v18-placement-on-borders")
struct PlacementOnBordersMigrationTests {
    @Test("a file whose records on a shared edge were placed in no district has them placed by the covering rule after the upgrade, the lowest fid on a tie, and its triggers place new ones alike")
    func upgrade() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try SpatiaLiteConnection.load(into: db) }
        let pool = try DatabasePool(path: dir.path("v17.sqlite"), configuration: configuration)
        try Schema.migrate(pool, upTo: "v17-one-outbox")
        // Two districts sharing the edge lon = 9.01, the eastern one stored first; as a file before v18
        // kept them, the listings on that edge and inside the eastern one placed in no district or in it.
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO districts (fid, id, level, geom) VALUES
                    (1, 'East', 'district', CastToMultiPolygon(BuildMbr(9.01, 48.0, 9.02, 48.01, 4326))),
                    (2, 'West', 'district', CastToMultiPolygon(BuildMbr(9.0, 48.0, 9.01, 48.01, 4326)));
                DROP TRIGGER listings_place_insert;
                INSERT INTO listings (id, status, geom) VALUES
                    ('edge', 'active', MakePoint(9.01, 48.005, 4326)),
                    ('corner', 'active', MakePoint(9.01, 48.0, 4326)),
                    ('west', 'active', MakePoint(9.005, 48.005, 4326)),
                    ('outside', 'active', MakePoint(9.03, 48.005, 4326));
                UPDATE listings SET district_fid = CASE id WHEN 'west' THEN 2 END;
                """)
        }
        try Schema.migrate(pool)
        try pool.write { db in
            try db.execute(sql: "INSERT INTO listings (id, status, geom) VALUES ('new on the edge', 'active', MakePoint(9.01, 48.002, 4326))")
        }
        let placed = try pool.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, district_fid FROM listings").map { ($0[0] as String, $0[1] as Int64?) })
        }
        #expect(placed == ["edge": 1, "corner": 1, "west": 2, "outside": nil, "new on the edge": 1])
        #expect(try pool.read { try DistrictPlacement.misplaced($0) }.isEmpty)
    }
}
