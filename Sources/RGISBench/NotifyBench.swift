import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISNotify
import RGISQuery
import RGISSample
import RGISSpatiaLite
import RGISStore

/// `rgis-bench notify DB --listings N`: every active demand of DB (a copy) gets a saved search, N new
/// listings are bulk-imported near existing ones, and the notifier's matching half runs over their
/// events: events and notifications per second into the outbox (each listing to its best 50 demands).
struct NotifyBenchmark {
    let path: String
    let listings: Int

    func run(out: String?) async throws {
        let copy = path + ".notify.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) }
        try RGISDatabase.open(at: path).checkpoint()
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let database = try RGISDatabase.open(at: copy)
        let store = SpatiaLiteStore(database)

        let searches = try await database.write { db -> Int in
            try db.execute(sql: "INSERT INTO webhook_endpoints (agent, url, secret, created_at) VALUES ('bench', 'http://127.0.0.1:9/', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '2026-01-01T00:00:00Z')")
            try db.execute(sql: """
                INSERT INTO subscriptions (demand_id, channel, endpoint_id, starts_after_event, created_at)
                SELECT id, 'webhook', 1, (SELECT COALESCE(MAX(id), 0) FROM events), '2026-01-01T00:00:00Z' FROM demands WHERE status = 'active'
                """)
            try db.execute(sql: "UPDATE notify_state SET value = (SELECT COALESCE(MAX(id), 0) FROM events)")
            return db.changesCount > 0 ? try Int.fetchOne(db, sql: "SELECT count(*) FROM subscriptions")! : 0
        }
        // New listings where listings are: each a stored listing's place moved by up to ~200 m, its facts varied.
        let seeds = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT X(geom), Y(geom), property_type, list_price, living_area_m2, bedrooms FROM listings WHERE fid % 7 = 0 LIMIT 20000")
                .map { ($0[0] as Double, $0[1] as Double, ($0[2] as String?) ?? "apartment", ($0[3] as Double?) ?? 300_000, ($0[4] as Double?) ?? 70, ($0[5] as Int?) ?? 2) }
        }
        var random = SplitMix64(seed: 13)
        var text = #"{"type":"FeatureCollection","features":["#
        for i in 0..<listings {
            let s = seeds[i % seeds.count]
            if i > 0 { text += ",\n" }
            let price = (s.3 * random.uniform(0.85...1.15) / 1000).rounded() * 1000, area = (s.4 * random.uniform(0.9...1.1) * 10).rounded() / 10
            text += #"{"type":"Feature","id":"NB\#(i)","geometry":{"type":"Point","coordinates":[\#(s.0 + random.uniform(-0.0025...0.0025)),\#(s.1 + random.uniform(-0.0018...0.0018))]},"properties":{"status":"active","property_type":"\#(s.2)","list_price":\#(price),"living_area_m2":\#(area),"bedrooms":\#(s.5),"agent":"bench"}}"#
        }
        text += "]}\n"
        let file = copy + ".listings.geojson"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let importStart = Date()
        _ = try database.importFeatures(from: file, options: ImportOptions(layer: .listings))
        let importSeconds = Date().timeIntervalSince(importStart)

        var configuration = NotifierConfiguration(worker: "bench:1")
        configuration.publicURL = "http://127.0.0.1:8080"
        // The endpoint is loopback's discard port, as before webhooks were held to public addresses.
        let loopback = WebhookTargets(policy: WebhookNetworkPolicy(allowing: [try IPNetwork(parsing: "127.0.0.0/8")]))
        let notifier = Notifier(store: store, webhooks: try NIOWebhookTransport(targets: loopback), mail: nil, configuration: configuration)
        let start = Date()
        let round = try await notifier.matchPending()
        let seconds = Date().timeIntervalSince(start)
        let demands = try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM demands")! }
        let disagreements = try await check(database, store, listings: listings)
        print(String(format: "notify: %d new listings (imported in %.1f s) against %d demands with %d saved searches: %d events matched, %d notifications queued in %.1f s: %.0f events/s, %.0f notifications/s",
                     listings, importSeconds, demands, searches, round.eventsMatched, round.queued, seconds,
                     Double(round.eventsMatched) / seconds, Double(round.queued) / seconds))
        if let out {
            try JSONValue.object([
                "listings": .int(Int64(listings)), "demands": .int(Int64(demands)), "subscriptions": .int(Int64(searches)),
                "import_seconds": .double(importSeconds), "match_seconds": .double(seconds), "events": .int(Int64(round.eventsMatched)),
                "queued": .int(Int64(round.queued)), "events_per_s": .double(Double(round.eventsMatched) / seconds),
                "notifications_per_s": .double(Double(round.queued) / seconds),
                "checked_events": .int(Int64(min(listings, 40))), "disagreements": .array(disagreements.prefix(5).map(JSONValue.string)),
            ]).jsonText.write(toFile: out, atomically: true, encoding: .utf8)
        }
        for suffix in ["", "-wal", "-shm", ".listings.geojson"] { try? FileManager.default.removeItem(atPath: copy + suffix) }
    }

    /// For 40 of the new listings: the demands queued are the best 50 of ranking every fit (every
    /// active demand has a saved search, so every fit counts).
    func check(_ database: RGISDatabase, _ store: SpatiaLiteStore, listings: Int) async throws -> [String] {
        var disagreements: [String] = []
        for i in stride(from: 0, to: listings, by: max(1, listings / 40)).prefix(40) {
            let row = try await database.read { db in
                try Row.fetchOne(db, sql: "SELECT X(geom), Y(geom), list_price, living_area_m2, bedrooms, property_type FROM listings WHERE id = ?", arguments: ["NB\(i)"])!
            }
            let p = Position(lon: row[0], lat: row[1])
            let facts = ListingFacts(price: row[2], livingAreaM2: row[3], bedrooms: row[4], propertyType: row[5])
            let best = QueryEngine.rank(try await store.demandsFitting(facts, at: p, reach: .everywhere), facts, at: p).prefix(50).map(\.fit.id)
            let queued = try await database.read { db in
                try String.fetchAll(db, sql: "SELECT DISTINCT demand_id FROM deliveries WHERE listing_id = ?", arguments: ["NB\(i)"])
            }
            if Set(queued) != Set(best) { disagreements.append("NB\(i): queued \(queued.count), the best of every fit \(best.count), \(Set(queued).symmetricDifference(best).count) differ") }
        }
        print(disagreements.isEmpty ? "notify: 40 listings checked, each queued to the best 50 of every fit" : "notify: DISAGREES: \(disagreements[0])")
        return disagreements
    }
}
