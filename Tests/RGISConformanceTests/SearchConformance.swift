import Foundation
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Radius, bbox, polygon and district reads (``FeatureStore``) on real data, on every backend.
@Suite("Conformance: searches on real data")
struct SearchConformance {
    let berlin = try! Centre(lon: 13.42, lat: 52.54)

    @Test("paging a radius query walks the whole result without repeat or gap, nearest first within the radius, and a page reads the same twice",
          arguments: Backends.all)
    func radiusPaging(backend: Backend) async throws {
        let store = try await RealData.shared.store(backend)
        let full = try await store.radius(RadiusQuery(centre: berlin, radius: RadiusMetres(800), limit: Limit(10_000)))
        #expect(full.next == nil)
        #expect(full.features.count > 50)
        var walked: [String] = []
        var query = RadiusQuery(centre: berlin, radius: try RadiusMetres(800), limit: try Limit(7))
        var pages = 0
        while true {
            let page = try await store.radius(query)
            let again = try await store.radius(query)
            #expect(page.features.map(\.id) == again.features.map(\.id))
            walked += page.features.map(\.id)
            pages += 1
            guard let next = page.next else { break }
            query.after = try PageCursor(parsing: next.token)
        }
        #expect(walked == full.features.map(\.id))
        #expect(pages == (full.features.count + 6) / 7)
        let distances = full.features.compactMap { $0.properties["distance_m"]?.number }
        #expect(distances == distances.sorted())
        #expect(distances.last! <= 800)
    }

    @Test("the same radius with and without a filter agrees on what passes the filter, at every distance", arguments: Backends.all)
    func radiusFilterAgrees(backend: Backend) async throws {
        let store = try await RealData.shared.store(backend)
        var query = RadiusQuery(centre: berlin, radius: try RadiusMetres(1500), limit: try Limit(10_000))
        let all = try await store.radius(query)
        query.filter.priceMin = 60
        query.filter.priceMax = 120
        query.filter.bedroomsMin = 2
        let some = try await store.radius(query)
        #expect(!some.features.isEmpty && some.features.count < all.features.count)
        for f in some.features {
            let price = f.properties["list_price"]?.number ?? -1
            #expect(price >= 60 && price <= 120)
            #expect((f.properties["bedrooms"]?.number ?? 0) >= 2)
        }
        // The filtered answer is the unfiltered one, filtered: same ids, same order, same distances.
        let expected = all.features.filter { f in
            let price = f.properties["list_price"]?.number ?? -1
            return price >= 60 && price <= 120 && (f.properties["bedrooms"]?.number ?? 0) >= 2
        }
        #expect(some.features.map(\.id) == expected.map(\.id))
        #expect(some.features.map { $0.properties["distance_m"] } == expected.map { $0.properties["distance_m"] })
        query.filter = ListingFilter()
        query.filter.propertyTypes = [.house]
        #expect(try await store.radius(query).features.isEmpty, "the Berlin data has no property types")
    }

    @Test("nearest answers the first k of the radius search that holds them, near the data and far from it, with a filter too",
          arguments: Backends.all)
    func nearestIsTheRadiusPrefix(backend: Backend) async throws {
        let store = try await RealData.shared.store(backend)
        func ranked(_ page: FeaturePage) -> [String] {
            page.features.map { "\($0.id) \($0.properties["distance_m"]?.number ?? -1)" }
        }
        let circle = try await store.radius(RadiusQuery(centre: berlin, radius: RadiusMetres(800), limit: Limit(10_000)))
        #expect(circle.features.count > 30)
        let near = try await store.nearest(NearestQuery(centre: berlin, k: Limit(30)))
        #expect(near.next == nil)
        #expect(ranked(near) == Array(ranked(circle).prefix(30)))
        // 300 km from Berlin: the nearest are a whole city away, found all the same.
        let far = NearestQuery(centre: try Centre(lon: 9.0, lat: 50.5), k: try Limit(5))
        let farPage = try await store.nearest(far)
        let farCircle = try await store.radius(far.within(RadiusMetres(widening: 1_000_000)))
        #expect(farPage.features.count == 5)
        #expect(ranked(farPage) == ranked(farCircle))
        #expect(farPage.features.allSatisfy { ($0.properties["distance_m"]?.number ?? 0) > 250_000 })
        // A filter that few pass: the nearest of those, not the nearest filtered afterwards.
        var cheap = NearestQuery(centre: berlin, k: try Limit(10))
        cheap.filter.priceMax = 40
        var cheapCircle = RadiusQuery(centre: berlin, radius: try RadiusMetres(100_000), limit: try Limit(10))
        cheapCircle.filter.priceMax = 40
        let cheapPage = try await store.nearest(cheap)
        #expect(cheapPage.features.count == 10)
        #expect(ranked(cheapPage) == ranked(try await store.radius(cheapCircle)))
    }

    @Test("paging a bbox query walks the whole result", arguments: Backends.all)
    func bboxPaging(backend: Backend) async throws {
        let store = try await RealData.shared.store(backend)
        let box = try BBox(parsing: "13.41,52.53,13.43,52.55")
        let full = try await store.bbox(BBoxQuery(bbox: box, limit: Limit(10_000)))
        var query = BBoxQuery(bbox: box, limit: try Limit(50))
        var walked: [String] = []
        while true {
            let page = try await store.bbox(query)
            walked += page.features.map(\.id)
            guard let next = page.next else { break }
            query.after = next
        }
        #expect(walked == full.features.map(\.id))
        #expect(walked.count > 200)
    }

    @Test("polygon queries on parcels: a plot intersects itself, and is the only plot within itself", arguments: Backends.all)
    func polygonLayers(backend: Backend) async throws {
        let store = try await RealData.shared.store(backend)
        var plotsQuery = BBoxQuery(bbox: try BBox(parsing: "14.39,50.09,14.42,50.11"), limit: try Limit(10_000))
        plotsQuery.layer = .parcels
        let plots = try await store.bbox(plotsQuery)
        #expect(plots.features.count == 407)
        let first = try #require(plots.features.first)
        let area = try SearchArea(geoJSON: JSONValue.parse(Array(first.geometryGeoJSON.utf8)))
        var query = PolygonQuery(area: area, limit: try Limit(100))
        query.layer = .parcels
        let touching = try await store.polygon(query)
        #expect(touching.features.contains { $0.id == first.id })
        query.predicate = .within
        #expect(try await store.polygon(query).features.map(\.id) == [first.id])
    }

    @Test("district lookups: by point, by id, listings inside; unknown ids are not found", arguments: Backends.all)
    func districts(backend: Backend) async throws {
        let store = try await RealData.shared.store(backend)
        let westminster = try await store.districts(containing: Position(lon: -0.1357, lat: 51.4975))
        #expect(westminster.features.map(\.id) == ["E09000033"])
        #expect(try await store.districts(containing: Position(lon: 13.42, lat: 52.54)).features.isEmpty)
        let district = try await store.district(id: "E09000033")
        #expect(district.features.first?.properties["name"] == .string("Westminster"))
        let stations = try await store.listings(inDistrict: "E09000033", filter: ListingFilter(), limit: Limit(10_000), after: nil)
        #expect(stations.features.count > 50)
        let unknown = await #expect(throws: RGISError.self) { try await store.district(id: "nowhere") }
        #expect(unknown?.code == .notFound)
        let unknownListings = await #expect(throws: RGISError.self) {
            try await store.listings(inDistrict: "nowhere", filter: ListingFilter(), limit: Limit(10), after: nil)
        }
        #expect(unknownListings?.code == .notFound)
    }

    @Test("an invalid search polygon is refused naming GEOS's reason", arguments: Backends.all)
    func invalidPolygon(backend: Backend) async throws {
        let store = try await RealData.shared.store(backend)
        let bowtie = Geometry.polygon([[Position(lon: 13.40, lat: 52.52), Position(lon: 13.41, lat: 52.53), Position(lon: 13.41, lat: 52.52),
                                        Position(lon: 13.40, lat: 52.53), Position(lon: 13.40, lat: 52.52)]])
        let error = await #expect(throws: RGISError.self) { try await store.polygon(PolygonQuery(area: SearchArea(bowtie), limit: Limit(10))) }
        #expect(error?.description.contains("Self-intersection") == true, "\(String(describing: error))")
    }

    @Test("districts sharing an edge hold each listing on it once: placed where its district covers it, the district stored first on a tie, by a bulk import and by a row written alone; locate and a district's listings follow the same rule",
          arguments: Backends.all)
    func sharedEdges(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try Data(#"""
            {"type":"FeatureCollection","features":[
            {"type":"Feature","id":"East","properties":{"level":"district"},"geometry":{"type":"Polygon","coordinates":[[[9.01,48.0],[9.02,48.0],[9.02,48.01],[9.01,48.01],[9.01,48.0]]]}},
            {"type":"Feature","id":"West","properties":{"level":"district"},"geometry":{"type":"Polygon","coordinates":[[[9.0,48.0],[9.01,48.0],[9.01,48.01],[9.0,48.01],[9.0,48.0]]]}}]}
            """#.utf8).write(to: URL(fileURLWithPath: dir.path("districts.geojson")))
        try Data("id,lon,lat,status\nedge,9.01,48.005,active\ncorner,9.01,48.0,active\nwest,9.005,48.005,active\nouter,9.0,48.005,active\noutside,9.03,48.005,active\n".utf8)
            .write(to: URL(fileURLWithPath: dir.path("bulk.csv")))
        try Data("id,lon,lat,status\nalone,9.01,48.01,active\n".utf8).write(to: URL(fileURLWithPath: dir.path("alone.csv")))
        _ = try await store.importFeatures(from: dir.path("districts.geojson"), options: ImportOptions(layer: .districts), progress: nil)
        _ = try await store.importFeatures(from: dir.path("bulk.csv"), options: ImportOptions(layer: .listings), progress: nil)
        var alone = ImportOptions(layer: .listings)
        alone.upsert = true  // row by row, through the store's record writer and its trigger
        _ = try await store.importFeatures(from: dir.path("alone.csv"), options: alone, progress: nil)

        func located(_ lon: Double, _ lat: Double) async throws -> [String] {
            try await store.districts(containing: Position(lon: lon, lat: lat)).features.map(\.id)
        }
        #expect(try await located(9.01, 48.005) == ["East"])
        #expect(try await located(9.01, 48.0) == ["East"])
        #expect(try await located(9.005, 48.005) == ["West"])
        #expect(try await located(9.0, 48.005) == ["West"], "the outer edge of a district is its own")
        #expect(try await located(9.03, 48.005) == [])
        func listed(_ id: String) async throws -> [String] {
            try await store.listings(inDistrict: id, filter: ListingFilter(), limit: Limit(100), after: nil).features.map(\.id).sorted()
        }
        #expect(try await listed("East") == ["alone", "corner", "edge"])
        #expect(try await listed("West") == ["outer", "west"])
        #expect(try await store.check(maxPerLayer: 10).isEmpty)
    }
}
