import Foundation
import RGISCore
import RGISStore
import RGISTesting
import Testing
@testable import RGISQuery

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
            try await store.loadDemoCity()
            stores[backend.name] = store
            return store
        }
    }

    static var others: [Backend] { Backends.all.filter { $0.name != Backend.spatiaLite.name } }

    @Test("every layer exports alike as GeoJSON and CSV; parcels' computed areas agree within a millionth of a square metre per 100 m²", arguments: others)
    func exportsAgree(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        for layer in Layer.allCases where layer != .parcels {
            for format in [TextExportFormat.geojson, .csv] {
                let expected = try await reference.exportedText(layer, bbox: nil, format: format).text
                let answered = try await store.exportedText(layer, bbox: nil, format: format).text
                #expect(answered == expected, "\(layer) \(format)")
            }
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

    @Test("items pages walk alike forwards and back, with a box alone and with a field too, and count alike", arguments: others)
    func itemsAgree(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        // A box alone is paged by the point index on PostGIS; with a field, by the geometry's.
        for withField in [true, false] {
            var query = ItemsQuery(layer: .listings, limit: try Limit(40))
            query.bbox = try BBox(parsing: "9.0,48.0,9.06,48.04")
            if withField { query.equals = [(Layer.listings.field(named: "status")!, .text("active"))] }
            var pages = 0
            while true {
                let e = try await reference.items(query), a = try await store.items(query)
                #expect(a.featuresGeoJSON == e.featuresGeoJSON && a.hasNext == e.hasNext && a.hasPrev == e.hasPrev)
                // SpatiaLite leaves out a count that would cost it a scan (a field filter); where it counts, both do alike.
                if let matched = e.numberMatched { #expect(a.numberMatched == matched) }
                if !withField { #expect(e.numberMatched != nil && a.numberMatched != nil) }
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

    @Test("records written alike read back alike: a listing with private fields, a client with contact data, a demand drawn as a circle around a point; their changes and a withdrawal log the same events",
          arguments: Backends.all.filter { $0.name != Backend.spatiaLite.name })
    func recordsAgree(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let stores = [try await Backend.spatiaLite.emptyStore(in: dir, "records"), try await backend.emptyStore(in: dir, "records")]
        func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }
        var answers: [[JSONValue]] = [[], []]
        var events: [[String]] = [[], []]
        for (i, store) in stores.enumerated() {
            let listing = try await store.create(.listing, try json("""
                {"type":"Feature","geometry":{"type":"Point","coordinates":[9.0512345678,48.0298765432]},
                 "properties":{"list_price":315000,"living_area_m2":72.5,"bedrooms":3,"property_type":"apartment","status":"active",
                 "address":"Mühlweg 3","private_remarks":"keys with the neighbour","heating":"gas"}}
                """), owner: "agent-01", client: nil, idempotency: nil)
            let client = try await store.create(.client, try json(#"{"contact":{"name":"Ana Müller","email":"ana@example.org"},"age_band":"25-34"}"#),
                                                owner: "agent-01", client: nil, idempotency: nil)
            let demand = try await store.create(.demand, try json("""
                {"type":"Feature","geometry":{"type":"Point","coordinates":[9.06,48.03]},
                 "properties":{"budget_max":400000,"radius_m":750,"property_types":"apartment,house","bedrooms_min":2}}
                """), owner: "agent-01", client: client.id, idempotency: nil)
            _ = try await store.change(.listing, id: listing.id, .mergePatch(try json(#"{"properties":{"list_price":299000,"status":"pending"}}"#)),
                                       condition: WriteCondition(ifMatch: listing.etag, owner: "agent-01"))
            let moved = try await store.record(.listing, id: listing.id)
            _ = try await store.change(.listing, id: listing.id, .mergePatch(try json(#"{"geometry":{"type":"Point","coordinates":[9.052,48.03]}}"#)),
                                       condition: WriteCondition(ifMatch: moved.etag, owner: "agent-01"))
            try await store.delete(.demand, id: demand.id, condition: WriteCondition(ifMatch: nil, owner: "agent-01"))
            answers[i] = [try await store.record(.listing, id: listing.id).wholeJSON, try await store.record(.client, id: client.id).wholeJSON,
                          demand.json]
            // Each event with its values as they read back (a price stays a real number, a status text).
            events[i] = (try await store.events(.listings, id: listing.id) + store.events(.demands, id: demand.id)).map { event in
                [event.kind.rawValue, event.oldValue.map { "\($0)" } ?? "-", event.newValue.map { "\($0)" } ?? "-"].joined(separator: " ")
            }
        }
        // The listing and the client are the same JSON; the demand's circle is each engine's buffer, alike within a micrometre.
        #expect(answers[1][0] == answers[0][0])
        #expect(answers[1][1] == answers[0][1])
        func withoutGeometry(_ v: JSONValue) -> JSONValue {
            guard case .object(var o) = v else { return v }
            o["geometry"] = nil
            return .object(o)
        }
        #expect(withoutGeometry(answers[1][2]) == withoutGeometry(answers[0][2]))
        let ring = { (v: JSONValue) in v["geometry"]?["coordinates"]?.arrayValue?.first?.arrayValue?.first?.arrayValue ?? [] }
        let e = ring(answers[0][2]), a = ring(answers[1][2])
        #expect(e.count == a.count && e.count > 16)
        for (p, q) in zip(e.compactMap(\.arrayValue), a.compactMap(\.arrayValue)) {
            #expect(abs((p[0].number ?? 0) - (q[0].number ?? 9)) < 1e-8 && abs((p[1].number ?? 0) - (q[1].number ?? 9)) < 1e-8)
        }
        #expect(events[1] == events[0], "\(events)")
        #expect(events[0].map { $0.split(separator: " ")[0] } == ["new", "price_change", "status_change", "update", "new", "withdrawn"], "\(events)")
    }

    @Test("matching agrees both ways on the demo city: 200 demands find the same listings, and 60 listings the same demands with centroids within 1e-9° and areas within 1e-8",
          arguments: Backends.all.filter { $0.name != Backend.spatiaLite.name })
    func matchingAgrees(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        let demands = try await reference.exportedFeatures(.demands)
        var pairs = 0
        for demand in demands.prefix(200) {
            guard let id = demand["id"]?.stringValue else { continue }
            let e = try await reference.listingsFitting(demand: id), a = try await store.listingsFitting(demand: id)
            #expect(Set(a.listings.map(\.feature.id)) == Set(e.listings.map(\.feature.id)), "\(id)")
            #expect(abs(a.demand.centre.lon - e.demand.centre.lon) < 1e-9 && abs(a.demand.centre.lat - e.demand.centre.lat) < 1e-9, "\(id)")
            #expect(abs(a.demand.areaSquareMetres - e.demand.areaSquareMetres) <= e.demand.areaSquareMetres * 1e-8, "\(id)")
            pairs += e.listings.count
        }
        #expect(pairs > 100)
        let listings = try await reference.exportedFeatures(.listings)
        var fits = 0
        for listing in listings.enumerated().filter({ $0.offset % 37 == 0 }).prefix(60).map(\.element) {
            guard let coordinates = listing["geometry"]?["coordinates"]?.arrayValue, let lon = coordinates.first?.number, let lat = coordinates.last?.number,
                  let properties = listing["properties"] else { continue }
            let facts = ListingFacts(price: properties["list_price"]?.number, livingAreaM2: properties["living_area_m2"]?.number,
                                     bedrooms: properties["bedrooms"]?.number.map { Int($0) }, propertyType: properties["property_type"]?.stringValue)
            let at = Position(lon: lon, lat: lat)
            let e = try await reference.demandsFitting(facts, at: at, reach: .everywhere), a = try await store.demandsFitting(facts, at: at, reach: .everywhere)
            #expect(Set(a.map(\.id)) == Set(e.map(\.id)), "\(listing["id"]?.stringValue ?? "")")
            fits += e.count
        }
        #expect(fits > 20)
    }

    @Test("the district indicators' figures agree on the demo city at every level, two days and periods: counts alike, medians within 1e-9; so do clients by segment",
          arguments: Backends.all.filter { $0.name != Backend.spatiaLite.name })
    func indicatorsAgree(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        func close(_ a: Double?, _ b: Double?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case let (x?, y?): abs(x - y) <= max(abs(x), 1) * 1e-9
            default: false
            }
        }
        var figures = 0
        for level in DistrictLevel.allCases {
            for (day, start, threshold) in [("2026-11-23", "2025-11-23", 180), ("2026-03-01", "2026-01-01", 365)] {
                let asOf = ISODate(parsing: day)!, periodStart = ISODate(parsing: start)!
                let e = try await reference.indicatorInputs(level: level, asOf: asOf, periodStart: periodStart, unsoldThresholdDays: threshold).districts
                let a = try await store.indicatorInputs(level: level, asOf: asOf, periodStart: periodStart, unsoldThresholdDays: threshold).districts
                #expect(a.map(\.feature.id) == e.map(\.feature.id), "\(level)")
                for (x, y) in zip(e, a) {
                    let place = "\(level) \(day) \(x.feature.id)"
                    #expect(y.activeListings == x.activeListings && y.longUnsold == x.longUnsold && y.closedInPeriod == x.closedInPeriod
                            && y.activeDemands == x.activeDemands, "\(place)")
                    #expect(close(y.floorAreaM2, x.floorAreaM2) && close(y.longUnsoldFloorAreaM2, x.longUnsoldFloorAreaM2), "\(place) floor area")
                    for (m, n) in [(x.daysOnMarket, y.daysOnMarket), (x.pricePerM2, y.pricePerM2), (x.budget, y.budget)] {
                        #expect(m.count == n.count && close(m.value, n.value), "\(place): \(m) \(n)")
                    }
                    figures += x.activeListings + x.activeDemands
                }
            }
        }
        #expect(figures > 1000)
        // Clients with active demand per district, by each segment.
        var clients = 0
        for level in DistrictLevel.allCases {
            for segment in ClientSegment.allCases {
                let e = try await reference.segmentCounts(level: level, by: segment), a = try await store.segmentCounts(level: level, by: segment)
                #expect(a.districts.map(\.id) == e.districts.map(\.id))
                #expect(a.cells.map { "\($0.district) \($0.segment ?? "-") \($0.clients)" } == e.cells.map { "\($0.district) \($0.segment ?? "-") \($0.clients)" },
                        "\(level) \(segment)")
                clients += e.cells.map(\.clients).reduce(0, +)
            }
        }
        #expect(clients > 500)
    }

    @Test("the monthly series agree on the demo city with its dated history, at every level, and one district read from its kept series",
          arguments: Backends.all.filter { $0.name != Backend.spatiaLite.name })
    func seriesAgree(backend: Backend) async throws {
        let reference = QueryEngine(try await Stores.shared.store(.spatiaLite))
        let engine = QueryEngine(try await Stores.shared.store(backend))
        let from = YearMonth(parsing: "2024-12")!, to = YearMonth(parsing: "2026-11")!
        var months = 0
        for level in DistrictLevel.allCases {
            let options = try SeriesOptions(level: level, from: from, to: to)
            let e = try await reference.series(options, reusing: .none), a = try await engine.series(options, reusing: .none)
            #expect(a.json == e.json, "\(level)")
            #expect(a.csv == e.csv, "\(level)")
            months += e.districts.map(\.months.count).reduce(0, +)
        }
        #expect(months >= 24 * 10)
        let one = try SeriesOptions(level: .subdistrict, district: "D1-1", from: from, to: to)
        #expect(try await engine.series(one, reusing: .kept).json == reference.series(one, reusing: .none).json)
    }

    /// The same properties in the same order; numbers within a millionth of a unit per hundred.
    static func alike(_ a: [(String, JSONValue)], _ b: [(String, JSONValue)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            guard x.0 == y.0 else { return false }
            if let m = x.1.number, let n = y.1.number { return abs(m - n) <= max(abs(m), 100) * 1e-8 }
            return x.1 == y.1
        }
    }

    @Test("vector tiles of every layer agree at zooms 11 to 16 (geometry byte for byte, computed areas within 1e-8) over the demo city, and the map's clusters agree at zooms 10 to 17 with and without filters",
          arguments: Backends.all.filter { $0.name != Backend.spatiaLite.name })
    func tilesAgree(backend: Backend) async throws {
        let reference = try await Stores.shared.store(.spatiaLite)
        let store = try await Stores.shared.store(backend)
        let extent = try #require(try await reference.layerStatistics().first { $0.layer == .districts }?.extent?.parts.first)
        // Geometry and ids byte for byte; the properties apart (a parcel's area is computed by each backend).
        func encoded(_ features: [TileFeature]) -> [UInt8] {
            VectorTile(layers: [VectorTile.Layer(name: "t", features: features.map {
                VectorTile.Feature(id: UInt64($0.fid), geometry: $0.geometry, properties: [])
            })]).encoded()
        }
        var affordable = ListingFilter()
        affordable.priceMax = 600_000
        var active = ListingFilter()
        active.statuses = [.active]
        var tiles = 0, features = 0
        for zoom in [11, 13, 15, 16] {
            let nw = TileID.pixel(Position(lon: extent.west, lat: extent.north), zoom: zoom)
            let se = TileID.pixel(Position(lon: extent.east, lat: extent.south), zoom: zoom)
            let columns = Int(nw.x / 256)...Int(se.x / 256), rows = Int(nw.y / 256)...Int(se.y / 256)
            // Every tile at the coarser zooms; at the finest a diagonal of them, across the city.
            let ids: [(Int, Int)] = zoom < 15 ? columns.flatMap { c in rows.map { (c, $0) } }
                : zip(columns, rows).map { ($0, $1) } + zip(columns.reversed(), rows).map { ($0, $1) }
            for (column, row) in ids {
                let tile = try TileID(zoom: zoom, row: row, column: column)
                for layer in [Layer.listings, .parcels, .buildings, .districts] {
                    let filters = layer == .listings ? [ListingFilter(), affordable] : [ListingFilter()]
                    for filter in filters {
                        let query = TileQuery(layer: layer, tile: tile, filter: filter)
                        let e = try await reference.tileFeatures(query), a = try await store.tileFeatures(query)
                        #expect(a.map(\.id) == e.map(\.id), "\(layer) \(tile)")
                        #expect(encoded(a) == encoded(e), "\(layer) \(tile)")
                        for (x, y) in zip(e, a) where !Self.alike(x.properties, y.properties) {
                            Issue.record("\(layer) \(tile) \(x.id): \(x.properties) \(y.properties)")
                        }
                        tiles += 1
                        features += e.count
                    }
                }
            }
        }
        #expect(tiles > 100 && features > 5000, "\(tiles) tiles, \(features) features")
        var clusters = 0
        let quarter = try BBox.Part(west: extent.west + (extent.east - extent.west) / 4, south: extent.south + (extent.north - extent.south) / 3,
                                    east: extent.east - (extent.east - extent.west) / 5, north: extent.north - (extent.north - extent.south) / 7)
        for box in [extent, quarter] {
            for zoom in [10, 12, 14, 15, 17] {
                for cell in [32, 64] {
                    for filter in [ListingFilter(), active, affordable] {
                        let query = try ClusterQuery(box: box, zoom: zoom, cellPixels: cell, filter: filter)
                        let e = try await reference.listingClusters(query), a = try await store.listingClusters(query)
                        #expect(a == e, "\(box) z\(zoom) \(cell)px")
                        clusters += e.count
                    }
                }
            }
        }
        #expect(clusters > 1000)
    }
}
