import Foundation
import Logging
import RGISCore
import RGISQuery
import RGISStore
import ServiceLifecycle

/// How the notifier runs.
public struct NotifierConfiguration: Sendable {
    /// This worker's name on its claims and its lease: unique to this run of this process.
    public var worker: String
    /// Listing events matched per window.
    public var matchWindowEvents = 500
    /// The most demands one listing event is sent to, best score first (as the reverse match's default).
    public var demandsPerEvent = QueryEngine.defaultDemandLimit
    /// Deliveries claimed at a time.
    public var claimBatch = 16
    /// How long a claim holds without the worker: past every timeout of a claimed batch.
    public var leaseSeconds: Double = 300
    /// How long the worker's lease lasts past each heartbeat (renewed every third of it): a worker
    /// killed mid-delivery leaves its claims to the others within this.
    public var workerLeaseSeconds: Double = 30
    public var webhookTimeoutSeconds: Double = 15
    /// Seconds between rounds when there is nothing to do.
    public var pollSeconds: Double = 2
    public var mailFrom: String = "rgis@localhost"
    public var publicURL: String = "http://127.0.0.1:8080"
    /// How long the links in messages (reactions, the digest's rest, unsubscribe) work.
    public var linkLifetimeDays: Double = 90

    public init(worker: String = NotifierConfiguration.thisProcess) {
        self.worker = worker
    }

    /// Host and pid for the reader, and a random part, so that no two runs anywhere share a name.
    public static var thisProcess: String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(String(UInt32.random(in: .min ... .max), radix: 36))"
    }
}

/// What a round did.
public struct NotifyRound: Sendable, Equatable {
    public var eventsMatched = 0
    public var queued = 0
    public var sent = 0
    public var retried = 0
    public var failed = 0
    /// Alert raisings and clearings queued for planners' receivers.
    public var alertsQueued = 0

    public init() {}

    public var json: JSONValue {
        .object(["events_matched": .int(Int64(eventsMatched)), "queued": .int(Int64(queued)), "sent": .int(Int64(sent)),
                 "retried": .int(Int64(retried)), "failed": .int(Int64(failed)), "alerts_queued": .int(Int64(alertsQueued))])
    }
}

/// Turns listing events into deliveries: the reverse match of each event against the saved searches
/// (``NotificationStore/matchCandidates(_:reach:excluding:)``, scored by ``QueryEngine/scoreValue(_:at:for:)``) into the
/// outbox, then every due notification out by webhook or e-mail, with retries; and, with an
/// ``AlertWatchConfiguration``, the district alerts' raisings and clearings to planners' receivers
/// (`AlertWatch.swift`). Time comes from `clock`, so that tests drive it.
public struct Notifier: Sendable {
    public typealias Store = NotificationStore & FeatureStore & AlertHookStore & DeliveryOutbox

    let store: any Store
    let webhooks: any WebhookTransport
    let mail: (any MailTransport)?
    let configuration: NotifierConfiguration
    let clock: @Sendable () -> Date
    let jitter: @Sendable () -> Double
    let logger: Logger
    let alertWatch: AlertWatchConfiguration?
    let alertWatchTimer = AlertWatchTimer()

    public init(store: any Store, webhooks: any WebhookTransport, mail: (any MailTransport)?, configuration: NotifierConfiguration,
                alerts: AlertWatchConfiguration? = nil,
                clock: @escaping @Sendable () -> Date = { Date() }, jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                logger: Logger = Logger(label: "rgis.notify")) {
        self.alertWatch = alerts
        self.store = store
        self.webhooks = webhooks
        self.mail = mail
        self.configuration = configuration
        self.clock = clock
        self.jitter = jitter
        self.logger = logger
    }

    /// Matches every waiting event, then delivers everything due, until nothing is left.
    public func runOnce() async throws -> NotifyRound {
        try await renewLease()
        var round = NotifyRound()
        try await match(into: &round)
        try await watchAlerts(into: &round)
        try await deliverDue(into: &round)
        return round
    }

    /// Rounds until cancelled. A graceful shutdown lets the round in flight finish its deliveries
    /// and gives back what it had claimed but not started.
    public func run() async throws {
        // The heartbeat runs beside the rounds, so that a long delivery keeps the worker's claims.
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(configuration.workerLeaseSeconds / 3))
                do {
                    try await renewLease()
                } catch let error as RGISError where error.code == .notSupported {
                    return
                } catch {
                    logger.warning("notify heartbeat failed: \(error)")
                }
            }
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let round = try await cancelWhenGracefulShutdown { try await runOnce() }
                if round.sent + round.failed + round.retried + round.queued + round.alertsQueued > 0 {
                    logger.info("notify round", metadata: ["queued": "\(round.queued)", "alerts_queued": "\(round.alertsQueued)", "sent": "\(round.sent)",
                                                           "retried": "\(round.retried)", "failed": "\(round.failed)"])
                }
            } catch is CancellationError {
                break
            } catch let error as RGISError where error.code == .notSupported {
                // The store has no outbox: said once, and the notifier waits for the shutdown (a service
                // that ends would end the server with it).
                logger.notice("notifications are not sent: \(error.reason)")
                heartbeat.cancel()
                try? await gracefulShutdown()
                return
            } catch {
                logger.error("notify round failed: \(error)")
            }
            try? await Task.sleep(for: .seconds(configuration.pollSeconds))
        }
        // Stopped before the lease ends, so that no beat renews it afterwards.
        heartbeat.cancel()
        try? await endLease()
    }

    /// Keeps this worker's claims its own for another ``NotifierConfiguration/workerLeaseSeconds``.
    func renewLease() async throws {
        let now = clock()
        try await store.renewWorkerLease(worker: configuration.worker, until: now.addingTimeInterval(configuration.workerLeaseSeconds), now: now)
    }

    /// Ends this worker's lease and gives back what it claimed but did not finish (a shutdown, or the
    /// end of a single round).
    public func endLease() async throws {
        try await store.endWorkerLease(worker: configuration.worker)
    }

    // MARK: Matching

    /// Only the matching half of a round: every waiting event into the outbox.
    public func matchPending() async throws -> NotifyRound {
        var round = NotifyRound()
        try await match(into: &round)
        return round
    }

    /// Window by window: each round of ``FitReach/rounds`` is one statement for the window's events
    /// not yet settled, so that a bulk import reads near the centres first and everywhere only
    /// for the events that need it.
    func match(into round: inout NotifyRound) async throws {
        while true {
            let window = try await store.matchWindow(limit: configuration.matchWindowEvents)
            if window.isEmpty { return }
            var settled: [Int64: [ScoredMatch]] = [:]
            // Each round reads only the ring the previous left, for the events not yet settled.
            var candidates: [MatchCandidate] = []
            var read: FitReach? = nil
            for reach in FitReach.rounds {
                let ring = try await store.matchCandidates(window, reach: reach, beyond: read, excluding: Set(settled.keys))
                candidates = (candidates.filter { settled[$0.eventID] == nil } + ring).sorted { ($0.eventID, $0.subscriptionID) < ($1.eventID, $1.subscriptionID) }
                settled.merge(Self.best(candidates, demandsPerEvent: configuration.demandsPerEvent, settledBy: reach)) { a, _ in a }
                read = reach
            }
            // The outbox rules read the window in event order, then subscription order.
            let scored = settled.values.joined().sorted { ($0.eventID, $0.subscriptionID) < ($1.eventID, $1.subscriptionID) }
            round.eventsMatched += window.events.count
            round.queued += try await store.queue(scored, window: window, now: clock())
        }
    }

    /// Each event's matches, scored, limited to its best `demandsPerEvent` demands (every saved search
    /// of those), so that one listing reaches the clients it fits best and a bulk import stays
    /// bounded; only the events whose best `reach` settles (``FitReach/settles(bestFirst:limit:)``).
    static func best(_ candidates: [MatchCandidate], demandsPerEvent: Int, settledBy reach: FitReach) -> [Int64: [ScoredMatch]] {
        var out: [Int64: [ScoredMatch]] = [:]
        var start = candidates.startIndex
        while start < candidates.endIndex {
            let event = candidates[start].eventID
            var end = start
            while end < candidates.endIndex && candidates[end].eventID == event { end += 1 }
            let scored = candidates[start..<end].map { c in
                (c, QueryEngine.scoreValue(c.listing, at: c.position, for: c.demand))
            }.sorted { ($0.1, -$0.0.demand.fid, -$0.0.subscriptionID) > ($1.1, -$1.0.demand.fid, -$1.0.subscriptionID) }
            var kept = Set<Int64>()
            var keptScores: [Double] = []
            var matches: [ScoredMatch] = []
            for (c, score) in scored {
                if !kept.contains(c.demand.fid) {
                    guard kept.count < demandsPerEvent else { continue }
                    kept.insert(c.demand.fid)
                    keptScores.append(score)
                }
                matches.append(ScoredMatch(eventID: c.eventID, reason: c.reason, listingID: c.listingID, demandID: c.demand.id,
                                           subscriptionID: c.subscriptionID, score: score, price: c.listing.price))
            }
            if reach.settles(bestFirst: keptScores, limit: demandsPerEvent) { out[event] = matches }
            start = end
        }
        return out
    }

    // MARK: Delivery

    func deliverDue(into round: inout NotifyRound) async throws {
        while true {
            try Task.checkCancellation()
            let messages = try await store.claimDue(now: clock(), worker: configuration.worker, limit: configuration.claimBatch, leaseSeconds: configuration.leaseSeconds)
            if messages.isEmpty { return }
            // One message at a time per receiver (a CRM sees its events in order); receivers and mail in parallel.
            let lanes = Dictionary(grouping: messages, by: \.lane).values
            let outcomes = await withTaskGroup(of: [Outcome].self) { group in
                for lane in lanes {
                    group.addTask {
                        var outcomes: [Outcome] = []
                        // Past a shutdown, the rest of the lane stays claimed and is given back.
                        for message in lane where !Task.isCancelled {
                            switch message {
                            case .search(let delivery): outcomes.append(await deliver(delivery))
                            case .alert(let delivery):
                                // Recorded outside the caller's task, as a notification's outcome is.
                                if let outcome = await Task(operation: { await attempt(delivery) }).value { outcomes.append(outcome) }
                            }
                        }
                        return outcomes
                    }
                }
                var all: [Outcome] = []
                for await lane in group { all += lane }
                return all
            }
            for outcome in outcomes {
                switch outcome {
                case .sent: round.sent += 1
                case .retry: round.retried += 1
                case .failed: round.failed += 1
                }
            }
        }
    }

    enum Outcome { case sent, retry, failed }

    /// Delivers and records the outcome. The recording runs outside the caller's task, so that a
    /// shutdown arriving mid-delivery cannot lose the record of a message already accepted.
    func deliver(_ delivery: Delivery) async -> Outcome {
        await Task { await attempt(delivery) }.value
    }

    private func attempt(_ delivery: Delivery) async -> Outcome {
        do {
            let listings = try await currentListings(delivery)
            // A listing withdrawn or off the market since it was queued is not sent (nor logged as sent).
            let gone = delivery.items.filter { item in !listings.contains { $0.0.outboxID == item.outboxID } }
            if !gone.isEmpty {
                try await store.recordFailure(.search(Delivery(subscription: delivery.subscription, endpoint: delivery.endpoint, items: gone)),
                                              error: "the listing is no longer active", retryAt: nil, disable: nil, now: clock())
            }
            if listings.isEmpty { return .failed }
            let shown = Delivery(subscription: delivery.subscription, endpoint: delivery.endpoint, items: listings.map(\.0))
            switch delivery.subscription.settings.channel {
            case .webhook: return try await deliverWebhook(shown, listings)
            case .email(let address): return try await deliverMail(shown, listings, to: address)
            }
        } catch {
            logger.error("delivery of \(delivery.items.first?.messageID ?? "?") could not be recorded: \(error)")
            return .retry
        }
    }

    /// The items' listings as they are now; a listing withdrawn or no longer active since is left out.
    func currentListings(_ delivery: Delivery) async throws -> [(DeliveryItem, StoredFeature)] {
        var found: [(DeliveryItem, StoredFeature)] = []
        for item in delivery.items {
            guard let feature = try? await store.feature(.listings, id: item.listingID),
                  feature.properties["status"]?.stringValue == "active" else { continue }
            found.append((item, feature))
        }
        return found
    }

    func composer() async throws -> MessageComposer {
        MessageComposer(mailFrom: configuration.mailFrom, publicURL: configuration.publicURL, signer: LinkSigner(key: try await store.linkKey()),
                        linksExpire: clock().addingTimeInterval(configuration.linkLifetimeDays * 86_400))
    }

    func deliverWebhook(_ delivery: Delivery, _ listings: [(DeliveryItem, StoredFeature)]) async throws -> Outcome {
        guard let endpoint = delivery.endpoint, let (item, listing) = listings.first else { return .failed }
        let secret = try WebhookSecret(endpoint.secret)
        let now = clock()
        let body = try await composer().webhookPayload(item, delivery.subscription, listing: listing, now: now)
        let headers = StandardWebhooks.headers(secret: secret, id: item.messageID, timestamp: Int64(now.timeIntervalSince1970), body: body)
        let reply: HTTPReply
        do {
            reply = try await webhooks.post(url: endpoint.url, headers: headers, body: body, timeoutSeconds: configuration.webhookTimeoutSeconds)
        } catch {
            logger.info("webhook for subscription \(delivery.subscription.id) not delivered: \((error as? TransportError)?.detail ?? "\(error)")")
            return try await failed(delivery, error: "\(TransportError.classifying(error))", retryAfter: nil)
        }
        switch Self.verdict(reply) {
        case .accepted:
            try await store.recordSent(.search(delivery), now: clock())
            return .sent
        case .gone:
            try await store.recordFailure(.search(delivery), error: "failed: HTTP 410 (gone)", retryAt: nil,
                                          disable: .endpoint(reason: "the endpoint answered 410 Gone at \(Timestamp.text(now))"), now: clock())
            return .failed
        case .retry(let retryAfter):
            return try await failed(delivery, error: "failed: HTTP \(reply.status)", retryAfter: retryAfter)
        }
    }

    /// What a receiver's reply means, for every webhook the notifier sends: 2xx accepted; 410 gone for
    /// good (the receiver is turned off); anything else retried, after `Retry-After` for 429 and 503.
    enum Verdict { case accepted, gone, retry(after: Double?) }

    static func verdict(_ reply: HTTPReply) -> Verdict {
        switch reply.status {
        case 200..<300: .accepted
        case 410: .gone
        case 429, 503: .retry(after: reply.retryAfterSeconds)
        default: .retry(after: nil)
        }
    }

    func deliverMail(_ delivery: Delivery, _ listings: [(DeliveryItem, StoredFeature)], to address: String) async throws -> Outcome {
        guard let mail else {
            return try await failed(delivery, error: "no SMTP server is configured (--smtp)", retryAfter: nil)
        }
        let message = try await composer().mail(delivery, listings: listings, to: address, now: clock(), hostName: ProcessInfo.processInfo.hostName)
        do {
            try await mail.send(message)
        } catch let error as SMTPError where error.isPermanent && error.stage == "RCPT TO" {
            // The address is refused for good: the search is turned off, with the reply kept.
            try await store.recordFailure(.search(delivery), error: error.description, retryAt: nil,
                                          disable: .subscription(reason: "the mail server refused \(address): \(error.reply?.text ?? "")"), now: clock())
            return .failed
        } catch let error as SMTPError where error.isPermanent && error.stage == "message" {
            // This message is refused (its content, its size): no retry, the search stays on.
            try await store.recordFailure(.search(delivery), error: error.description, retryAt: nil, disable: nil, now: clock())
            return .failed
        } catch {
            // 4xx, a lost connection, or a refusal of our own setup (AUTH, MAIL FROM): retried, and logged.
            logger.warning("mail to \(address) not sent: \(error)")
            return try await failed(delivery, error: "\(error)", retryAfter: nil)
        }
        try await store.recordSent(.search(delivery), now: clock())
        return .sent
    }

    /// A failed attempt: retried on the schedule (or after `Retry-After`), failed for good after the
    /// last; an endpoint failing for five days without a success is disabled.
    func failed(_ delivery: Delivery, error: String, retryAfter: Double?) async throws -> Outcome {
        let now = clock()
        let delay = RetryPolicy.delay(afterAttempt: delivery.attempt, jitter: jitter(), retryAfter: retryAfter)
        let failingSince = try await store.recordFailure(.search(delivery), error: error, retryAt: delay.map { now.addingTimeInterval($0) }, disable: nil, now: now)
        if let failingSince, now.timeIntervalSince(failingSince) >= RetryPolicy.endpointGiveUpSeconds {
            try await store.recordFailure(.search(delivery), error: error, retryAt: nil,
                                          disable: .endpoint(reason: "failing since \(Timestamp.text(failingSince)) (last: \(error))"), now: now)
            return .failed
        }
        return delay == nil ? .failed : .retry
    }
}

extension Notifier: Service {
    /// Runs until SIGTERM or SIGINT, then shuts down gracefully (``run()``).
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(configuration: .init(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
