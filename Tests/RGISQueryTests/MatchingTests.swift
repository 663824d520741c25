import Foundation
import GRDB
import RGISCore
import RGISFiles
@testable import RGISQuery
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// The demo city, imported once for these tests.
final class DemoDatabase: Sendable {
    static let shared = DemoDatabase()
    let directory: TemporaryDirectory
    let database: RGISDatabase
    /// How many clients got contact data: a test of leaks needs data that could leak.
    let contactRows: Int

    private init() {
        directory = try! Fixtures.temporaryDirectory()
        database = try! Templates.demoCity(in: directory)
        // Personal data that must never come out of a match.
        let queue = try! DatabaseQueue(path: database.path)
        contactRows = try! queue.write { db in
            try db.execute(sql: "INSERT INTO client_contacts (client_id, name, phone, email) SELECT id, 'Secret Name', '+49 555 0100', 'secret@example.org' FROM clients")
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM client_contacts")!
        }
        try! queue.close()
    }
}

@Suite("Matching and indicators")
struct MatchingTests {
    let engine = QueryEngine(SpatiaLiteStore(DemoDatabase.shared.database))

    @Test("client → listings: every result fits, is inside the area, and the ranking follows the score")
    func clientToListings() async throws {
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

    @Test("listing → clients: demands that hold the listing, with agent and client id and no contact data")
    func listingToClients() async throws {
        let best = try #require(try await engine.listings(matchingDemand: "R00001", limit: Limit(1)).features.first)
        #expect(DemoDatabase.shared.contactRows > 100, "the fixture must hold contact data for a leak to show")
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

    @Test("a new listing given as GeoJSON matches like the stored one at the same place with the same facts")
    func newListing() async throws {
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

    @Test("both directions give every pair the same score")
    func symmetricScores() async throws {
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

    @Test("indicators: one feature per district of the level, figures withheld below 5 records")
    func indicators() async throws {
        let options = try IndicatorOptions(level: .subdistrict, asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!)
        let page = try await engine.indicators(options)
        #expect(page.features.count == 24)
        for f in page.features {
            #expect(f.geometryGeoJSON.contains("MultiPolygon"))
            let suppressed = try #require(f.properties["suppressed"]?.arrayValue)
            for case .string(let key) in suppressed { #expect(f.properties[key] == .null) }
            if let n = f.properties["active_listings"]?.number { #expect(n == 0 || n >= 5) }
        }
        expectError(.invalidValue, at: "parameter level") { _ = try IndicatorOptions.level(parsing: "county") }
        let backwards = #expect(throws: RGISError.self) {
            try IndicatorOptions(asOf: ISODate(parsing: "2026-01-01")!, periodStart: ISODate(parsing: "2026-02-01")!)
        }
        #expect(backwards?.code == .invalidValue && backwards?.location == "parameter since")
    }

    @Test("a district with 3 listings has its supply figures withheld, and the ratio with them")
    func smallNumbers() async throws {
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
        let page = try await QueryEngine(SpatiaLiteStore(db)).indicators(IndicatorOptions(asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!))
        let f = try #require(page.features.first)
        #expect(f.properties["active_listings"] == .null)
        #expect(f.properties["median_price_per_m2"] == .null)
        #expect(f.properties["active_demands"] == .int(0))
        #expect(f.properties["suppressed"] == .array(["active_listings", "demand_supply_ratio", "long_unsold_share", "median_days_on_market", "median_price_per_m2"].map(JSONValue.string)))
    }
}
