import Foundation
import GRDB
import Testing
import RGISCore
@testable import RGISQuery
import RGISStore
import RGISTesting

/// The demo city, imported once for these tests.
final class DemoDatabase: Sendable {
    static let shared = DemoDatabase()
    let directory: TemporaryDirectory
    let database: RGISDatabase

    private init() {
        directory = try! Fixtures.temporaryDirectory()
        database = try! directory.database()
        try! database.loadDemoCity()
        // Personal data that must never come out of a match.
        let queue = try! DatabaseQueue(path: database.path)
        try! queue.write { db in
            try db.execute(sql: "INSERT INTO client_contacts (client_id, name, phone, email) SELECT id, 'Secret Name', '+49 555 0100', 'secret@example.org' FROM clients")
        }
        try! queue.close()
    }
}

@Suite("Matching and indicators")
struct MatchingTests {
    let engine = QueryEngine(DemoDatabase.shared.database)

    @Test("client → listings: every result fits, is inside the area, and the ranking follows the score")
    func clientToListings() throws {
        let page = try engine.listings(matchingDemand: "R00001", limit: Limit(10_000))
        #expect(page.features.count > 10)
        let scores = page.features.compactMap { $0.properties["score"]?.number }
        #expect(scores == scores.sorted(by: >))
        #expect(scores.allSatisfy { $0 >= 0 && $0 <= 100 })
        for f in page.features {
            #expect(f.properties["status"] == .string("active"))
            guard case .array(let reasons)? = f.properties["reasons"] else { Issue.record("no reasons"); continue }
            #expect(reasons.first == .string("inside the search area"))
        }
        let limited = try engine.listings(matchingDemand: "R00001", limit: Limit(3))
        #expect(limited.features.map(\.id) == Array(page.features.prefix(3).map(\.id)))
    }

    @Test("listing → clients: demands that hold the listing, with agent and client id and no contact data")
    func listingToClients() throws {
        let best = try #require(try engine.listings(matchingDemand: "R00001", limit: Limit(1)).features.first)
        let page = try engine.demands(matchingListing: best.id)
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

    @Test("a new listing given as GeoJSON matches like the stored one at the same place with the same facts")
    func newListing() throws {
        let stored = try #require(try engine.listings(matchingDemand: "R00001", limit: Limit(1)).features.first)
        var properties = stored.properties
        for key in ["score", "reasons", "distance_to_centre_m"] { properties.removeValue(forKey: key) }
        let feature = JSONValue.object([
            "type": .string("Feature"),
            "geometry": try JSONValue.parse(Array(stored.geometryGeoJSON.utf8)),
            "properties": .object(properties),
        ])
        let fresh = try engine.demands(matchingNewListing: feature)
        let existing = try engine.demands(matchingListing: stored.id)
        #expect(fresh.features.map(\.id) == existing.features.map(\.id))
        #expect(throws: RGISError.self) {
            try engine.demands(matchingNewListing: .object(["type": .string("Feature"), "geometry": .null, "properties": .object([:])]))
        }
        #expect(throws: RGISError.self) { try engine.demands(matchingListing: "no-such-listing") }
        #expect(throws: RGISError.self) { try engine.listings(matchingDemand: "no-such-demand", limit: Limit(10)) }
    }

    @Test("matching and indicators go through the R*Trees of listings and demand areas")
    func reverseMatchPlan() throws {
        let query = QueryEngine.listingDemandsSQL(ListingFacts(price: 500_000, livingAreaM2: 80, bedrooms: 2, propertyType: "apartment"),
                                                  at: Position(lon: 9.05, lat: 48.025))
        let details = try DemoDatabase.shared.database.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(query.sql)", arguments: query.arguments).map { $0["detail"] as String }
        }
        #expect(details.contains { $0.contains("idx_demands_geom") })
        #expect(!details.contains { $0.hasPrefix("SCAN d") })
        let forward = QueryEngine.demandListingsSQL(demandID: "R00001", box: BBox.Part(west: 9, south: 48, east: 9.01, north: 48.01))
        let forwardDetails = try DemoDatabase.shared.database.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(forward.sql)", arguments: forward.arguments).map { $0["detail"] as String }
        }
        #expect(!forwardDetails.contains { $0.hasPrefix("SCAN t") || $0.hasPrefix("SCAN demands") })
        for (name, sql) in [("indicator supply", QueryEngine.indicatorSQL.listings), ("indicator demand", QueryEngine.indicatorSQL.demands)] {
            let details = try DemoDatabase.shared.database.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(sql)", arguments: ["asOf": "2026-11-23", "level": "district"]).map { $0["detail"] as String }
            }
            #expect(!details.contains { $0.hasPrefix("SCAN l") || $0.hasPrefix("SCAN m") }, "\(name): \(details)")
            #expect(details.contains { $0.contains("idx_") }, "\(name): \(details)")
        }
    }

    @Test("indicators: one feature per district of the level, figures withheld below 5 records")
    func indicators() throws {
        let options = try IndicatorOptions(level: .subdistrict, asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!)
        let page = try engine.indicators(options)
        #expect(page.features.count == 24)
        for f in page.features {
            #expect(f.geometryGeoJSON.contains("MultiPolygon"))
            guard case .array(let suppressed)? = f.properties["suppressed"] else { Issue.record("no suppressed list"); continue }
            for case .string(let key) in suppressed { #expect(f.properties[key] == .null) }
            if let n = f.properties["active_listings"]?.number { #expect(n == 0 || n >= 5) }
        }
        #expect(throws: RGISError.self) { try IndicatorOptions.level(parsing: "county") }
        #expect(throws: RGISError.self) {
            try IndicatorOptions(asOf: ISODate(parsing: "2026-01-01")!, periodStart: ISODate(parsing: "2026-02-01")!)
        }
    }

    @Test("a district with 3 listings has its supply figures withheld, and the ratio with them")
    func smallNumbers() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        let square = #"{"type":"Polygon","coordinates":[[[9,48],[9.01,48],[9.01,48.01],[9,48.01],[9,48]]]}"#
        _ = try db.importFeatures(from: try dir.write("d.geojson", #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"small","geometry":\#(square),"properties":{"level":"district"}}]}"#),
                                  options: ImportOptions(layer: .districts))
        let listings = (0..<3).map { i in
            #"{"type":"Feature","id":"l\#(i)","geometry":{"type":"Point","coordinates":[9.00\#(i + 1),48.005]},"properties":{"list_price":300000,"living_area_m2":60,"list_date":"2026-10-01"}}"#
        }.joined(separator: ",")
        _ = try db.importFeatures(from: try dir.write("l.geojson", #"{"type":"FeatureCollection","features":[\#(listings)]}"#), options: ImportOptions(layer: .listings))
        let page = try QueryEngine(db).indicators(IndicatorOptions(asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!))
        let f = try #require(page.features.first)
        #expect(f.properties["active_listings"] == .null)
        #expect(f.properties["median_price_per_m2"] == .null)
        #expect(f.properties["active_demands"] == .int(0))
        #expect(f.properties["suppressed"] == .array(["active_listings", "demand_supply_ratio", "long_unsold_share", "median_days_on_market", "median_price_per_m2"].map(JSONValue.string)))
    }
}
