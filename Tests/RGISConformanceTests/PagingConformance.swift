import Foundation
import Synchronization
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Keyset paging while others write (``FeatureStore/items(_:)``), on every backend: a client walking
/// a collection page by page sees each feature at most once, and every feature that was there
/// before the walk and not deleted during it.
@Suite("Conformance: paging under concurrent writes")
struct PagingConformance {
    static let berlinBox = try! BBox(west: 13.38, south: 52.52, east: 13.45, north: 52.56)

    static func ids(_ page: ItemsPage) throws -> [String] {
        let features = try JSONValue.parse(Array("[\(page.featuresGeoJSON)]".utf8))
        return features.arrayValue?.compactMap { $0["id"]?.identifierText } ?? []
    }

    /// Every page of `query`, walked forwards.
    static func walk(_ store: any Store, _ query: ItemsQuery, pause: Duration = .zero) async throws -> [String] {
        var query = query
        var walked: [String] = []
        while true {
            let page = try await store.items(query)
            walked += try ids(page)
            guard page.hasNext, let last = page.lastFid else { return walked }
            query.afterFid = last
            if pause > .zero { try await Task.sleep(for: pause) }
        }
    }

    @Test("walking the listings (and a bbox of them) while a writer adds and deletes: no feature twice, none that stayed left out",
          arguments: Backends.all)
    func pagingWhileWriting(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try await store.loadShared("berlin-prenzlauer/listings.geojson", into: .listings, map: "price=list_price")
        for bbox in [nil, Self.berlinBox] {
            var query = ItemsQuery(layer: .listings, limit: try Limit(40))
            query.bbox = bbox
            let before = Set(try await Self.walk(store, query))
            #expect(before.count > 500)

            let writer = try await backend.reopen(store)
            let walking = Mutex(true)
            let targets = Array(before.sorted().enumerated().filter { $0.offset % 7 == 3 }.map(\.element))
            let writes = Task { () -> (deleted: Set<String>, created: Set<String>) in
                var deleted = Set<String>(), created = Set<String>()
                var i = 0
                while walking.withLock({ $0 }) && i < targets.count {
                    try await writer.delete(.listing, id: targets[i], condition: WriteCondition())
                    deleted.insert(targets[i])
                    let body = try JSONValue.parse(Array("""
                        {"type":"Feature","geometry":{"type":"Point","coordinates":[\(13.40 + Double(i % 40) * 0.001),\(52.53 + Double(i / 40) * 0.001)]},
                         "properties":{"status":"active","list_price":\(90 + i)}}
                        """.utf8))
                    created.insert(try await writer.create(.listing, body, owner: nil, client: nil, idempotency: nil).id)
                    i += 1
                }
                return (deleted, created)
            }
            let walked = try await Self.walk(store, query, pause: .milliseconds(5))
            walking.withLock { $0 = false }
            let (deleted, created) = try await writes.value
            #expect(!deleted.isEmpty, "the writer wrote while the walk went on")
            #expect(walked.count == Set(walked).count, "a feature came twice: \(walked.count - Set(walked).count) repeats")
            let stayed = before.subtracting(deleted)
            #expect(stayed.isSubset(of: Set(walked)), "left out: \(stayed.subtracting(walked).sorted().prefix(10))")
            #expect(Set(walked).isSubset(of: before.union(created)), "a feature from nowhere")
        }
    }
}
