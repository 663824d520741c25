import Foundation
import RGISCore

/// Planners' receivers of the early warning and their deliveries. The notifier (RGISNotify) reads the
/// alerts in force whenever the market, the month or the rules changed since ``alertWatch()``, and
/// stores the new state with the raisings and clearings it found in one transaction
/// (``recordAlertWatch(previous:mark:state:transitions:now:)``); their messages go through the one
/// outbox (``DeliveryOutbox``) with the saved-search notifications.
public protocol AlertHookStore: Sendable {
    /// Adds a receiver for `owner`, or turns an existing one (same owner, URL and level) back on with the new secret.
    func addAlertHook(owner: String, _ request: AlertHookRequest, now: Date) async throws -> AlertHook
    /// The receivers of one owner (nil: all), in id order, never with their secrets.
    func alertHooks(owner: String?) async throws -> [AlertHook]
    func alertHook(_ id: Int64) async throws -> AlertHook
    func setAlertHook(_ id: Int64, active: Bool, reason: String?) async throws -> AlertHook

    /// What the watcher last read, and the alerts in force then; nil before the first read.
    func alertWatch() async throws -> (mark: AlertWatchMark, state: [AlertStateEntry])?
    /// Replaces the state with `state` and queues each transition for every active receiver of its
    /// level (a clearing only for receivers that existed when it was raised), in one transaction.
    /// Returns how many were queued, or nil when the stored mark is no longer `previous` (another
    /// worker recorded first).
    func recordAlertWatch(previous: AlertWatchMark?, mark: AlertWatchMark, state: [AlertStateEntry], transitions: [AlertTransition],
                          now: Date) async throws -> Int?
    /// Forgets the state, so that the next read is a new start (nothing is sent for it).
    func resetAlertWatch() async throws
}

/// A planner's receiver of `district.alert.raised` and `district.alert.cleared`.
public struct AlertHook: Sendable {
    public let id: Int64
    public let owner: String
    public let url: String
    public let level: DistrictLevel?
    public let active: Bool
    public let disabledReason: String?
    public let failingSince: Date?
    public let createdAt: Date
    /// Its deliveries by state (pending, sent, failed).
    public let deliveries: [String: Int]

    public init(id: Int64, owner: String, url: String, level: DistrictLevel?, active: Bool, disabledReason: String?, failingSince: Date?,
                createdAt: Date, deliveries: [String: Int]) {
        self.id = id
        self.owner = owner
        self.url = url
        self.level = level
        self.active = active
        self.disabledReason = disabledReason
        self.failingSince = failingSince
        self.createdAt = createdAt
        self.deliveries = deliveries
    }

    /// What the API and `rgis alert-hooks list` show: never the secret.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .int(id), "owner": .string(owner), "url": .string(url), "level": level.map { .string($0.rawValue) } ?? .null,
            "active": .bool(active), "created_at": .string(Timestamp.text(createdAt)),
            "deliveries": .object(Dictionary(uniqueKeysWithValues: ["pending", "sent", "failed"].map { ($0, JSONValue.int(Int64(deliveries[$0] ?? 0))) })),
        ]
        if let disabledReason { o["disabled_reason"] = .string(disabledReason) }
        if let failingSince { o["failing_since"] = .string(Timestamp.text(failingSince)) }
        return .object(o)
    }
}

/// What the alerts in force were read from: equal marks, equal alerts.
public struct AlertWatchMark: Sendable, Equatable {
    public let market: ChangeToken
    /// The last complete month read (`YYYY-MM`).
    public let month: String
    /// ``AlertRules/fingerprint``.
    public let rules: String

    public init(market: ChangeToken, month: String, rules: String) {
        self.market = market
        self.month = month
        self.rules = rules
    }
}

/// An alert in force as the watcher saw it.
public struct AlertStateEntry: Sendable, Equatable {
    public let level: String
    public let districtID: String
    public let rule: String
    /// The first month of its run (`YYYY-MM`).
    public let since: String
    /// When it was first seen raised.
    public let raisedAt: Date
    /// The alert as it was raised: the `data` of its webhook (JSON text).
    public let properties: String

    public init(level: String, districtID: String, rule: String, since: String, raisedAt: Date, properties: String) {
        self.level = level
        self.districtID = districtID
        self.rule = rule
        self.since = since
        self.raisedAt = raisedAt
        self.properties = properties
    }

    public var key: String { "\(level)|\(districtID)|\(rule)" }
}

/// A raising or clearing to send: its webhook's body, fixed when found.
public struct AlertTransition: Sendable {
    public enum Kind: String, Sendable {
        case raised = "district.alert.raised"
        case cleared = "district.alert.cleared"
    }

    public let kind: Kind
    public let alert: AlertStateEntry
    /// The Standard Webhooks payload (JSON text).
    public let body: String

    public init(kind: Kind, alert: AlertStateEntry, body: String) {
        self.kind = kind
        self.alert = alert
        self.body = body
    }

    /// The same on every attempt and every replay: the receiver, the kind and the alert's run.
    public func messageID(hook: Int64) -> String {
        "msg_" + Digest.sha256Hex("\(hook)|\(kind.rawValue)|\(alert.key)|\(alert.since)").prefix(32)
    }
}

/// One claimed alert message and where it goes.
public struct AlertDelivery: Sendable {
    public let outboxID: Int64
    public let hookID: Int64
    public let url: String
    public let secret: String
    public let messageID: String
    public let body: String
    /// The attempt this is, 1-based.
    public let attempt: Int

    public init(outboxID: Int64, hookID: Int64, url: String, secret: String, messageID: String, body: String, attempt: Int) {
        self.outboxID = outboxID
        self.hookID = hookID
        self.url = url
        self.secret = secret
        self.messageID = messageID
        self.body = body
        self.attempt = attempt
    }
}
