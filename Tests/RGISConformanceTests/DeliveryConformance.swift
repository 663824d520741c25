import Foundation
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// The notifier's half of the store (``NotificationStore``): the change feed it matches from and the
/// outbox it delivers from, with several writers and several workers at once, on every backend.
@Suite("Conformance: the change feed and the outbox")
struct DeliveryConformance {
    /// A polygon demand of the demo city: apartments of 39–64 m² up to 235,000 around (9.0805, 48.0337).
    static let demand = "R00002"
    static let inside = Position(lon: 9.0805, lat: 48.0337)
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let start = Timestamp.date("2026-06-01T10:00:00Z")!

    static func listing(at p: Position = inside, price: Int = 200_000) -> JSONValue {
        try! JSONValue.parse(Array("""
            {"type":"Feature","geometry":{"type":"Point","coordinates":[\(p.lon),\(p.lat)]},
             "properties":{"status":"active","property_type":"apartment","list_price":\(price),"living_area_m2":50,"bedrooms":2,"agent":"agent-08"}}
            """.utf8))
    }

    /// The demo city with a webhook subscription on ``demand``.
    static func cityWithSubscription(_ backend: Backend, in dir: TemporaryDirectory, url: String = "http://crm.test/hooks") async throws -> (any Store, Subscription) {
        let store = try await backend.emptyStore(in: dir)
        try await store.loadDemoCity()
        let subscription = try await store.addSubscription(demand: demand, try AlertSettings(channel: .webhook(url: url, secret: secret)),
                                                           by: .fileOwner, now: start)
        return (store, subscription)
    }

    @Test("the change feed under four writers at once: every listing event is in exactly one window, none skipped, none twice",
          arguments: Backends.all)
    func feedUnderConcurrentWriters(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, _) = try await Self.cityWithSubscription(backend, in: dir)
        var opened: [any Store] = []
        for _ in 0..<4 { opened.append(try await backend.reopen(store)) }
        let writers = opened
        let perWriter = 15
        // A matcher takes small windows while the writers write, and goes on till the feed is dry.
        let matcher = try await backend.reopen(store)
        let written = Counter()
        async let created: [String] = withThrowingTaskGroup(of: [String].self) { group in
            for (w, writer) in writers.enumerated() {
                group.addTask {
                    var ids: [String] = []
                    for i in 0..<perWriter {
                        let p = Position(lon: 9.079 + Double(w) * 0.0005, lat: 48.033 + Double(i) * 0.00005)
                        ids.append(try await writer.create(.listing, Self.listing(at: p), owner: nil, client: nil, idempotency: nil).id)
                        written.add()
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        var matched: [Int64] = []
        var dry = 0
        while dry < 2 {
            let window = try await matcher.matchWindow(limit: 7)
            if window.isEmpty {
                // Dry twice after every writer finished: nothing can still be on its way.
                if written.value == writers.count * perWriter { dry += 1 }
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            #expect(try await matcher.queue([], window: window, now: Self.start) == 0)
            matched += window.events
        }
        let ids = try await created
        #expect(ids.count == writers.count * perWriter)
        #expect(matched.count == Set(matched).count, "an event was in two windows")
        // Each new listing's event, as the store's history tells it, was matched.
        var expected: Set<Int64> = []
        for id in ids {
            let events = try await store.events(.listings, id: id).map(\.id)
            #expect(events.count == 1, "listing \(id): \(events)")
            expected.formUnion(events)
        }
        #expect(Set(matched) == expected, "skipped: \(expected.subtracting(matched).sorted()), extra: \(Set(matched).subtracting(expected).sorted())")
    }

    @Test("two workers queue the same window at once: one queues it, the other queues nothing, and the outbox holds it once",
          arguments: Backends.all)
    func twoWorkersOnOneWindow(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, subscription) = try await Self.cityWithSubscription(backend, in: dir)
        let listing = try await store.create(.listing, Self.listing(), owner: nil, client: nil, idempotency: nil).id
        let workers = [try await backend.reopen(store), try await backend.reopen(store)]
        let window = try await workers[0].matchWindow(limit: 100)
        #expect(try await workers[1].matchWindow(limit: 100) == window)
        #expect(window.events.count == 1)
        let match = ScoredMatch(eventID: window.events[0], reason: .new, listingID: listing, demandID: Self.demand,
                                subscriptionID: subscription.id, score: 0.9, price: 200_000)
        let queued = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in workers { group.addTask { try await worker.queue([match], window: window, now: Self.start) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(queued.sorted() == [0, 1], "\(queued)")
        #expect(try await store.notificationCounts(agent: nil, now: Self.start).queued == 1)
        #expect(try await store.matchWindow(limit: 100).isEmpty)
    }

    @Test("a claim is its worker's while its lease lives, free once the lease runs out or ends, and never handed out again once sent",
          arguments: Backends.all)
    func claimsFollowWorkerLeases(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, subscription) = try await Self.cityWithSubscription(backend, in: dir)
        let listing = try await store.create(.listing, Self.listing(), owner: nil, client: nil, idempotency: nil).id
        let t0 = Self.start
        #expect(try await store.backfill(subscription.id, [ScoredMatch(eventID: 0, reason: .new, listingID: listing, demandID: Self.demand,
                                                                       subscriptionID: subscription.id, score: 0.9, price: 200_000)], now: t0) == 1)
        let a = try await backend.reopen(store), b = try await backend.reopen(store)
        func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

        try await a.renewWorkerLease(worker: "a", until: at(30), now: t0)
        let claimed = try await a.claimDueSearches(now: t0, worker: "a", limit: 10, leaseSeconds: 300)
        #expect(claimed.flatMap(\.items).map(\.listingID) == [listing])
        #expect(try await b.claimDueSearches(now: at(10), worker: "b", limit: 10, leaseSeconds: 300).isEmpty, "a's lease lives")
        // A heartbeat keeps the claim a's past its first lease.
        try await a.renewWorkerLease(worker: "a", until: at(60), now: at(29))
        #expect(try await b.claimDueSearches(now: at(31), worker: "b", limit: 10, leaseSeconds: 300).isEmpty, "a renewed its lease")
        // No heartbeat: a is taken for dead once its lease runs out, though its claim's own lease has not.
        try await b.renewWorkerLease(worker: "b", until: at(100), now: at(61))
        let taken = try await b.claimDueSearches(now: at(61), worker: "b", limit: 10, leaseSeconds: 300)
        #expect(taken.flatMap(\.items).map(\.outboxID) == claimed.flatMap(\.items).map(\.outboxID))
        #expect(taken.first?.attempt == 1, "a's attempt was never recorded")
        #expect(try await a.claimDueSearches(now: at(62), worker: "a", limit: 10, leaseSeconds: 300).isEmpty, "b's lease lives")
        // Ending a lease gives its claims back at once.
        try await b.endWorkerLease(worker: "b")
        let back = try await a.claimDueSearches(now: at(63), worker: "a", limit: 10, leaseSeconds: 300)
        #expect(back.count == 1)
        // Sent is final, however long after and whoever asks.
        try await a.recordSent(back[0], now: at(64))
        try await a.endWorkerLease(worker: "a")
        #expect(try await b.claimDueSearches(now: at(100_000), worker: "b", limit: 10, leaseSeconds: 300).isEmpty)
        let counts = try await store.notificationCounts(agent: nil, now: at(100_000))
        #expect((counts.queued, counts.retryBacklog, counts.sent, counts.failed) == (0, 0, 1, 0))
    }

    /// `rgis notify run` killed with SIGKILL in the middle of deliveries, again and again: the receiver
    /// kills the worker while it holds the worker's request unanswered, and the next worker takes over
    /// once the dead one's lease runs out.
    @Test("notifier workers killed mid-delivery lose nothing, and no webhook id is answered twice", arguments: Backends.all)
    func killedWorkers(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let pidFile = dir.path("worker.pid")
        let receiver = try Peer("webhook_receiver.py", ["--secret", Self.secret, "--no-timestamp-check", "--kill-pid-file", pidFile, "--kill-every", "3"],
                                log: dir.path("hooks.jsonl"))
        defer { receiver.stop() }
        let (store, _) = try await Self.cityWithSubscription(backend, in: dir, url: "http://127.0.0.1:\(receiver.port)/crm")
        let count = 45
        for i in 0..<count {
            let p = Position(lon: 9.075 + Double(i % 9) * 0.0015, lat: 48.03 + Double(i / 9) * 0.002)
            _ = try await store.create(.listing, Self.listing(at: p), owner: nil, client: nil, idempotency: nil)
        }

        var kills = 0, workers = 0
        func answered() throws -> [String] {
            try receiver.entries().filter { $0["status"]?.number == 200 }.compactMap { $0["id"]?.stringValue }
        }
        let deadline = Date().addingTimeInterval(300)
        var last: Process?
        while try Set(answered()).count < count && Date() < deadline {
            let worker = Process()
            worker.executableURL = URL(fileURLWithPath: Fixtures.rgisExecutable)
            worker.arguments = ["notify", "run", store.location, "--allow-webhook-network", "127.0.0.0/8", "--worker-lease-seconds", "2"]
            worker.standardOutput = Fixtures.devNull()
            worker.standardError = Fixtures.devNull()
            try worker.run()
            workers += 1
            try String(worker.processIdentifier).write(toFile: pidFile, atomically: true, encoding: .utf8)
            last = worker
            // Until the receiver kills it, or everything has been answered.
            while worker.isRunning, try Set(answered()).count < count, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if !worker.isRunning {
                worker.waitUntilExit()
                if worker.terminationReason == .uncaughtSignal && worker.terminationStatus == SIGKILL { kills += 1 }
            }
        }
        // The survivor stops on SIGTERM, cleanly.
        if let last, last.isRunning {
            last.terminate()
            last.waitUntilExit()
            #expect(last.terminationStatus == 0, "graceful shutdown")
        }

        let ids = try answered()
        #expect(kills >= 20, "\(kills) workers killed mid-delivery, \(workers) started")
        #expect(Set(ids).count == count, "every notification answered 2xx: \(Set(ids).count) of \(count)")
        #expect(ids.count == Set(ids).count, "no webhook-id answered 2xx twice")
        let killedRequests = try receiver.entries().filter { $0["killed"] == .bool(true) }.compactMap { $0["id"]?.stringValue }
        #expect(Set(killedRequests).isSubset(of: Set(ids)), "each request cut short was delivered later, under the same webhook-id")
        let counts = try await store.notificationCounts(agent: nil, now: Date())
        #expect((counts.queued, counts.retryBacklog, counts.sent, counts.failed) == (0, 0, count, 0), "\(counts)")
        #expect(try await store.matchWindow(limit: 10).isEmpty, "every event matched")
    }
}

/// A count several tasks add to.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
