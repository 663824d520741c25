import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISSample
@testable import RGISSpatiaLite
@testable import RGISStore
import RGISTesting
import Testing

/// A bulk import packs the layer's R*Tree (``PackedRTree``) and places each listing as it is written
/// (``PointPlacer``), on real data: London's 742 cycle-hire stations in its 33 boroughs, and the demo
/// city's 2,270 listings (together deeper than two levels of 51 cells).
@Suite("Packed spatial index and placement on import")
struct PackedRTreeTests {
    @Test("the packed tree is sound, holds every point exactly and finds what a scan finds; writes after it keep it so; listings are placed as ST_Contains places them")
    func packedTreeAndPlacement() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        try db.loadShared("london/boroughs.geojson", into: .districts)
        // 742 into an empty tree (packed), then 2,270 more (at least as many as held: the whole tree packed again).
        try db.loadShared("london/cycle_hire.geojson", into: .listings)
        _ = try db.importFeatures(from: Fixtures.demo("listings.geojson"), options: ImportOptions(layer: .listings))
        let shape = try db.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM idx_listings_geom")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM idx_listings_geom_node")!,
             try Int.fetchOne(db, sql: "SELECT get_depth FROM (SELECT (unicode(substr(data, 1, 1)) * 256 + unicode(substr(data, 2, 1))) AS get_depth FROM idx_listings_geom_node WHERE nodeno = 1)") ?? -1)
        }
        #expect(shape.0 == 742 + 2270)
        // Full leaves of 51: 60 leaves, 2 inner nodes and the root, two levels above the leaves.
        #expect(shape.1 == 63, "\(shape)")
        try expectSound(db, "after the bulk imports")

        // Placed as the SQL placement (ST_Contains, lowest fid) places them: every station in a borough.
        let misplaced = try db.read { db in try DistrictPlacement.misplaced(db) }
        #expect(misplaced.isEmpty, "\(misplaced)")
        let inBoroughs = try db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM listings WHERE district_fid IS NOT NULL")! }
        #expect(inBoroughs > 700 && inBoroughs <= 742, "\(inBoroughs)")

        // The module keeps the packed tree through row-by-row writes: moves, deletes and a small import.
        try db.pool.write { db in
            try db.execute(sql: "UPDATE listings SET geom = MakePoint(X(geom) + 0.01, Y(geom) - 0.005, 4326) WHERE fid % 7 = 0")
            try db.execute(sql: "DELETE FROM listings WHERE fid % 11 = 0")
        }
        let more = try dir.write("more.geojson", """
            {"type":"FeatureCollection","features":[\((1...60).map { i in
                #"{"type":"Feature","id":"M\#(i)","geometry":{"type":"Point","coordinates":[\#(-0.2 + Double(i) * 0.004),\#(51.45 + Double(i % 9) * 0.01)]},"properties":{"status":"active","list_price":300000,"living_area_m2":50}}"#
            }.joined(separator: ","))]}
            """)
        _ = try db.importFeatures(from: more, options: ImportOptions(layer: .listings))
        try expectSound(db, "after writes")
        #expect(try db.read { db in try DistrictPlacement.misplaced(db) }.isEmpty)
        let problems = try db.check()
        #expect(problems.isEmpty, "\(problems)")
    }

    /// `rtreecheck`, every entry's box holding its point exactly, and box searches that find what a
    /// scan of the table finds (plus at most points within a float's rounding of an edge).
    private func expectSound(_ db: RGISDatabase, _ when: String) throws {
        try db.read { db in
            #expect(try String.fetchOne(db, sql: "SELECT rtreecheck('idx_listings_geom')") == "ok", "\(when)")
            let loose = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM listings t LEFT JOIN idx_listings_geom r ON r.pkid = t.fid
                WHERE r.pkid IS NULL OR r.xmin > X(t.geom) OR r.xmax < X(t.geom) OR r.ymin > Y(t.geom) OR r.ymax < Y(t.geom)
                """)!
            #expect(loose == 0, "\(when): entries missing or not holding their point")
            var random = SplitMix64(seed: 7)
            var found = 0
            for i in 0..<200 {
                // Half the boxes over London, half over the demo city.
                let (x0, y0) = i % 2 == 0 ? (-0.25, 51.45) : (8.85, 47.95)
                let west = x0 + random.unit() * 0.2, south = y0 + random.unit() * 0.12
                let east = west + random.unit() * 0.05, north = south + random.unit() * 0.04
                let args: StatementArguments = [west, east, south, north]
                let searched = Set(try Int64.fetchAll(db, sql: "SELECT pkid FROM idx_listings_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?", arguments: args))
                let scanned = Set(try Int64.fetchAll(db, sql: "SELECT fid FROM listings WHERE X(geom) BETWEEN ? AND ? AND Y(geom) BETWEEN ? AND ?", arguments: args))
                #expect(scanned.isSubset(of: searched), "\(when): a point the R*Tree misses")
                for fid in searched.subtracting(scanned) {
                    let p = try Row.fetchOne(db, sql: "SELECT X(geom), Y(geom) FROM listings WHERE fid = ?", arguments: [fid])!
                    let x: Double = p[0], y: Double = p[1]
                    let edge = min(abs(x - west), abs(x - east), abs(y - south), abs(y - north))
                    #expect(edge < 1e-5, "\(when): \(fid) found \(edge)° from the box")
                }
                found += scanned.count
            }
            #expect(found > 1000, "\(when): the boxes hold points")
        }
    }
}
