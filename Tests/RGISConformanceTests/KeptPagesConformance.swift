import Foundation
import Testing
import RGISCore
import RGISFiles
import RGISQuery
import RGISStore
import RGISTesting

/// Items pages of listings and districts are kept by the query engine while the store's market change
/// token (``FeatureStore/marketChangeToken()``) stays the same; every record write of the market shows
/// on the next page, and layers outside the token are read afresh each time, on every backend.
@Suite("Conformance: kept items pages follow every write")
struct KeptPagesConformance {
    static let box = try! BBox(west: 8.99, south: 47.99, east: 9.02, north: 48.01)

    static func inBox(_ p: Position) -> Bool {
        (box.west...box.east).contains(p.lon) && (box.south...box.north).contains(p.lat)
    }

    @Test("a kept page equals the store's own, and a listing moved into the box, its deletion or a parcel edit shows at once",
          arguments: Backends.all)
    func keptPagesFollowWrites(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let engine = QueryEngine(store)
        var query = ItemsQuery(layer: .listings, limit: try Limit(20))
        query.bbox = Self.box

        let first = try await engine.items(query)
        let direct = try await store.items(query)
        let matched = try #require(first.numberMatched)
        #expect(matched > 20, "the box is dense enough to page")
        #expect(first.featuresGeoJSON == direct.featuresGeoJSON && first.numberMatched == direct.numberMatched && first.hasNext)
        #expect(try await engine.items(query).featuresGeoJSON == first.featuresGeoJSON)

        // The first listing outside the box (in storage order) moved into it by a record write:
        // counted, and on the first page if its key is smaller.
        var outside: StoredFeature?
        let all = try await store.allListings()
        for listing in all {
            let p = try Shapes.point(listing)
            if !Self.inBox(p) {
                outside = listing
                break
            }
        }
        let mover = try #require(outside)
        let into = try JSONValue.parse(Array(#"{"geometry":{"type":"Point","coordinates":[9.0,48.0]}}"#.utf8))
        _ = try await store.change(.listing, id: mover.id, .mergePatch(into), condition: WriteCondition())
        let key = try await store.feature(.listings, id: mover.id).fid
        let moved = try await engine.items(query)
        #expect(moved.numberMatched == matched + 1)
        #expect(moved.firstFid == min(key, first.firstFid!))
        #expect(moved.featuresGeoJSON == (try await store.items(query)).featuresGeoJSON)

        try await store.delete(.listing, id: mover.id, condition: WriteCondition())
        #expect(try await engine.items(query).numberMatched == matched)

        // Parcels are not under the market token: an edit (the box's first parcel moved away by an
        // import) shows without any listing written.
        var parcels = ItemsQuery(layer: .parcels, limit: try Limit(10))
        parcels.bbox = query.bbox
        let before = try await engine.items(parcels)
        let fid = try #require(before.firstFid)
        let parcel = try #require(try PagingConformance.ids(before).first)
        let away = try dir.write("parcel.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"\(parcel)",
             "geometry":{"type":"Polygon","coordinates":[[[9.2,48.2],[9.201,48.2],[9.201,48.201],[9.2,48.201],[9.2,48.2]]]},
             "properties":{"land_use":"residential","valid_from":"2010-01-01"}}]}
            """)
        var upsert = ImportOptions(layer: .parcels)
        upsert.upsert = true
        #expect(try await store.importFeatures(from: away, options: upsert).updated == 1)
        #expect(try await engine.items(parcels).firstFid != fid)
    }
}
