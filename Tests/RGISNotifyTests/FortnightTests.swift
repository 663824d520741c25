import Foundation
import GRDB
import RGISCore
import RGISNotify
import RGISStore
import RGISTesting
import Testing

/// Two weeks of listing events on the demo city, delivered to real peers (an SMTP sink and a
/// webhook receiver checking signatures), against an independent oracle (tools/notify_oracle.py,
/// shapely on the GeoJSON files): the messages received are exactly those the oracle expects.
@Suite struct FortnightTests {
    /// A small deterministic generator (SplitMix64), so that the script is the same on every run.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
        mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }
    }

    struct Search { let demand: String; let channel: String; let priceUpdates: Bool; let box: (Double, Double, Double, Double); let budget: Double; let area: (Double, Double); let types: [String] }

    @Test func whatThePeersReceiveIsExactlyWhatTheOracleExpects() async throws {
        let h = try Harness(start: "2026-06-01T00:00:00Z")
        defer { h.directory.remove() }
        let secret = Harness.secret
        let receiver = try Peer("webhook_receiver.py", ["--secret", secret, "--no-timestamp-check"], log: h.directory.path("hooks.jsonl"))
        defer { receiver.stop() }
        let sink = try Peer("smtp_sink.py", [], log: h.directory.path("mail.jsonl"))
        defer { sink.stop() }
        var configuration = NotifierConfiguration(worker: "fortnight:1")
        configuration.publicURL = "http://rgis.test"
        configuration.mailFrom = "alerts@rgis.test"
        let clock = h.clock
        let notifier = Notifier(store: h.store, webhooks: try NIOWebhookTransport(targets: Harness.loopback),
                                mail: SMTPClient(SMTPConfiguration(host: "127.0.0.1", port: sink.port)), configuration: configuration,
                                clock: { clock.now })

        // Ten polygon searches of the demo city: e-mail and webhooks alternately, one with price updates.
        let rows = try await h.database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom), budget_max, COALESCE(area_min_m2, 40), COALESCE(area_max_m2, 120), COALESCE(property_types, 'apartment')
                FROM demands WHERE radius_m IS NULL AND status = 'active' AND budget_max IS NOT NULL ORDER BY fid LIMIT 10
                """)
        }
        var searches: [Search] = []
        for (i, row) in rows.enumerated() {
            let demand: String = row[0]
            let channel = i % 2 == 0 ? "email" : "webhook"
            let request = try SubscriptionRequest(demand: demand, email: channel == "email" ? "client-\(demand)@example.test" : nil,
                                                  webhook: channel == "webhook" ? "http://127.0.0.1:\(receiver.port)/crm" : nil,
                                                  secret: channel == "webhook" ? secret : nil, schedule: nil, digestHour: nil,
                                                  timeZone: "Europe/Berlin", quietHours: nil, priceUpdates: i == 2, backfill: false)
            _ = try await Subscriptions.add(request, store: h.store, targets: Harness.loopback, by: .fileOwner, now: clock.now)
            searches.append(Search(demand: demand, channel: channel, priceUpdates: i == 2, box: (row[1], row[2], row[3], row[4]),
                                   budget: row[5], area: (row[6], row[7]), types: (row[8] as String).split(separator: ",").map(String.init)))
        }

        var random = Random(state: 20260601)
        var listings: [String: [String: JSONValue]] = [:]
        var steps: [JSONValue] = []
        var serial = 0
        for day in 0..<14 {
            for hour in [9, 15, 21] {
                clock.set(String(format: "2026-06-%02dT%02d:00:00Z", day + 1, hour))
                var events: [JSONValue] = [], reactions: [JSONValue] = []
                // A client now and then says "not for me" to something sent.
                if random.unit() < 0.3, let sent = try await h.database.read({ db in
                    try Row.fetchOne(db, sql: "SELECT message_id, demand_id, listing_id FROM deliveries WHERE kind = 'search' AND state = 'sent' ORDER BY random() LIMIT 1")
                }) {
                    _ = try await h.store.react(messageID: sent[0], .notForMe, now: clock.now)
                    reactions.append(.object(["demand": .string(sent[1]), "listing": .string(sent[2]), "reaction": .string("not_for_me")]))
                }
                for _ in 0..<6 {
                    let roll = random.unit()
                    if roll < 0.5 || listings.isEmpty {
                        // A new listing near a search area (a third of the box around it too), priced and sized around what it asks.
                        let s = random.pick(searches)
                        let (w, south, e, n) = s.box
                        let lon = w - (e - w) / 5 + random.unit() * (e - w) * 7 / 5, lat = south - (n - south) / 5 + random.unit() * (n - south) * 7 / 5
                        serial += 1
                        let id = "FN\(serial)"
                        let state: [String: JSONValue] = [
                            "id": .string(id), "lon": .double((lon * 1e6).rounded() / 1e6), "lat": .double((lat * 1e6).rounded() / 1e6),
                            "type": .string(random.unit() < 0.7 ? random.pick(s.types) : random.pick(["apartment", "house", "townhouse"])), "status": .string("active"),
                            "price": .double((s.budget * (0.6 + random.unit() * 0.6) / 1000).rounded() * 1000),
                            "area": .double((s.area.0 + random.unit() * (s.area.1 - s.area.0)).rounded()),
                            "bedrooms": .int(Int64(random.next() % 5)),
                        ]
                        let body = try JSONValue.parse(Array("""
                            {"type":"Feature","id":"\(id)","geometry":{"type":"Point","coordinates":[\(state["lon"]!.number!),\(state["lat"]!.number!)]},
                             "properties":{"status":"active","property_type":"\(state["type"]!.stringValue!)","list_price":\(state["price"]!.number!),
                             "living_area_m2":\(state["area"]!.number!),"bedrooms":\(state["bedrooms"]!.number!),"agent":"agent-03"}}
                            """.utf8))
                        _ = try await h.store.create(.listing, body, owner: nil, client: nil, idempotency: nil)
                        listings[id] = state
                        events.append(.object(["kind": .string("new"), "listing": .object(state)]))
                    } else if roll < 0.8 {
                        let id = random.pick(listings.keys.sorted())
                        let factor = random.pick([0.98, 0.93, 0.9, 1.05])
                        let price = ((listings[id]!["price"]!.number! * factor) / 100).rounded() * 100
                        try await h.patch(id, #"{"list_price":\#(price)}"#)
                        listings[id]!["price"] = .double(price)
                        events.append(.object(["kind": .string("price"), "listing": .object(listings[id]!)]))
                    } else {
                        let id = random.pick(listings.keys.sorted())
                        let status = listings[id]!["status"]!.stringValue == "active" ? "pending" : "active"
                        try await h.patch(id, #"{"status":"\#(status)"}"#)
                        listings[id]!["status"] = .string(status)
                        events.append(.object(["kind": .string("status"), "listing": .object(listings[id]!)]))
                    }
                }
                steps.append(.object(["at": .string(Timestamp.text(clock.now)), "events": .array(events), "reactions": .array(reactions)]))
                _ = try await notifier.runOnce()
            }
        }
        let script: JSONValue = .object([
            "subscriptions": .array(searches.map { .object(["demand": .string($0.demand), "channel": .string($0.channel), "price_updates": .bool($0.priceUpdates)]) }),
            "steps": .array(steps),
        ])
        let scriptPath = try h.directory.write("fortnight.json", script.jsonText)
        let oracle = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/notify_oracle.py").path,
                                                  "--demands", Fixtures.demo("demands.geojson"), "--script", scriptPath])
        #expect(oracle.status == 0, "\(oracle.stderr)")
        let expected = oracle.stdout.split(separator: "\n").map(String.init)

        var received: [String] = []
        for entry in try receiver.entries() {
            #expect(entry["verified"] == .bool(true))
            guard entry["status"]?.number == 200, let data = entry["body"]?["data"] else { continue }
            received.append(Self.line("webhook", data["demand_id"]?.stringValue, data["listing"]?["id"]?.stringValue, data["reason"]?.stringValue))
        }
        let reasons = ["New listing": "new", "Price change": "price_change", "Back on the market": "back_on_market", "Updated listing": "changed"]
        for entry in try sink.entries() {
            let mail = try MailText(try #require(entry["data"]?.stringValue))
            let to = try #require(entry["rcpt_tos"]?.arrayValue?.first?.stringValue)
            let demand = String(to.dropFirst("client-".count).prefix { $0 != "@" })
            let headline = String(mail.subject.prefix { $0 != ":" })
            let listing = mail.subject.split(separator: "(").last.map { String($0.dropLast()) }
            received.append(Self.line("email", demand, listing, reasons[headline]))
        }
        received.sort()
        let byReason = Dictionary(grouping: expected) { line in ["new", "price_change", "back_on_market", "changed"].first { line.contains("\"\($0)\"") } ?? "?" }
        print("fortnight: \(steps.count) steps, \(serial) new listings, \(expected.count) notifications expected "
              + "(\(byReason.mapValues(\.count).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \(received.count) received")
        #expect(expected.count > 20, "a fortnight that sends something: \(expected.count) expected")
        #expect(Set(expected.map { $0.contains("\"email\"") }).count == 2, "both channels")
        #expect(received == expected, "received \(received.count), expected \(expected.count); first difference: \(zip(received, expected).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "in length")")
    }

    static func line(_ channel: String, _ demand: String?, _ listing: String?, _ reason: String?) -> String {
        JSONValue.object(["channel": .string(channel), "demand": .string(demand ?? "?"), "listing": .string(listing ?? "?"), "reason": .string(reason ?? "?")])
            .jsonText
    }
}
