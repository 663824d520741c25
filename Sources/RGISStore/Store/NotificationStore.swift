import Foundation
import RGISCore

/// Saved searches and their deliveries. The notifier (RGISNotify) takes listing events from the change
/// feed, scores the matches and queues them; then claims what is due, delivers it and records the
/// outcome. The outbox's key (event, subscription) makes a replay or a restart harmless, and a claim
/// names its worker, whose lease says whether it is alive.
///
/// Under concurrent writers and workers a caller may assume:
/// - **The feed skips nothing and repeats nothing.** Every listing event committed while a saved
///   search is active is in a later ``matchWindow(limit:)`` until a ``queue(_:window:now:)`` of a
///   window holding it succeeds, whatever order the writers' transactions committed in; and once
///   that succeeds, in no window again. Two workers may read the same window: one queue succeeds,
///   the other returns 0 and changes nothing.
/// - Queued notifications are delivered through the one outbox (``DeliveryOutbox``), whose claims,
///   leases and outcomes hold for every kind of message.
public protocol NotificationStore: Sendable {
    /// Saves a search for a demand: as its agent (`caller` must own it) or an admin. A webhook
    /// subscription registers (or reuses) the agent's endpoint for the URL. It starts from now: events
    /// already stored are not matched for it.
    func addSubscription(demand: String, _ settings: AlertSettings, by caller: Caller, now: Date) async throws -> Subscription
    /// Subscriptions of one agent's demands (nil: all), in id order.
    func subscriptions(agent: String?) async throws -> [Subscription]
    func subscription(_ id: Int64) async throws -> Subscription
    /// Turns a subscription on or off, with the reason when off (an unsubscribe, a bounced address).
    func setSubscription(_ id: Int64, active: Bool, reason: String?) async throws -> Subscription
    /// The webhook endpoints of one agent (nil: all), without their secrets.
    func webhookEndpoints(agent: String?) async throws -> [WebhookEndpoint]

    /// The next listing events to match: the `limit` oldest not yet queued.
    func matchWindow(limit: Int) async throws -> MatchWindow
    /// The events of a window that may start a match (less `settled`), each with the subscribed,
    /// active demands within `reach` that its listing now fits (with `beyond`, a smaller reach read
    /// before, only those it did not read): one statement for the window.
    func matchCandidates(_ window: MatchWindow, reach: FitReach, beyond: FitReach?, excluding settled: Set<Int64>) async throws -> [MatchCandidate]
    /// Queues the scored matches of a window and takes its events off the feed, in one transaction;
    /// applies ``NotificationRules/notifies(_:previous:price:priceUpdates:)`` against what each
    /// client was already sent or has queued. Returns how many were queued; 0, with nothing changed,
    /// when another worker took any of the window's events first.
    func queue(_ matches: [ScoredMatch], window: MatchWindow, now: Date) async throws -> Int
    /// Queues the listings that fit a new subscription's demand now (a backfill), keyed by each listing's latest event.
    func backfill(_ subscription: Int64, _ matches: [ScoredMatch], now: Date) async throws -> Int

    func notificationCounts(agent: String?, now: Date) async throws -> NotificationCounts
    /// The newest notifications of one agent's clients (nil: all).
    func notifications(agent: String?, limit: Int) async throws -> [NotificationRecord]
    /// What a client was sent and how they reacted, newest first.
    func ledger(client: String) async throws -> [LedgerEntry]
    /// A client's reaction to a listing sent in message `messageID`.
    func react(messageID: String, _ reaction: Reaction, now: Date) async throws -> LedgerEntry
    /// The listings of a subscription's digest of a local day, best first.
    func digest(subscription: Int64, day: String) async throws -> [String]
    /// The key that signs unsubscribe and reaction links.
    func linkKey() async throws -> [UInt8]
}

public struct Subscription: Sendable {
    public let id: Int64
    public let demandID: String
    public let clientID: String?
    public let agent: String?
    public let settings: AlertSettings
    public let endpointID: Int64?
    public let active: Bool
    public let disabledReason: String?
    public let createdAt: String

    public init(id: Int64, demandID: String, clientID: String?, agent: String?, settings: AlertSettings, endpointID: Int64?,
                active: Bool, disabledReason: String?, createdAt: String) {
        self.id = id
        self.demandID = demandID
        self.clientID = clientID
        self.agent = agent
        self.settings = settings
        self.endpointID = endpointID
        self.active = active
        self.disabledReason = disabledReason
        self.createdAt = createdAt
    }

    /// What an API or `subscriptions list` shows: never the webhook secret.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .int(id), "demand_id": .string(demandID), "channel": .string(settings.channel.name),
            "schedule": .string(settings.schedule.name), "timezone": .string(settings.timeZone),
            "price_updates": .bool(settings.priceUpdates), "active": .bool(active), "created_at": .string(createdAt),
        ]
        if let clientID { o["client_id"] = .string(clientID) }
        if let agent { o["agent"] = .string(agent) }
        switch settings.channel {
        case .email(let address): o["email"] = .string(address)
        case .webhook(let url, _): o["webhook"] = .string(url)
        }
        if let endpointID { o["endpoint_id"] = .int(endpointID) }
        if case .daily(let hour) = settings.schedule { o["digest_hour"] = .int(Int64(hour)) }
        if let quiet = settings.quietHours { o["quiet_hours"] = .string(quiet.description) }
        if let disabledReason { o["disabled_reason"] = .string(disabledReason) }
        return .object(o)
    }
}

public struct WebhookEndpoint: Sendable {
    public let id: Int64
    public let agent: String
    public let url: String
    public let active: Bool
    public let disabledReason: String?
    public let failingSince: Date?

    public init(id: Int64, agent: String, url: String, active: Bool, disabledReason: String?, failingSince: Date?) {
        self.id = id
        self.agent = agent
        self.url = url
        self.active = active
        self.disabledReason = disabledReason
        self.failingSince = failingSince
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["id": .int(id), "agent": .string(agent), "url": .string(url), "active": .bool(active)]
        if let disabledReason { o["disabled_reason"] = .string(disabledReason) }
        if let failingSince { o["failing_since"] = .string(Timestamp.text(failingSince)) }
        return .object(o)
    }
}

/// Listing events from the change feed, matched together.
public struct MatchWindow: Sendable, Equatable {
    /// The events' ids, ascending.
    public let events: [Int64]

    public init(events: [Int64]) {
        self.events = events.sorted()
    }

    public var isEmpty: Bool { events.isEmpty }
}

/// A listing event and a subscribed demand its listing fits.
public struct MatchCandidate: Sendable {
    public let eventID: Int64
    public let reason: NotificationRules.Reason
    public let listingID: String
    public let listing: ListingFacts
    public let position: Position
    public let demand: DemandFit
    public let subscriptionID: Int64

    public init(eventID: Int64, reason: NotificationRules.Reason, listingID: String, listing: ListingFacts, position: Position,
                demand: DemandFit, subscriptionID: Int64) {
        self.eventID = eventID
        self.reason = reason
        self.listingID = listingID
        self.listing = listing
        self.position = position
        self.demand = demand
        self.subscriptionID = subscriptionID
    }
}

/// A match to queue, with its score.
public struct ScoredMatch: Sendable {
    public let eventID: Int64
    public let reason: NotificationRules.Reason
    public let listingID: String
    public let demandID: String
    public let subscriptionID: Int64
    public let score: Double
    public let price: Double?

    public init(eventID: Int64, reason: NotificationRules.Reason, listingID: String, demandID: String, subscriptionID: Int64, score: Double, price: Double?) {
        self.eventID = eventID
        self.reason = reason
        self.listingID = listingID
        self.demandID = demandID
        self.subscriptionID = subscriptionID
        self.score = score
        self.price = price
    }
}

/// One message to send: an instant notification, or a digest of a subscription's local day.
public struct Delivery: Sendable {
    public let subscription: Subscription
    /// For webhooks: the endpoint's URL and secret.
    public let endpoint: (url: String, secret: String)?
    public let items: [DeliveryItem]

    public init(subscription: Subscription, endpoint: (url: String, secret: String)?, items: [DeliveryItem]) {
        self.subscription = subscription
        self.endpoint = endpoint
        self.items = items
    }

    public var isDigest: Bool { items.first?.digestDay != nil }
    /// The attempt this is, 1-based (a digest's items share their attempts).
    public var attempt: Int { (items.map(\.attempts).max() ?? 0) + 1 }
}

public struct DeliveryItem: Sendable {
    public let outboxID: Int64
    public let messageID: String
    public let eventID: Int64
    public let listingID: String
    public let reason: NotificationRules.Reason
    public let score: Double?
    public let price: Double?
    public let attempts: Int
    public let queuedAt: Date
    public let digestDay: String?

    public init(outboxID: Int64, messageID: String, eventID: Int64, listingID: String, reason: NotificationRules.Reason, score: Double?,
                price: Double?, attempts: Int, queuedAt: Date, digestDay: String?) {
        self.outboxID = outboxID
        self.messageID = messageID
        self.eventID = eventID
        self.listingID = listingID
        self.reason = reason
        self.score = score
        self.price = price
        self.attempts = attempts
        self.queuedAt = queuedAt
        self.digestDay = digestDay
    }
}

/// What a failure turns off, with the reason: a webhook endpoint (and its searches), a saved search,
/// or an alert receiver; what it had pending fails with it.
public enum DeliveryDisable: Sendable {
    case endpoint(reason: String)
    case subscription(reason: String)
    case hook(reason: String)
}

public struct NotificationCounts: Sendable, Equatable {
    /// Pending, never tried.
    public var queued: Int
    /// Pending after a failed attempt.
    public var retryBacklog: Int
    public var sent: Int
    public var failed: Int
    /// Seconds since the oldest pending notification was queued (0 when none is pending).
    public var oldestPendingAgeSeconds: Double

    public init(queued: Int, retryBacklog: Int, sent: Int, failed: Int, oldestPendingAgeSeconds: Double) {
        self.queued = queued
        self.retryBacklog = retryBacklog
        self.sent = sent
        self.failed = failed
        self.oldestPendingAgeSeconds = oldestPendingAgeSeconds
    }

    public var json: JSONValue {
        .object(["queued": .int(Int64(queued)), "retry_backlog": .int(Int64(retryBacklog)), "sent": .int(Int64(sent)),
                 "failed": .int(Int64(failed)), "oldest_pending_age_s": .double(oldestPendingAgeSeconds)])
    }
}

/// A notification as its agent sees it: one outbox entry.
public struct NotificationRecord: Sendable, Equatable {
    public let id: Int64
    /// webhook-id and Message-ID: the same on every attempt.
    public let messageID: String
    public let eventID: Int64
    public let subscriptionID: Int64
    public let demandID: String
    public let clientID: String?
    public let agent: String?
    public let listingID: String
    public let reason: NotificationRules.Reason
    public let score: Double?
    public let price: Double?
    /// pending, sent, failed or cancelled.
    public let state: String
    public let attempts: Int
    public let queuedAt: Date
    public let dueAt: Date
    public let sentAt: Date?
    public let lastError: String?
    /// email or webhook.
    public let channel: String

    public init(id: Int64, messageID: String, eventID: Int64, subscriptionID: Int64, demandID: String, clientID: String?, agent: String?,
                listingID: String, reason: NotificationRules.Reason, score: Double?, price: Double?, state: String, attempts: Int,
                queuedAt: Date, dueAt: Date, sentAt: Date?, lastError: String?, channel: String) {
        self.id = id
        self.messageID = messageID
        self.eventID = eventID
        self.subscriptionID = subscriptionID
        self.demandID = demandID
        self.clientID = clientID
        self.agent = agent
        self.listingID = listingID
        self.reason = reason
        self.score = score
        self.price = price
        self.state = state
        self.attempts = attempts
        self.queuedAt = queuedAt
        self.dueAt = dueAt
        self.sentAt = sentAt
        self.lastError = lastError
        self.channel = channel
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .int(id), "message_id": .string(messageID), "event_id": .int(eventID), "subscription_id": .int(subscriptionID),
            "demand_id": .string(demandID), "listing_id": .string(listingID), "reason": .string(reason.rawValue), "state": .string(state),
            "attempts": .int(Int64(attempts)), "queued_at": .string(Timestamp.text(queuedAt)), "due_at": .string(Timestamp.text(dueAt)),
            "channel": .string(channel),
        ]
        if let clientID { o["client_id"] = .string(clientID) }
        if let agent { o["agent"] = .string(agent) }
        if let score { o["score"] = .double(score) }
        if let price { o["price"] = .double(price) }
        if let sentAt { o["sent_at"] = .string(Timestamp.text(sentAt)) }
        if let lastError { o["last_error"] = .string(lastError) }
        return .object(o)
    }
}

public enum Reaction: String, Sendable, CaseIterable {
    case favourite
    case notForMe = "not_for_me"
}

/// A line of a client's ledger: a listing they were sent, when, how, and their reaction.
public struct LedgerEntry: Sendable, Equatable {
    public let clientID: String?
    public let demandID: String
    public let listingID: String
    /// email or webhook, of the last sending.
    public let channel: String
    public let firstSentAt: Date
    public let lastSentAt: Date
    public let timesSent: Int
    /// The price in the last message.
    public let priceSent: Double?
    public let reaction: Reaction?
    public let reactedAt: Date?

    public init(clientID: String?, demandID: String, listingID: String, channel: String, firstSentAt: Date, lastSentAt: Date, timesSent: Int,
                priceSent: Double?, reaction: Reaction?, reactedAt: Date?) {
        self.clientID = clientID
        self.demandID = demandID
        self.listingID = listingID
        self.channel = channel
        self.firstSentAt = firstSentAt
        self.lastSentAt = lastSentAt
        self.timesSent = timesSent
        self.priceSent = priceSent
        self.reaction = reaction
        self.reactedAt = reactedAt
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "demand_id": .string(demandID), "listing_id": .string(listingID), "channel": .string(channel),
            "first_sent_at": .string(Timestamp.text(firstSentAt)), "last_sent_at": .string(Timestamp.text(lastSentAt)),
            "times_sent": .int(Int64(timesSent)),
        ]
        if let clientID { o["client_id"] = .string(clientID) }
        if let priceSent { o["price_sent"] = .double(priceSent) }
        if let reaction { o["reaction"] = .string(reaction.rawValue) }
        if let reactedAt { o["reacted_at"] = .string(Timestamp.text(reactedAt)) }
        return .object(o)
    }
}
