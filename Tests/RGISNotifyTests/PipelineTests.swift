import Foundation
import GRDB
import RGISCore
import RGISNotify
import RGISQuery
import RGISStore
import RGISTesting
import Testing

/// The pipeline on the demo city, with an in-process receiver and mail server and a clock the tests
/// move: who is told what, once, and when.
@Suite struct PipelineTests {
    @Test func aNewSearchStartsFromNowAndEachMatchIsSentOnceSignedEvenAfterAReplay() async throws {
        let h = try Harness()
        let subscription = try await h.subscribe()
        // Dozens of stored listings fit the demand already: none is sent.
        #expect(try await QueryEngineCount.fitting(h, Harness.demand) > 0)
        #expect(try await h.notifier.runOnce().sent == 0)

        try await h.list("N1")
        try await h.list("N2", at: Position(lon: 9.0, lat: 48.0))  // outside the search area
        let round = try await h.notifier.runOnce()
        #expect(round.sent == 1)
        let got = try #require(h.webhooks.received.first)
        #expect(got.url == "http://crm.test/hooks")
        let id = try #require(got.headers["webhook-id"]), timestamp = try #require(got.headers["webhook-timestamp"])
        #expect(timestamp == String(Int(h.clock.now.timeIntervalSince1970)))
        #expect(got.headers["webhook-signature"] == StandardWebhooks.signature(secret: try WebhookSecret(Harness.secret), id: id,
                                                                              timestamp: Int64(timestamp)!, body: got.body))
        let payload = try JSONValue.parse(got.body)
        #expect(payload["type"]?.stringValue == "listing.matched")
        #expect(payload["data"]?["listing"]?["id"]?.stringValue == "N1")
        #expect(payload["data"]?["subscription_id"]?.number == Double(subscription.id))

        // Running again, re-importing the same listing, or replaying every event from the start sends nothing more.
        #expect(try await h.notifier.runOnce().sent == 0)
        try await h.patch("N1", #"{"list_price":200000}"#)
        try await h.database.write { db in try db.execute(sql: "INSERT OR IGNORE INTO match_queue SELECT id FROM events WHERE layer = 'listings'") }
        #expect(try await h.notifier.runOnce().sent == 0)
        #expect(h.delivered.map(\.listing) == ["N1"])
    }

    @Test func eventsNobodyListensToPassAndASearchSavedAfterThemHearsOnlyWhatFollows() async throws {
        let h = try Harness()
        for id in ["Q1", "Q2", "Q3"] { _ = try await h.list(id) }
        let round = try await h.notifier.matchPending()
        #expect(round.queued == 0)
        #expect(round.eventsMatched == 0, "no saved search was active: nothing waits to be matched")
        let waiting = try await h.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM match_queue") }
        #expect(waiting == 0)
        _ = try await h.subscribe()
        try await h.list("Q4")
        #expect(try await h.notifier.runOnce().sent == 1)
        #expect(h.delivered.map(\.listing) == ["Q4"])
    }

    @Test func aPriceChangeIsSentAgainOnlyWhenItIsADropOfFivePercentOrTheSearchAsksForPriceUpdates() async throws {
        let h = try Harness()
        _ = try await h.subscribe()
        let withUpdates = try await h.subscribe(email: "updates@example.test", priceUpdates: true)
        try await h.list("P1", price: 200_000)
        _ = try await h.notifier.runOnce()
        try await h.patch("P1", #"{"list_price":196000}"#)  // −2 %
        _ = try await h.notifier.runOnce()
        #expect(h.delivered.map(\.reason) == ["new"])
        #expect(h.mail.sent.count == 2, "the search with price updates hears of the small change")
        try await h.patch("P1", #"{"list_price":186000}"#)  // −5.1 % from the price sent (196,000 for the first search: −7 % from 200,000)
        _ = try await h.notifier.runOnce()
        #expect(h.delivered.map(\.reason) == ["new", "price_change"])
        #expect(h.mail.sent.count == 3)
        #expect(withUpdates.settings.priceUpdates)
    }

    @Test func notForMeIsNeverSentAgainAndTheLedgerShowsIt() async throws {
        let h = try Harness()
        _ = try await h.subscribe()
        try await h.list("R1")
        _ = try await h.notifier.runOnce()
        let messageID = try #require(h.delivered.first?.id)
        let entry = try await h.store.react(messageID: messageID, .notForMe, now: h.clock.now)
        #expect(entry.reaction == .notForMe)
        #expect(entry.json["reaction"]?.stringValue == "not_for_me")
        try await h.patch("R1", #"{"list_price":150000}"#)
        try await h.patch("R1", #"{"status":"pending"}"#)
        try await h.patch("R1", #"{"status":"active"}"#)
        _ = try await h.notifier.runOnce()
        #expect(h.delivered.count == 1)
        let ledger = try await h.store.ledger(client: "C0002")
        #expect(ledger.map(\.listingID) == ["R1"])
        #expect(ledger.first?.channel == "webhook")
    }

    @Test func backOnTheMarketIsSentAgainAndBackfillQueuesWhatFitsNow() async throws {
        let h = try Harness()
        _ = try await h.subscribe()
        try await h.list("B1")
        _ = try await h.notifier.runOnce()
        try await h.patch("B1", #"{"status":"pending"}"#)
        _ = try await h.notifier.runOnce()
        try await h.patch("B1", #"{"status":"active"}"#)
        _ = try await h.notifier.runOnce()
        #expect(h.delivered.map(\.reason) == ["new", "back_on_market"])

        let fitting = try await QueryEngineCount.fitting(h, Harness.demand)
        _ = try await h.subscribe(email: "backfill@example.test", backfill: true)
        #expect(try await h.notifier.runOnce().sent == fitting)
    }

    @Test func aReceiverThatFailsThreeTimesGetsTheEventOnTheFourthAttemptOnTheRetrySchedule() async throws {
        let h = try Harness(webhooks: FakeWebhooks { _, attempt in HTTPReply(status: attempt <= 3 ? 500 : 204) })
        _ = try await h.subscribe()
        try await h.list("F1")
        #expect(try await h.notifier.runOnce().retried == 1)
        // Jitter is fixed at the middle, so each wait is the schedule's: 5 s, 5 min, 30 min.
        for wait in [5.0, 300, 1800] {
            h.clock.advance(wait - 1)
            #expect(try await h.notifier.runOnce().retried == 0, "not yet due")
            h.clock.advance(1)
            _ = try await h.notifier.runOnce()
        }
        #expect(try h.outboxStates() == ["F1 sent 4"])
        #expect(Set(h.delivered.map(\.id)).count == 1, "the same webhook-id on every attempt")
        #expect(h.delivered.count == 4)
    }

    @Test func goneDisablesTheEndpointAndRetryAfterIsHonoured() async throws {
        let busy = try Harness(webhooks: FakeWebhooks { _, attempt in attempt == 1 ? HTTPReply(status: 429, retryAfterSeconds: 120) : HTTPReply(status: 200) })
        _ = try await busy.subscribe()
        try await busy.list("T1")
        _ = try await busy.notifier.runOnce()
        busy.clock.advance(119)
        #expect(try await busy.notifier.runOnce().sent == 0)
        busy.clock.advance(1)
        #expect(try await busy.notifier.runOnce().sent == 1)

        let gone = try Harness(webhooks: FakeWebhooks { _, _ in HTTPReply(status: 410) })
        _ = try await gone.subscribe()
        try await gone.list("G1")
        #expect(try await gone.notifier.runOnce().failed == 1)
        let endpoint = try #require(try await gone.store.webhookEndpoints(agent: nil).first)
        #expect(!endpoint.active)
        #expect(endpoint.disabledReason?.contains("410") == true)
        try await gone.list("G2")
        #expect(try await gone.notifier.runOnce().queued == 0, "a disabled search queues nothing")
    }

    @Test func anEndpointFailingForFiveDaysIsDisabledWithTheReasonKept() async throws {
        let h = try Harness(webhooks: FakeWebhooks { _, _ in HTTPReply(status: 500) })
        _ = try await h.subscribe()
        let start = h.clock.now
        var hours = 0
        while try await h.store.webhookEndpoints(agent: nil).first?.active == true && hours < 8 * 24 {
            if hours % 24 == 0 { try await h.list("D\(hours)") }
            _ = try await h.notifier.runOnce()
            h.clock.advance(3600)
            hours += 1
        }
        let endpoint = try #require(try await h.store.webhookEndpoints(agent: nil).first)
        #expect(!endpoint.active)
        // Disabled by the first failure at or past five days after the first one (hourly rounds here).
        let elapsed = h.clock.now.timeIntervalSince(start) - 3600
        #expect(elapsed >= 5 * 86400 && elapsed <= 5 * 86400 + 3600, "disabled after \(elapsed / 3600) h")
        #expect(endpoint.disabledReason?.hasPrefix("failing since 2026-06-01T10:00:00Z") == true, "\(endpoint.disabledReason ?? "")")
    }

    @Test func aRefusedAddressIsDisabledAndATemporaryRefusalRetried() async throws {
        let reply550 = SMTPReply(code: 550, lines: ["5.1.1 mailbox unavailable"]), reply451 = SMTPReply(code: 451, lines: ["4.3.0 try later"])
        let h = try Harness(mail: FakeMail { to, attempt in
            to == "gone@example.test" ? SMTPError(reply: reply550, stage: "RCPT TO", detail: "")
                : attempt == 1 ? SMTPError(reply: reply451, stage: "DATA", detail: "") : nil
        })
        let gone = try await h.subscribe(email: "gone@example.test")
        _ = try await h.subscribe(email: "busy@example.test")
        try await h.list("M1")
        let first = try await h.notifier.runOnce()
        #expect(first.failed == 1 && first.retried == 1)
        h.clock.advance(5)
        #expect(try await h.notifier.runOnce().sent == 1)
        let disabled = try await h.store.subscription(gone.id)
        #expect(!disabled.active)
        #expect(disabled.disabledReason?.contains("550") == true)
    }

    @Test func quietHoursHoldMessagesUntilTheyEndInTheClientsTimeZone() async throws {
        // 14:00 UTC is 23:00 in Tokyo (no daylight saving): held until 07:00 Tokyo, 22:00 UTC.
        let h = try Harness(start: "2026-06-01T14:00:00Z")
        _ = try await h.subscribe(email: "tokyo@example.test", timeZone: "Asia/Tokyo", quietHours: "22:00-07:00")
        try await h.list("Q1")
        #expect(try await h.notifier.runOnce().sent == 0)
        h.clock.set("2026-06-01T21:59:59Z")
        #expect(try await h.notifier.runOnce().sent == 0)
        h.clock.set("2026-06-01T22:00:00Z")
        #expect(try await h.notifier.runOnce().sent == 1)
        #expect(try h.outboxStates() == ["Q1 sent 1"])
    }

    @Test func aDailyDigestIsOneMessageALocalDayWithTwentyListingsAndALinkToTheRest() async throws {
        // New York is UTC−4 in June: the 08:00 digest goes at 12:00 UTC.
        let h = try Harness(start: "2026-06-01T13:00:00Z")
        let subscription = try await h.subscribe(email: "ny@example.test", schedule: "daily", digestHour: 8, timeZone: "America/New_York")
        for i in 0..<25 {
            try await h.list("DG\(i)", at: Position(lon: 9.075 + Double(i) * 0.0005, lat: 48.03 + Double(i % 5) * 0.002), price: 150_000 + Double(i) * 1000)
        }
        #expect(try await h.notifier.runOnce().queued == 25)
        h.clock.set("2026-06-02T11:59:59Z")
        #expect(try await h.notifier.runOnce().sent == 0)
        h.clock.set("2026-06-02T12:00:00Z")
        #expect(try await h.notifier.runOnce().sent == 1)
        let mail = try #require(h.mail.sent.first)
        #expect(h.mail.sent.count == 1)
        let text = try MailText(mail.data)
        #expect(text.subject == "25 new listings for your search (2026-06-02)")
        #expect(text.plain.components(separatedBy: "* New listing").count - 1 == 20)
        #expect(text.plain.contains("5 more: http://rgis.test/notifications/digest?token="))
        #expect(text.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        let unsubscribe = try #require(text.headers["List-Unsubscribe"])
        #expect(unsubscribe.hasPrefix("<http://rgis.test/notifications/unsubscribe?token="))
        #expect(try await h.store.digest(subscription: subscription.id, day: "2026-06-02").count == 25)

        try await h.list("DG-next")
        _ = try await h.notifier.runOnce()
        h.clock.set("2026-06-03T12:00:00Z")
        #expect(try await h.notifier.runOnce().sent == 1)
        #expect(h.mail.sent.count == 2)
    }
}

/// How many listings fit a demand now, by the engine `/match` uses.
enum QueryEngineCount {
    static func fitting(_ h: Harness, _ demand: String) async throws -> Int {
        try await QueryEngine(h.store).listings(matchingDemand: demand, limit: try Limit(Limit.maximum)).features.count
    }
}

/// The parts of an RFC 5322 message the tests read: headers, and the decoded text part.
struct MailText {
    let headers: [String: String]
    let subject: String
    let plain: String
    let html: String

    init(_ data: String) throws {
        let split = try #require(data.range(of: "\r\n\r\n"))
        var headers: [String: String] = [:]
        for line in data[..<split.lowerBound].components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        var subject = headers["Subject"] ?? ""
        if subject.hasPrefix("=?UTF-8?B?"), let data = Data(base64Encoded: String(subject.dropFirst(10).dropLast(2))) {
            subject = String(decoding: data, as: UTF8.self)
        }
        self.subject = subject
        func part(_ type: String) -> String {
            guard let start = data.range(of: "Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n") else { return "" }
            let rest = data[start.upperBound...]
            let end = rest.range(of: "\r\n--")?.lowerBound ?? rest.endIndex
            return String(decoding: Data(base64Encoded: rest[..<end].replacingOccurrences(of: "\r\n", with: "")) ?? Data(), as: UTF8.self)
        }
        plain = part("text/plain")
        html = part("text/html")
    }
}

/// SpatiaLite's reach table under demand writes, and the notifier's windows over it. That the reverse
/// match follows demand writes, equals containment with the criteria, and reads its best few near the
/// centres is stated on every backend in the conformance suite (`MatchingConformance`).
@Suite struct FitIndexTests {
    @Test func theReachTableKeepsOneRowPerActiveDemandThroughAChangeAndAWithdrawal() async throws {
        let h = try Harness()
        defer { h.directory.remove() }
        try await h.list("X1", price: 270_000)
        let patch = try JSONValue.parse(Array(#"{"properties":{"budget_max":300000}}"#.utf8))
        _ = try await h.store.change(.demand, id: Harness.demand, .mergePatch(patch), condition: WriteCondition())
        try await h.store.delete(.demand, id: Harness.demand, condition: WriteCondition())
        let rows = try await h.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM demand_reach")! }
        let active = try await h.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM demands WHERE status = 'active'")! }
        #expect(rows == active)
    }

    /// A window of new listings at the places of stored ones, every active demand subscribed: each
    /// event is queued to its best two subscribed demands, as ranking every fit says.
    @Test func aWindowQueuesEachEventToItsBestTwoDemandsAsRankingEveryFitSays() async throws {
        let h = try Harness(demandsPerEvent: 2)
        defer { h.directory.remove() }
        let listings = try await h.database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, X(geom), Y(geom), list_price, living_area_m2, bedrooms, property_type FROM listings WHERE status = 'active' AND fid % 3 = 0")
        }
        func facts(_ row: Row) -> (ListingFacts, Position) {
            (ListingFacts(price: row[3], livingAreaM2: row[4], bedrooms: row[5], propertyType: row[6]), Position(lon: row[1], lat: row[2]))
        }
        let active = try await h.database.read { db in try String.fetchAll(db, sql: "SELECT id FROM demands WHERE status = 'active' ORDER BY fid") }
        for id in active { _ = try await h.subscribe(id) }
        var expected: [String: [String]] = [:]
        for (i, row) in listings.prefix(120).enumerated() {
            let (listing, p) = facts(row)
            let id = try await h.list("N\(i)", at: p, price: listing.price ?? 200_000, area: listing.livingAreaM2 ?? 50, type: listing.propertyType ?? "apartment")
            let stored = ListingFacts(price: listing.price ?? 200_000, livingAreaM2: listing.livingAreaM2 ?? 50, bedrooms: 2, propertyType: listing.propertyType ?? "apartment")
            expected[id] = QueryEngine.rank(try await h.store.demandsFitting(stored, at: p, reach: .everywhere), stored, at: p).prefix(2).map(\.fit.id)
        }
        _ = try await h.notifier.matchPending()
        let queued = try await h.database.read { db in
            try Row.fetchAll(db, sql: "SELECT listing_id, demand_id FROM deliveries WHERE listing_id LIKE 'N%' ORDER BY score DESC, demand_id")
        }
        let got = Dictionary(grouping: queued, by: { $0[0] as String }).mapValues { Set($0.map { $0[1] as String }) }
        for (id, best) in expected { #expect(got[id] ?? [] == Set(best), "\(id)") }
        #expect(expected.values.filter { !$0.isEmpty }.count > 60)
    }
}
