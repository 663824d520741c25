import Foundation
import Testing
import RGISCore
import RGISQuery
import RGISStore
import RGISTesting

/// The outbox's rules (``NotificationStore``) as the notifier relies on them, driven here without it
/// (windows matched and scored as it does, deliveries claimed and their outcomes recorded by hand), on
/// every backend: which listing events reach the feed, what a window queues under a saved search's
/// rules, when a claim hands a message out, what an outcome records, and the ledger. The notifier
/// with its transports over the same rules is `PipelineTests` (RGISNotifyTests).
@Suite("Conformance: the outbox's rules, claims, outcomes and the ledger")
struct OutboxConformance {
    /// A polygon demand of the demo city, of client C0002: apartments of 39–64 m² up to 235,000 in a box around (9.0805, 48.0337).
    static let demand = "R00002"
    static let client = "C0002"
    static let inside = Position(lon: 9.0805, lat: 48.0337)
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let start = Timestamp.date("2026-06-01T10:00:00Z")!

    static func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    static func time(_ text: String) -> Date { Timestamp.date(text)! }

    static func webhook() throws -> AlertSettings { try AlertSettings(channel: .webhook(url: "http://crm.test/hooks", secret: secret)) }

    /// Adds a listing as an HTTP write does.
    static func list(_ store: any Store, _ id: String, at p: Position = inside, price: Double = 200_000) async throws {
        let body = try JSONValue.parse(Array("""
            {"type":"Feature","id":"\(id)","geometry":{"type":"Point","coordinates":[\(p.lon),\(p.lat)]},
             "properties":{"status":"active","property_type":"apartment","list_price":\(price),"living_area_m2":50,"bedrooms":2,"agent":"agent-08"}}
            """.utf8))
        _ = try await store.create(.listing, body, owner: nil, client: nil, idempotency: nil)
    }

    static func patch(_ store: any Store, _ id: String, _ properties: String) async throws {
        let patch = try JSONValue.parse(Array(#"{"properties":\#(properties)}"#.utf8))
        _ = try await store.change(.listing, id: id, .mergePatch(patch), condition: WriteCondition())
    }

    /// What the notifier's matching does, window by window: each event with every subscribed demand
    /// its listing fits, scored, queued (and the window taken off the feed).
    static func matchAndQueue(_ store: any Store, now: Date) async throws -> Int {
        var queued = 0
        while true {
            let window = try await store.matchWindow(limit: 100)
            if window.isEmpty { return queued }
            let candidates = try await store.matchCandidates(window, reach: .everywhere, beyond: nil, excluding: [])
            let matches = candidates.map { c in
                ScoredMatch(eventID: c.eventID, reason: c.reason, listingID: c.listingID, demandID: c.demand.id, subscriptionID: c.subscriptionID,
                            score: QueryEngine.scoreValue(c.listing, at: c.position, for: c.demand), price: c.listing.price)
            }.sorted { ($0.eventID, $0.subscriptionID) < ($1.eventID, $1.subscriptionID) }
            queued += try await store.queue(matches, window: window, now: now)
        }
    }

    /// Claims what is due and records each delivery sent.
    @discardableResult
    static func sendDue(_ store: any Store, now: Date) async throws -> [Delivery] {
        let deliveries = try await store.claimDueSearches(now: now, worker: "w", limit: 100, leaseSeconds: 60)
        for delivery in deliveries { try await store.recordSent(delivery, now: now) }
        return deliveries
    }

    @Test("a saved search starts from now: events written while no search is active never reach the feed, listings stored before it are not queued, and a later one is queued once however often it comes again",
          arguments: Backends.all)
    func aSearchStartsFromNow(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        for id in ["Q1", "Q2", "Q3"] { try await Self.list(store, id) }
        #expect(try await store.matchWindow(limit: 100).isEmpty, "no saved search was active: nothing waits to be matched")
        let subscription = try await store.addSubscription(demand: Self.demand, try Self.webhook(), by: .fileOwner, now: Self.start)
        // Dozens of stored listings (Q1–Q3 among them) fit the demand already: none is queued.
        #expect(try await QueryEngine(store).listings(matchingDemand: Self.demand, limit: Limit(Limit.maximum)).features.count > 0)
        #expect(try await Self.matchAndQueue(store, now: Self.start) == 0)

        try await Self.list(store, "N1")
        try await Self.list(store, "N2", at: Position(lon: 9.0, lat: 48.0))  // outside the search area
        let window = try await store.matchWindow(limit: 100)
        let n1 = try await store.events(.listings, id: "N1").map(\.id)
        let n2 = try await store.events(.listings, id: "N2").map(\.id)
        #expect(window.events == (n1 + n2).sorted())
        #expect(try await Self.matchAndQueue(store, now: Self.start) == 1)
        let sent = try await Self.sendDue(store, now: Self.start)
        #expect(sent.flatMap(\.items).map(\.listingID) == ["N1"])
        #expect(sent.map(\.subscription.id) == [subscription.id])

        // The same window queued again, or the listing queued again for the search (a replay), adds nothing.
        let again = ScoredMatch(eventID: try #require(n1.first), reason: .new, listingID: "N1", demandID: Self.demand,
                                subscriptionID: subscription.id, score: 50, price: 200_000)
        #expect(try await store.queue([again], window: window, now: Self.at(60)) == 0)
        #expect(try await store.backfill(subscription.id, [again], now: Self.at(60)) == 0)
        #expect(try await Self.sendDue(store, now: Self.at(120)).isEmpty)
        let counts = try await store.notificationCounts(agent: nil, now: Self.at(120))
        #expect((counts.queued, counts.retryBacklog, counts.sent, counts.failed) == (0, 0, 1, 0))
    }

    @Test("a client's reaction shows in the ledger, and after 'not for me' no later change of that listing is queued for them",
          arguments: Backends.all)
    func notForMe(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        _ = try await store.addSubscription(demand: Self.demand, try Self.webhook(), by: .fileOwner, now: Self.start)
        try await Self.list(store, "R1")
        #expect(try await Self.matchAndQueue(store, now: Self.start) == 1)
        let sent = try await Self.sendDue(store, now: Self.start)
        let messageID = try #require(sent.first?.items.first?.messageID)
        let entry = try await store.react(messageID: messageID, .notForMe, now: Self.at(10))
        #expect(entry.reaction == .notForMe)
        #expect(entry.json["reaction"]?.stringValue == "not_for_me")
        try await Self.patch(store, "R1", #"{"list_price":150000}"#)
        try await Self.patch(store, "R1", #"{"status":"pending"}"#)
        try await Self.patch(store, "R1", #"{"status":"active"}"#)
        #expect(try await Self.matchAndQueue(store, now: Self.at(20)) == 0)
        #expect(try await Self.sendDue(store, now: Self.at(30)).isEmpty)
        let ledger = try await store.ledger(client: Self.client)
        #expect(ledger.map(\.listingID) == ["R1"])
        #expect(ledger.first?.channel == "webhook")
        #expect(ledger.first?.reaction == .notForMe)
    }

    @Test("a listing already sent is queued again on a price change only when it is a drop of 5 % from the price sent, or for a search that asks for price updates",
          arguments: Backends.all)
    func priceChanges(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let plain = try await store.addSubscription(demand: Self.demand, try Self.webhook(), by: .fileOwner, now: Self.start)
        let updates = try await store.addSubscription(demand: Self.demand, try AlertSettings(channel: .email("updates@example.test"), priceUpdates: true),
                                                      by: .fileOwner, now: Self.start)
        #expect(updates.settings.priceUpdates)
        try await Self.list(store, "P1", price: 200_000)
        #expect(try await Self.matchAndQueue(store, now: Self.start) == 2)
        try await Self.sendDue(store, now: Self.start)
        try await Self.patch(store, "P1", #"{"list_price":196000}"#)  // −2 %
        #expect(try await Self.matchAndQueue(store, now: Self.at(10)) == 1, "the search with price updates hears of the small change")
        try await Self.sendDue(store, now: Self.at(10))
        try await Self.patch(store, "P1", #"{"list_price":186000}"#)  // −5.1 % from 196,000; −7 % from the 200,000 the first search was sent
        #expect(try await Self.matchAndQueue(store, now: Self.at(20)) == 2)
        try await Self.sendDue(store, now: Self.at(20))
        let sent = try await store.notifications(agent: nil, limit: 100).filter { $0.state == "sent" }.sorted { $0.id < $1.id }
        #expect(sent.filter { $0.subscriptionID == plain.id }.map(\.reason.rawValue) == ["new", "price_change"])
        #expect(sent.filter { $0.subscriptionID == updates.id }.map(\.reason.rawValue) == ["new", "price_change", "price_change"])
        #expect(sent.last { $0.subscriptionID == plain.id }?.price == 186_000)
    }

    @Test("a failed attempt is due again at its retry time under the same message id, and the outbox counts every attempt; the endpoint keeps since when it fails until a message goes through",
          arguments: Backends.all)
    func retries(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let subscription = try await store.addSubscription(demand: Self.demand, try Self.webhook(), by: .fileOwner, now: Self.start)
        #expect(subscription.endpointID != nil)
        try await Self.list(store, "F1")
        #expect(try await Self.matchAndQueue(store, now: Self.start) == 1)
        var now = Self.start
        var delivery = try #require(try await store.claimDueSearches(now: now, worker: "w", limit: 10, leaseSeconds: 60).first)
        #expect(delivery.attempt == 1)
        let messageID = try #require(delivery.items.first?.messageID)
        // The retry schedule's first three waits: 5 s, 5 min, 30 min.
        for (i, wait) in [5.0, 300, 1800].enumerated() {
            let since = try await store.recordFailure(delivery, error: "HTTP 500", retryAt: now.addingTimeInterval(wait), disable: nil, now: now)
            #expect(since == Self.start, "failing since the first failure")
            #expect(try await store.notificationCounts(agent: nil, now: now).retryBacklog == 1)
            #expect(try await store.claimDueSearches(now: now.addingTimeInterval(wait - 1), worker: "w", limit: 10, leaseSeconds: 60).isEmpty, "not yet due")
            now = now.addingTimeInterval(wait)
            delivery = try #require(try await store.claimDueSearches(now: now, worker: "w", limit: 10, leaseSeconds: 60).first)
            #expect(delivery.attempt == i + 2)
            #expect(delivery.items.map(\.messageID) == [messageID], "the same message id on every attempt")
        }
        #expect(try await store.webhookEndpoints(agent: nil).first?.failingSince == Self.start)
        try await store.recordSent(delivery, now: now)
        let record = try #require(try await store.notifications(agent: nil, limit: 10).first)
        #expect("\(record.listingID) \(record.state) \(record.attempts)" == "F1 sent 4")
        #expect(record.messageID == messageID)
        let endpoint = try #require(try await store.webhookEndpoints(agent: nil).first)
        #expect(endpoint.active && endpoint.failingSince == nil)
    }

    @Test("a failure that turns off the endpoint or the search fails what it had pending and keeps the reason; a temporary one is retried; a search turned off queues nothing more",
          arguments: Backends.all)
    func failuresThatTurnOff(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let hook = try await store.addSubscription(demand: Self.demand, try Self.webhook(), by: .fileOwner, now: Self.start)
        let gone = try await store.addSubscription(demand: Self.demand, try AlertSettings(channel: .email("gone@example.test")), by: .fileOwner, now: Self.start)
        let busy = try await store.addSubscription(demand: Self.demand, try AlertSettings(channel: .email("busy@example.test")), by: .fileOwner, now: Self.start)
        try await Self.list(store, "G1")
        #expect(try await Self.matchAndQueue(store, now: Self.start) == 3)
        let claimed = try await store.claimDueSearches(now: Self.start, worker: "w", limit: 10, leaseSeconds: 60)
        #expect(claimed.count == 3)
        for delivery in claimed {
            if delivery.subscription.id == hook.id {
                try await store.recordFailure(delivery, error: "failed: HTTP 410 (gone)", retryAt: nil,
                                              disable: .endpoint(reason: "the receiver answered HTTP 410 (gone)"), now: Self.start)
            } else if delivery.subscription.id == gone.id {
                let since = try await store.recordFailure(delivery, error: "550 5.1.1 mailbox unavailable", retryAt: nil,
                                                          disable: .subscription(reason: "the address was refused: 550 5.1.1 mailbox unavailable"), now: Self.start)
                #expect(since == nil, "e-mail has no endpoint")
            } else {
                try await store.recordFailure(delivery, error: "451 4.3.0 try later", retryAt: Self.at(5), disable: nil, now: Self.start)
            }
        }
        let endpoint = try #require(try await store.webhookEndpoints(agent: nil).first)
        #expect(!endpoint.active)
        #expect(endpoint.disabledReason?.contains("410") == true)
        #expect(try await store.subscription(hook.id).active == false, "a disabled endpoint's searches are off")
        let refused = try await store.subscription(gone.id)
        #expect(!refused.active)
        #expect(refused.disabledReason?.contains("550") == true)
        #expect(try await store.subscription(busy.id).active)

        // The temporary refusal is retried when due; the failed ones never are.
        let retried = try await store.claimDueSearches(now: Self.at(5), worker: "w", limit: 10, leaseSeconds: 60)
        #expect(retried.map(\.subscription.id) == [busy.id])
        #expect(try await store.notificationCounts(agent: nil, now: Self.at(5)).failed == 2)
        for delivery in retried { try await store.recordSent(delivery, now: Self.at(5)) }

        // Only the search still on hears of the next listing.
        try await Self.list(store, "G2")
        #expect(try await Self.matchAndQueue(store, now: Self.at(10)) == 1)
        let next = try await Self.sendDue(store, now: Self.at(10))
        #expect(next.map(\.subscription.id) == [busy.id])
        #expect(next.flatMap(\.items).map(\.listingID) == ["G2"])
    }

    @Test("quiet hours hold a message until they end in the client's time zone", arguments: Backends.all)
    func quietHours(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        // 14:00 UTC is 23:00 in Tokyo (no daylight saving): held until 07:00 Tokyo, 22:00 UTC.
        let t0 = Self.time("2026-06-01T14:00:00Z")
        let settings = try AlertSettings(channel: .email("tokyo@example.test"), timeZone: "Asia/Tokyo", quietHours: try QuietHours(parsing: "22:00-07:00"))
        _ = try await store.addSubscription(demand: Self.demand, settings, by: .fileOwner, now: t0)
        try await Self.list(store, "Q1")
        #expect(try await Self.matchAndQueue(store, now: t0) == 1)
        #expect(try await store.claimDueSearches(now: t0, worker: "w", limit: 10, leaseSeconds: 60).isEmpty)
        #expect(try await store.claimDueSearches(now: Self.time("2026-06-01T21:59:59Z"), worker: "w", limit: 10, leaseSeconds: 60).isEmpty)
        let held = try await Self.sendDue(store, now: Self.time("2026-06-01T22:00:00Z"))
        #expect(held.flatMap(\.items).map(\.listingID) == ["Q1"])
        let record = try #require(try await store.notifications(agent: nil, limit: 10).first)
        #expect("\(record.listingID) \(record.state) \(record.attempts)" == "Q1 sent 1")
    }

    @Test("a daily digest is due at its local hour and claimed whole, once a local day; what comes after it waits for the next",
          arguments: Backends.all)
    func dailyDigest(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        // New York is UTC−4 in June: the 08:00 digest goes at 12:00 UTC.
        let t0 = Self.time("2026-06-01T13:00:00Z")
        let settings = try AlertSettings(channel: .email("ny@example.test"), schedule: .daily(hour: 8), timeZone: "America/New_York")
        let subscription = try await store.addSubscription(demand: Self.demand, settings, by: .fileOwner, now: t0)
        for i in 0..<25 {
            try await Self.list(store, "DG\(i)", at: Position(lon: 9.075 + Double(i) * 0.0005, lat: 48.03 + Double(i % 5) * 0.002),
                                price: 150_000 + Double(i) * 1000)
        }
        #expect(try await Self.matchAndQueue(store, now: t0) == 25)
        #expect(try await store.claimDueSearches(now: Self.time("2026-06-02T11:59:59Z"), worker: "w", limit: 10, leaseSeconds: 60).isEmpty)
        let digest = try await Self.sendDue(store, now: Self.time("2026-06-02T12:00:00Z"))
        #expect(digest.count == 1, "one message a local day")
        #expect(digest.first?.isDigest == true)
        #expect(digest.first?.items.count == 25)
        #expect(digest.first?.items.first?.digestDay == "2026-06-02")
        #expect(try await store.digest(subscription: subscription.id, day: "2026-06-02").count == 25)

        try await Self.list(store, "DG-next")
        #expect(try await Self.matchAndQueue(store, now: Self.time("2026-06-02T12:00:00Z")) == 1)
        #expect(try await store.claimDueSearches(now: Self.time("2026-06-02T13:00:00Z"), worker: "w", limit: 10, leaseSeconds: 60).isEmpty,
                "the day's digest has gone out")
        let next = try await Self.sendDue(store, now: Self.time("2026-06-03T12:00:00Z"))
        #expect(next.count == 1)
        #expect(next.flatMap(\.items).map(\.listingID) == ["DG-next"])
    }

    @Test("alert webhooks and notifications leave by one outbox: one claim hands out both, oldest first; a worker's lease holds both and ending it gives both back; a receiver turned off fails its pending alerts only",
          arguments: Backends.all)
    func oneOutboxForEveryKind(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        _ = try await store.addSubscription(demand: Self.demand, try Self.webhook(), by: .fileOwner, now: Self.start)
        let hook = try await store.addAlertHook(owner: "planner", try AlertHookRequest(url: "http://planner.test/alerts", secret: Self.secret, level: nil),
                                                now: Self.start)
        // An alert raised, queued for the receiver before the listing's notification.
        let mark = AlertWatchMark(market: try await store.marketChangeToken(), month: "2026-05", rules: "rules")
        let alert = AlertStateEntry(level: "district", districtID: "D1", rule: "shortage", since: "2026-03", raisedAt: Self.at(1), properties: "{}")
        #expect(try await store.recordAlertWatch(previous: nil, mark: mark, state: [], transitions: [], now: Self.at(1)) == 0, "a first read is a start")
        let raised = AlertTransition(kind: .raised, alert: alert, body: #"{"type":"district.alert.raised"}"#)
        #expect(try await store.recordAlertWatch(previous: mark, mark: mark, state: [alert], transitions: [raised], now: Self.at(1)) == 1)
        try await Self.list(store, "N1")
        #expect(try await Self.matchAndQueue(store, now: Self.at(2)) == 1)

        // One claim, both kinds, oldest first.
        try await store.renewWorkerLease(worker: "a", until: Self.at(60), now: Self.at(3))
        let claimed = try await store.claimDue(now: Self.at(3), worker: "a", limit: 10, leaseSeconds: 300)
        #expect(claimed.count == 2)
        let alertMessage = try #require(claimed.first?.alert)
        #expect(alertMessage.hookID == hook.id && alertMessage.messageID == raised.messageID(hook: hook.id) && alertMessage.attempt == 1)
        #expect(claimed.last?.search?.items.map(\.listingID) == ["N1"])
        #expect(claimed.first?.lane == "http://planner.test/alerts" && claimed.last?.lane == "http://crm.test/hooks")
        // Another worker gets neither while a's lease lives; a's end gives both back at once.
        #expect(try await store.claimDue(now: Self.at(4), worker: "b", limit: 10, leaseSeconds: 300).isEmpty)
        try await store.endWorkerLease(worker: "a")
        let back = try await store.claimDue(now: Self.at(5), worker: "b", limit: 10, leaseSeconds: 300)
        #expect(back.compactMap(\.alert).map(\.messageID) == [alertMessage.messageID] && back.compactMap(\.search).count == 1)

        // A receiver that answers 410 is turned off: its alert fails for good, the notification is untouched.
        let since = try await store.recordFailure(.alert(try #require(back.compactMap(\.alert).first)), error: "failed: HTTP 410 (gone)", retryAt: nil,
                                                  disable: .hook(reason: "gone"), now: Self.at(6))
        #expect(since == Self.at(6))
        let off = try await store.alertHook(hook.id)
        #expect(!off.active && off.disabledReason == "gone" && off.deliveries["failed"] == 1 && off.deliveries["pending"] == nil)
        try await store.recordSent(.search(try #require(back.compactMap(\.search).first)), now: Self.at(7))
        let counts = try await store.notificationCounts(agent: nil, now: Self.at(7))
        #expect(counts.sent == 1 && counts.failed == 0 && counts.queued == 0, "notification counts are the saved searches' own")
        #expect(try await store.claimDue(now: Self.at(100_000), worker: "b", limit: 10, leaseSeconds: 300).isEmpty, "outcomes are final")
    }

}
