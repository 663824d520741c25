import Foundation
import RGISCore
import RGISStore
import RGISTesting
import Testing

/// Every backend answers the demo city's searches as SpatiaLite does: the same features in the same
/// order with the same properties and geometries, byte for byte, and distances within a millimetre. (Each backend
/// is also held to the oracles of the other conformance tests; this pins down that they agree.)
@Suite("Conformance: the backends answer alike")
struct BackendsAgreeConformance {
    /// The demo city's layers in one store per backend.
    actor Stores {
        static let shared = Stores()
        private var stores: [String: any Store] = [:]
        private var directories: [TemporaryDirectory] = []

        func store(_ backend: Backend) async throws -> any Store {
            if let store = stores[backend.name] { return store }
            let directory = try Fixtures.temporaryDirectory()
            directories.append(directory)
            let store = try await backend.emptyStore(in: directory, "agree")
            try await store.loadDemoLayers()
            stores[backend.name] = store
            return store
        }
    }

    static var others: [Backend] { Backends.features.filter { $0.name != Backend.spatiaLite.name } }

    @Test("every layer exports alike; parcels' computed areas agree within a millionth of a square metre per 100 m²", arguments: others)
    func exportsAgree(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        for layer in Layer.allCases where layer != .parcels {
            let expected = try await reference.exportedText(layer, bbox: nil, format: .geojson).text
            let answered = try await store.exportedText(layer, bbox: nil, format: .geojson).text
            #expect(answered == expected, "\(layer)")
        }
        // A parcel without an area gets its polygon's geodesic area, computed by each engine's own
        // ellipsoidal algorithm: they agree to about 1e-9 of the area.
        let expected = try await reference.exportedFeatures(.parcels)
        let answered = try await store.exportedFeatures(.parcels)
        #expect(expected.count == answered.count && expected.count > 1000)
        func withoutArea(_ feature: JSONValue) -> JSONValue {
            guard case .object(var object) = feature, case .object(var properties)? = object["properties"] else { return feature }
            properties["area_m2"] = nil
            object["properties"] = .object(properties)
            return .object(object)
        }
        for (e, a) in zip(expected, answered) {
            let ea = e["properties"]?["area_m2"]?.number ?? -1, aa = a["properties"]?["area_m2"]?.number ?? -2
            #expect(abs(ea - aa) <= ea * 1e-8, "\(e["id"]?.stringValue ?? "")")
            #expect(withoutArea(e) == withoutArea(a))
        }
    }

    @Test("radius (listings with a filter, buildings; paged) agrees to the millimetre; bbox, polygon and district answers are the same bytes", arguments: others)
    func searchesAgree(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        for (lon, lat, radius) in [(9.05, 48.02, 1500.0), (9.01, 48.001, 300.0), (9.1, 48.05, 5000.0)] {
            for layer in [QueryLayer.listings, .buildings] {
                var query = RadiusQuery(centre: try Centre(lon: lon, lat: lat), radius: try RadiusMetres(radius), limit: try Limit(37))
                query.layer = layer
                if layer == .listings { query.filter.priceMin = 200_000 }
                // Each walked with its own cursors (they hold the exact distance, which each engine
                // computes to its own last bit): the same pages of the same features, distances within
                // a millimetre (a distance on a half millimetre rounds either way).
                let e = try await Self.walk(reference, query), a = try await Self.walk(store, query)
                #expect(a.pages == e.pages, "radius \(layer) \(lon),\(lat) \(radius) m")
                #expect(a.distances.count == e.distances.count && zip(a.distances, e.distances).allSatisfy { abs($0 - $1) <= 0.0011 })
            }
        }
        let box = try BBox(parsing: "9.02,48.01,9.06,48.03")
        for layer in [QueryLayer.listings, .buildings] {
            var query = BBoxQuery(bbox: box, limit: try Limit(10_000))
            query.layer = layer
            #expect(try await store.bbox(query).geoJSON == (try await reference.bbox(query)).geoJSON)
        }
        let triangle = try SearchArea(geoJSON: JSONValue.parse(Array(#"{"type":"Polygon","coordinates":[[[9.02,48.01],[9.06,48.01],[9.05,48.03],[9.02,48.01]]]}"#.utf8)))
        for predicate in [PolygonQuery.Predicate.intersects, .within] {
            var query = PolygonQuery(area: triangle, limit: try Limit(10_000))
            query.layer = .buildings
            query.predicate = predicate
            #expect(try await store.polygon(query).geoJSON == (try await reference.polygon(query)).geoJSON)
        }
        let point = Position(lon: 9.05, lat: 48.02)
        #expect(try await store.districts(containing: point).geoJSON == (try await reference.districts(containing: point)).geoJSON)
        let district = try #require(try await reference.districts(containing: point).features.last)
        #expect(try await store.district(id: district.id).geoJSON == (try await reference.district(id: district.id)).geoJSON)
        let inside = try await store.listings(inDistrict: district.id, filter: ListingFilter(), limit: Limit(10_000), after: nil)
        #expect(inside.geoJSON == (try await reference.listings(inDistrict: district.id, filter: ListingFilter(), limit: Limit(10_000), after: nil)).geoJSON)
    }

    /// A radius query's pages, each as its features' GeoJSON without their distances, and the distances.
    static func walk(_ store: any Store, _ query: RadiusQuery) async throws -> (pages: [String], distances: [Double]) {
        var query = query
        var pages: [String] = [], distances: [Double] = []
        while pages.count < 20 {
            let page = try await store.radius(query)
            var features = page.features
            for i in features.indices {
                distances.append(features[i].properties["distance_m"]?.number ?? -1)
                features[i].properties["distance_m"] = nil
            }
            pages.append(FeaturePage(features: features, next: nil).geoJSON)
            guard let next = page.next else { break }
            query.after = next
        }
        return (pages, distances)
    }

    @Test("items pages walk alike forwards and back, with a box and a field, and count alike", arguments: others)
    func itemsAgree(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        var query = ItemsQuery(layer: .listings, limit: try Limit(40))
        query.bbox = try BBox(parsing: "9.0,48.0,9.06,48.04")
        query.equals = [(Layer.listings.field(named: "status")!, .text("active"))]
        var pages = 0
        while true {
            let e = try await reference.items(query), a = try await store.items(query)
            #expect(a.featuresGeoJSON == e.featuresGeoJSON && a.hasNext == e.hasNext && a.hasPrev == e.hasPrev)
            // SpatiaLite leaves out a count that would cost it a scan (a field filter); where it counts, both do alike.
            if let matched = e.numberMatched { #expect(a.numberMatched == matched) }
            pages += 1
            guard e.hasNext, let last = e.lastFid else { break }
            query.afterFid = last
        }
        #expect(pages > 2)
        query.afterFid = nil
        query.beforeFid = 2000
        let e = try await reference.items(query), a = try await store.items(query)
        #expect(a.featuresGeoJSON == e.featuresGeoJSON && a.hasPrev == e.hasPrev)
    }
}
