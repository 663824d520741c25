import Foundation
import GRDB
import RGISCore
import RGISQuery
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// Items pages of listings and districts are kept while the market stays the same; every write of it
/// shows on the next page, and layers outside the market version are read afresh each time.
@Suite("Kept items pages")
struct KeptPagesTests {
    @Test("a kept page equals the store's own, and a write inside the box, a deletion or a parcel edit shows at once")
    func keptPagesFollowWrites() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let store = SpatiaLiteStore(database)
        let engine = QueryEngine(store)
        var query = ItemsQuery(layer: .listings, limit: try Limit(20))
        query.bbox = try BBox(parsing: "8.99,47.99,9.02,48.01")

        let first = try await engine.items(query)
        let direct = try await store.items(query)
        let matched = try #require(first.numberMatched)
        #expect(matched > 20, "the box is dense enough to page")
        #expect(first.featuresGeoJSON == direct.featuresGeoJSON && first.numberMatched == direct.numberMatched && first.hasNext)
        #expect(try await engine.items(query).featuresGeoJSON == first.featuresGeoJSON)

        // The first listing outside the box moved into it: counted, and on the first page if its key is smaller.
        let outside = try #require(try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT min(fid) FROM listings WHERE NOT (X(geom) BETWEEN 8.99 AND 9.02 AND Y(geom) BETWEEN 47.99 AND 48.01)")
        })
        try await database.write { db in
            try db.execute(sql: "UPDATE listings SET geom = MakePoint(9.0, 48.0, 4326) WHERE fid = \(outside)")
        }
        let moved = try await engine.items(query)
        #expect(moved.numberMatched == matched + 1)
        #expect(moved.firstFid == min(outside, first.firstFid!))
        #expect(moved.featuresGeoJSON == (try await store.items(query)).featuresGeoJSON)

        try await database.write { db in try db.execute(sql: "DELETE FROM listings WHERE fid = \(outside)") }
        #expect(try await engine.items(query).numberMatched == matched)

        // Parcels are not under the market version: an edit shows without any listing written.
        var parcels = ItemsQuery(layer: .parcels, limit: try Limit(10))
        parcels.bbox = query.bbox
        let before = try await engine.items(parcels)
        let fid = try #require(before.firstFid)
        try await database.write { db in try db.execute(sql: "DELETE FROM parcels WHERE fid = \(fid)") }
        #expect(try await engine.items(parcels).firstFid != fid)
    }
}
