import Foundation
import Testing
import RGISCore
import RGISFiles
import RGISQuery
import RGISStore
import RGISTesting

/// The demo city with contact data written for every client (what a match must never show), once per
/// backend, shared by the tests that only read it.
actor MatchingCity {
    static let shared = MatchingCity()
    private var made: [String: Task<(store: any Store, contacts: Int), any Error>] = [:]
    private var directories: [TemporaryDirectory] = []

    /// The store, and how many clients hold the contact data.
    func store(_ backend: Backend) async throws -> (store: any Store, contacts: Int) {
        if let made = made[backend.name] { return try await made.value }
        let directory = try Fixtures.temporaryDirectory()
        directories.append(directory)
        let task = Task<(store: any Store, contacts: Int), any Error> {
            let store = try await backend.demoCity(in: directory, "matching")
            let contact = try JSONValue.parse(Array(#"{"contact":{"name":"Secret Name","phone":"+49 555 0100","email":"secret@example.org"}}"#.utf8))
            var after: String?
            while true {
                let page = try await store.clients(agent: nil, limit: 500, after: after)
                guard let last = page.last else { break }
                for client in page {
                    _ = try await store.change(.client, id: client.id, .mergePatch(contact), condition: WriteCondition())
                }
                after = last.id
            }
            var contacts = 0
            after = nil
            while true {
                let page = try await store.clients(agent: nil, limit: 500, after: after)
                guard let last = page.last else { break }
                contacts += page.filter { $0.wholeJSON["contact"]?["name"]?.stringValue == "Secret Name" }.count
                after = last.id
            }
            return (store, contacts)
        }
        made[backend.name] = task
        return try await task.value
    }
}

/// Client → listings and listing → clients matching (``FeatureStore/listingsFitting(demand:)``,
/// ``FeatureStore/demandsFitting(_:at:reach:beyond:)``) through the query engine, and the district
/// indicators, on every backend: each answer against containment and the demand's criteria worked
/// out here from the exported shapes.
@Suite("Conformance: matching both ways, and the district indicators")
struct MatchingConformance {
    /// A polygon demand of the demo city: apartments of 39–64 m² up to 235,000 in a box around (9.0805, 48.0337).
    static let demand = "R00002"
    static let inside = Position(lon: 9.0805, lat: 48.0337)

    /// A new listing as an HTTP write sends it.
    static func listing(_ id: String, at p: Position = inside, price: Double = 200_000) throws -> JSONValue {
        try JSONValue.parse(Array("""
            {"type":"Feature","id":"\(id)","geometry":{"type":"Point","coordinates":[\(p.lon),\(p.lat)]},
             "properties":{"status":"active","property_type":"apartment","list_price":\(price),"living_area_m2":50,"bedrooms":2,"agent":"agent-08"}}
            """.utf8))
    }

    /// What matching reads of a stored listing.
    static func facts(_ feature: StoredFeature) -> ListingFacts {
        ListingFacts(price: feature.properties["list_price"]?.number, livingAreaM2: feature.properties["living_area_m2"]?.number,
                     bedrooms: feature.properties["bedrooms"]?.number.map { Int($0) }, propertyType: feature.properties["property_type"]?.stringValue)
    }

    /// A demand's search area and criteria as its export shows them, with the plain rules of a fit:
    /// the point inside the area (not on its boundary, as `ST_Contains` reads it), and each criterion
    /// the listing has a value for met with the 10 % stretch.
    struct Area {
        let id: String
        let properties: [String: JSONValue]
        let shape: Geometry
        let west: Double, south: Double, east: Double, north: Double

        init(_ feature: JSONValue) throws {
            guard let id = feature["id"]?.identifierText else { throw RGISError(.malformedInput, "a demand without id") }
            self.id = id
            properties = feature["properties"]?.objectValue ?? [:]
            shape = try Shapes.geometry(feature)
            let positions = Shapes.polygons(shape).flatMap { $0.flatMap { $0 } }
            west = positions.map(\.lon).min() ?? 0
            east = positions.map(\.lon).max() ?? 0
            south = positions.map(\.lat).min() ?? 0
            north = positions.map(\.lat).max() ?? 0
        }

        func contains(_ p: Position) -> Bool {
            p.lon >= west && p.lon <= east && p.lat >= south && p.lat <= north && Shapes.contains(shape, p) && !onBoundary(p)
        }

        func onBoundary(_ p: Position) -> Bool {
            for rings in Shapes.polygons(shape) {
                for ring in rings {
                    for (a, b) in zip(ring, ring.dropFirst()) {
                        let cross: Double = (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon)
                        guard cross == 0 else { continue }
                        let alongLon = min(a.lon, b.lon) <= p.lon && p.lon <= max(a.lon, b.lon)
                        let alongLat = min(a.lat, b.lat) <= p.lat && p.lat <= max(a.lat, b.lat)
                        if alongLon && alongLat { return true }
                    }
                }
            }
            return false
        }

        func admits(_ listing: ListingFacts) -> Bool {
            let types: [String]? = switch properties["property_types"] {
            case .string(let s)?: s.split(separator: ",").map(String.init)
            case .array(let a)?: a.compactMap(\.stringValue)
            default: nil
            }
            if let types, let type = listing.propertyType, !types.contains(type) { return false }
            if let minimum = properties["bedrooms_min"]?.number, let bedrooms = listing.bedrooms, Double(bedrooms) < minimum { return false }
            if let budget = properties["budget_max"]?.number, let price = listing.price, !(price <= budget * 1.1) { return false }
            if let minimum = properties["area_min_m2"]?.number, let area = listing.livingAreaM2, !(area >= minimum * 0.9) { return false }
            if let maximum = properties["area_max_m2"]?.number, let area = listing.livingAreaM2, !(area <= maximum * 1.1) { return false }
            return true
        }
    }

    /// The active demands, as exported.
    static func activeAreas(_ store: any Store) async throws -> [Area] {
        try await store.exportedFeatures(.demands).filter { $0["properties"]?["status"]?.stringValue == "active" }.map { try Area($0) }
    }

    /// Boroughs and 400 m circles around the cycle-hire stations as demands, the stations as listings.
    static func london(_ backend: Backend, in dir: TemporaryDirectory) async throws -> any Store {
        let store = try await backend.emptyStore(in: dir, "london")
        try await store.loadShared("london/boroughs.geojson", into: .demands, idField: "GSS_CODE")
        try await store.loadShared("london/cycle_hire.geojson", into: .demands, radiusMetres: 400)
        try await store.loadShared("london/cycle_hire.geojson", into: .listings)
        return store
    }

    @Test("client → listings: every result fits, is inside the area, and the ranking follows the score", arguments: Backends.all)
    func clientToListings(backend: Backend) async throws {
        let engine = QueryEngine(try await MatchingCity.shared.store(backend).store)
        let page = try await engine.listings(matchingDemand: "R00050", limit: Limit(10_000))
        #expect(page.features.count > 10)
        let scores = page.features.compactMap { $0.properties["score"]?.number }
        #expect(scores == scores.sorted(by: >))
        #expect(scores.allSatisfy { $0 >= 0 && $0 <= 100 })
        for f in page.features {
            #expect(f.properties["status"] == .string("active"))
            let reasons = try #require(f.properties["reasons"]?.arrayValue)
            #expect(reasons.first == .string("inside the search area"))
        }
        let limited = try await engine.listings(matchingDemand: "R00050", limit: Limit(3))
        #expect(limited.features.map(\.id) == Array(page.features.prefix(3).map(\.id)))
    }

    @Test("listing → clients: demands that hold the listing, with agent and client id and no contact data", arguments: Backends.all)
    func listingToClients(backend: Backend) async throws {
        let (store, contacts) = try await MatchingCity.shared.store(backend)
        let engine = QueryEngine(store)
        let best = try #require(try await engine.listings(matchingDemand: "R00001", limit: Limit(1)).features.first)
        #expect(contacts > 100, "the fixture must hold contact data for a leak to show")
        let page = try await engine.demands(matchingListing: best.id)
        #expect(page.features.contains { $0.id == "R00001" })
        let text = page.geoJSON
        for secret in ["Secret Name", "+49 555", "secret@example.org", "phone", "email"] {
            #expect(!text.contains(secret))
        }
        for f in page.features {
            #expect(f.properties["client_id"] != nil && f.properties["agent"] != nil)
            #expect(f.properties["status"] == .string("active"))
        }
    }

    @Test("a new listing given as GeoJSON matches like the stored one at the same place with the same facts", arguments: Backends.all)
    func newListing(backend: Backend) async throws {
        let engine = QueryEngine(try await MatchingCity.shared.store(backend).store)
        let stored = try #require(try await engine.listings(matchingDemand: "R00001", limit: Limit(1)).features.first)
        var properties = stored.properties
        for key in ["score", "reasons", "distance_to_centre_m"] { properties.removeValue(forKey: key) }
        let feature = JSONValue.object([
            "type": .string("Feature"),
            "geometry": try JSONValue.parse(Array(stored.geometryGeoJSON.utf8)),
            "properties": .object(properties),
        ])
        let fresh = try await engine.demands(matchingNewListing: feature)
        let existing = try await engine.demands(matchingListing: stored.id)
        #expect(fresh.features.map(\.id) == existing.features.map(\.id))
        let noGeometry = await #expect(throws: RGISError.self) {
            try await engine.demands(matchingNewListing: .object(["type": .string("Feature"), "geometry": .null, "properties": .object([:])]))
        }
        #expect(noGeometry?.code == .invalidValue)
        let noListing = await #expect(throws: RGISError.self) { try await engine.demands(matchingListing: "no-such-listing") }
        #expect(noListing?.code == .notFound)
        let noDemand = await #expect(throws: RGISError.self) { try await engine.listings(matchingDemand: "no-such-demand", limit: Limit(10)) }
        #expect(noDemand?.code == .notFound)
    }

    @Test("both directions give every pair the same score", arguments: Backends.all)
    func symmetricScores(backend: Backend) async throws {
        let engine = QueryEngine(try await MatchingCity.shared.store(backend).store)
        var pairs = 0
        for demand in ["R00001", "R00002", "R00003", "R00004", "R00005", "R00010", "R00015", "R00020", "R00030", "R00040", "R00050"] {
            let listings = try await engine.listings(matchingDemand: demand, limit: Limit(5))
            for listing in listings.features {
                let reverse = try await engine.demands(matchingListing: listing.id)
                let match = try #require(reverse.features.first { $0.id == demand }, "\(listing.id) fits \(demand) one way only")
                #expect(match.properties["score"] == listing.properties["score"], "\(demand) × \(listing.id)")
                #expect(match.properties["reasons"] == listing.properties["reasons"], "\(demand) × \(listing.id)")
                pairs += 1
            }
        }
        #expect(pairs >= 20)
    }

    @Test("at every London cycle-hire station the reverse match holds exactly the active demands whose area contains it, each once, and the best few equal ranking every fit",
          arguments: Backends.all)
    func reverseMatchEqualsContainment(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await Self.london(backend, in: dir)
        let engine = QueryEngine(store)
        let areas = try await Self.activeAreas(store)
        let stations = try await store.exportedFeatures(.listings)
        #expect(stations.count == 742)
        var fits = 0
        for station in stations {
            let id = try #require(station["id"]?.identifierText)
            let p = try Shapes.point(station)
            let plain = areas.filter { $0.contains(p) }.map(\.id)
            let facts = ListingFacts(price: nil, livingAreaM2: nil, bedrooms: nil, propertyType: nil)
            let all = QueryEngine.rank(try await store.demandsFitting(facts, at: p, reach: .everywhere), facts, at: p)
            #expect(Set(all.map(\.fit.id)) == Set(plain), "station \(id)")
            #expect(all.count == plain.count, "station \(id): a demand read twice")
            let page = try await engine.demands(matchingListing: id, limit: 5)
            #expect(page.features.map(\.id) == all.prefix(5).map(\.fit.id), "station \(id)")
            #expect(page.numberMatched == plain.count)
            fits += plain.count
        }
        // Every station lies in its own circle and in a borough, most in several circles.
        #expect(fits > 742 * 3)
    }

    @Test("the reverse match follows every write of a demand (a budget raised, a withdrawal), and equals containment with the demand's criteria",
          arguments: Backends.all)
    func reverseMatchFollowsDemandWrites(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let engine = QueryEngine(store)
        // Over R00002's 235,000 + 10 %.
        _ = try await store.create(.listing, Self.listing("X1", price: 270_000), owner: nil, client: nil, idempotency: nil)
        #expect(try await engine.demands(matchingListing: "X1", limit: 1000).features.contains { $0.id == Self.demand } == false)
        let patch = try JSONValue.parse(Array(#"{"properties":{"budget_max":300000}}"#.utf8))
        _ = try await store.change(.demand, id: Self.demand, .mergePatch(patch), condition: WriteCondition())
        #expect(try await engine.demands(matchingListing: "X1", limit: 1000).features.contains { $0.id == Self.demand })
        try await store.delete(.demand, id: Self.demand, condition: WriteCondition())
        #expect(try await engine.demands(matchingListing: "X1", limit: 1000).features.contains { $0.id == Self.demand } == false)

        // Every seventh stored listing of the demo city (in storage order) against every demand: the
        // reverse match is the plain test of area and criteria.
        let areas = try await Self.activeAreas(store)
        var compared = 0
        let listings = try await store.allListings()
        for (i, listing) in listings.enumerated() where (i + 1) % 7 == 0 {
            let p = try Shapes.point(listing)
            let page = try await engine.demands(matchingListing: listing.id, limit: 1000)
            let facts = Self.facts(listing)
            let plain = areas.filter { $0.contains(p) && $0.admits(facts) }.map(\.id)
            #expect(Set(page.features.map(\.id)) == Set(plain), "\(listing.id)")
            #expect(page.numberMatched == plain.count)
            compared += plain.count
        }
        #expect(compared > 100)
    }

    /// The best few, read near the centres first, are exactly the best few of every fit (same
    /// demands, same order, same scores); and on the demo city many answers settle before reading
    /// everything.
    @Test("the best few, read near the centres ring by ring, are the best few of every fit, and many answers settle early",
          arguments: Backends.all)
    func bestFewReadNearTheCentres(backend: Backend) async throws {
        let store = try await MatchingCity.shared.store(backend).store
        let engine = QueryEngine(store)
        let stored = try await store.allListings()
        let listings = stored.enumerated()
            .filter { ($0.offset + 1) % 3 == 0 && $0.element.properties["status"] == .string("active") }.map { $0.element }
        var early = 0, compared = 0
        for listing in listings {
            let p = try Shapes.point(listing)
            let facts = Self.facts(listing)
            let all = QueryEngine.rank(try await store.demandsFitting(facts, at: p, reach: .everywhere), facts, at: p)
            var rings: [Int64] = [], read: FitReach? = nil
            for reach in FitReach.rounds {
                let near = try await store.demandsFitting(facts, at: p, reach: reach).map(\.fid)
                #expect(Set(near).isSubset(of: Set(all.map(\.fit.fid))), "\(listing.id) \(reach) read a demand that does not fit")
                // Read ring by ring, each once: together the same as the whole reach at once.
                rings += try await store.demandsFitting(facts, at: p, reach: reach, beyond: read).map(\.fid)
                #expect(rings.sorted() == near.sorted(), "\(listing.id) rings up to \(reach)")
                read = reach
            }
            // And a jump from the first round straight to everywhere.
            let jumped = try await store.demandsFitting(facts, at: p, reach: FitReach.rounds[0]).map(\.fid)
                + (try await store.demandsFitting(facts, at: p, reach: .everywhere, beyond: FitReach.rounds[0]).map(\.fid))
            #expect(jumped.sorted() == all.map(\.fit.fid).sorted())
            for k in [1, 3, 8] {
                let page = try await engine.demands(matchingListing: listing.id, limit: k)
                #expect(page.features.map(\.id) == all.prefix(k).map(\.fit.id), "\(listing.id) best \(k)")
                #expect(page.features.map { $0.properties["score"]?.number } == all.prefix(k).map(\.score))
                if let n = page.numberMatched { #expect(n == all.count) } else { early += 1 }
                compared += 1
            }
        }
        #expect(compared > 300 && early > compared / 10, "\(early) of \(compared) settled early")
    }

    @Test("indicators: one feature per district of the level, figures withheld below 5 records", arguments: Backends.all)
    func indicators(backend: Backend) async throws {
        let engine = QueryEngine(try await MatchingCity.shared.store(backend).store)
        let options = try IndicatorOptions(level: .subdistrict, asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!)
        let page = try await engine.indicators(options)
        #expect(page.features.count == 24)
        for f in page.features {
            #expect(f.geometryGeoJSON.contains("MultiPolygon"))
            let suppressed = try #require(f.properties["suppressed"]?.arrayValue)
            for case .string(let key) in suppressed { #expect(f.properties[key] == .null) }
            if let n = f.properties["active_listings"]?.number { #expect(n == 0 || n >= 5) }
        }
    }

    @Test("a district with 3 listings has its supply figures withheld, and the ratio with them", arguments: Backends.all)
    func smallNumbers(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let square = #"{"type":"Polygon","coordinates":[[[9,48],[9.01,48],[9.01,48.01],[9,48.01],[9,48]]]}"#
        let district = try dir.write("d.geojson", #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"small","geometry":\#(square),"properties":{"level":"district"}}]}"#)
        _ = try await store.importFeatures(from: district, options: ImportOptions(layer: .districts))
        let listings = (0..<3).map { i in
            #"{"type":"Feature","id":"l\#(i)","geometry":{"type":"Point","coordinates":[9.00\#(i + 1),48.005]},"properties":{"list_price":300000,"living_area_m2":60,"list_date":"2026-10-01"}}"#
        }.joined(separator: ",")
        let file = try dir.write("l.geojson", #"{"type":"FeatureCollection","features":[\#(listings)]}"#)
        _ = try await store.importFeatures(from: file, options: ImportOptions(layer: .listings))
        let page = try await QueryEngine(store).indicators(IndicatorOptions(asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!))
        let f = try #require(page.features.first)
        #expect(f.properties["active_listings"] == .null)
        #expect(f.properties["median_price_per_m2"] == .null)
        #expect(f.properties["active_demands"] == .int(0))
        #expect(f.properties["suppressed"] == .array(["active_listings", "demand_supply_ratio", "long_unsold_floor_area_m2", "long_unsold_listings", "long_unsold_share", "median_days_on_market", "median_price_per_m2", "vacant_floor_area_m2"].map(JSONValue.string)))
    }
}
