import Foundation
import Testing
import RGISCore
import RGISQuery
import RGISStore
import RGISTesting

/// What the unmet-demand table reads (``FeatureStore/unmetDemandInputs(level:)``), on every backend:
/// each active demand's grade against the plain rules worked out here from the exported shapes, and
/// the grade following the writes of a demand and of listings.
@Suite("Conformance: unmet demand")
struct UnmetConformance {
    /// The plain grade of a demand: 2 when an active listing inside its area fits without the stretch,
    /// 1 when one fits only with it, 0 when none does.
    static func grade(_ area: MatchingConformance.Area, _ listings: [(Position, ListingFacts)]) -> FitGrade {
        var best = FitGrade.unmet
        for (p, facts) in listings where area.contains(p) {
            if fits(area.properties, facts, stretch: 0) { return .served }
            if fits(area.properties, facts, stretch: 0.1) { best = .nearFitOnly }
        }
        return best
    }

    static func fits(_ d: [String: JSONValue], _ l: ListingFacts, stretch: Double) -> Bool {
        if let types = d["property_types"]?.stringValue?.split(separator: ",").map(String.init), let type = l.propertyType, !types.contains(type) { return false }
        if let minimum = d["bedrooms_min"]?.number, let bedrooms = l.bedrooms, Double(bedrooms) < minimum { return false }
        if let budget = d["budget_max"]?.number, let price = l.price, !(price <= budget * (1 + stretch)) { return false }
        if let minimum = d["area_min_m2"]?.number, let area = l.livingAreaM2, !(area >= minimum * (1 - stretch)) { return false }
        if let maximum = d["area_max_m2"]?.number, let area = l.livingAreaM2, !(area <= maximum * (1 + stretch)) { return false }
        return true
    }

    static func activeListings(_ store: any Store) async throws -> [(Position, ListingFacts)] {
        try await store.allListings().filter { $0.properties["status"] == .string("active") }
            .map { (try Shapes.point($0), MatchingConformance.facts($0)) }
    }

    static func grades(_ store: any Store) async throws -> [String: FitGrade] {
        Dictionary(uniqueKeysWithValues: try await store.unmetDemandInputs(level: .city).demands.map { ($0.id, $0.grade) })
    }

    @Test("every active demand of the demo city is served, served only by a near fit, or unmet exactly as its area and criteria say, and is placed once per level",
          arguments: Backends.all)
    func gradesFollowTheRules(backend: Backend) async throws {
        let store = try await MatchingCity.shared.store(backend).store
        let listings = try await Self.activeListings(store)
        let areas = try await MatchingConformance.activeAreas(store)
        let got = try await Self.grades(store)
        #expect(got.count == areas.count)
        var seen: [FitGrade: Int] = [:]
        for area in areas {
            let want = Self.grade(area, listings)
            #expect(got[area.id] == want, "\(area.id)")
            seen[want, default: 0] += 1
        }
        // The demo city has all three kinds, in numbers.
        #expect(seen[.served, default: 0] > 300 && seen[.nearFitOnly, default: 0] > 50 && seen[.unmet, default: 0] > 100, "\(seen)")
        for level in DistrictLevel.allCases {
            let inputs = try await store.unmetDemandInputs(level: level)
            #expect(inputs.demands.count == areas.count, "\(level)")
            #expect(inputs.listings.count == listings.count, "\(level)")
            let fids = Set(inputs.districts.map(\.fid))
            #expect(inputs.demands.allSatisfy { fids.contains($0.district) } && inputs.listings.allSatisfy { fids.contains($0.district) })
        }
    }

    @Test("a demand's grade follows its budget and the listings written in its area: unmet, then near fit only, then served, then unmet again",
          arguments: Backends.all)
    func gradeFollowsWrites(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let demand = MatchingConformance.demand
        let budget = try JSONValue.parse(Array(#"{"properties":{"budget_min":1000,"budget_max":1000}}"#.utf8))
        _ = try await store.change(.demand, id: demand, .mergePatch(budget), condition: WriteCondition())
        #expect(try await Self.grades(store)[demand] == .unmet)
        // 5 % over the budget: within the stretch only.
        _ = try await store.create(.listing, MatchingConformance.listing("X1", price: 1050), owner: nil, client: nil, idempotency: nil)
        #expect(try await Self.grades(store)[demand] == .nearFitOnly)
        _ = try await store.create(.listing, MatchingConformance.listing("X2", price: 990), owner: nil, client: nil, idempotency: nil)
        #expect(try await Self.grades(store)[demand] == .served)
        // Sold, and the other one withdrawn: nothing fits.
        for (id, status) in [("X2", "closed"), ("X1", "withdrawn")] {
            let patch = try JSONValue.parse(Array(#"{"properties":{"status":"\#(status)"}}"#.utf8))
            _ = try await store.change(.listing, id: id, .mergePatch(patch), condition: WriteCondition())
        }
        #expect(try await Self.grades(store)[demand] == .unmet)
        // A listing far outside the area fits every criterion and changes nothing.
        _ = try await store.create(.listing, MatchingConformance.listing("X3", at: Position(lon: 9.3, lat: 48.2), price: 990),
                                   owner: nil, client: nil, idempotency: nil)
        #expect(try await Self.grades(store)[demand] == .unmet)
    }
}
