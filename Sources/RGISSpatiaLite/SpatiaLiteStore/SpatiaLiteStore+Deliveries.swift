import Foundation
import GRDB
import RGISCore
import RGISStore

/// The one outbox (``DeliveryOutbox``) on the `deliveries` table: claims under worker leases
/// (`notify_workers`), outcomes and give-backs written once for every kind of message.
extension SpatiaLiteStore {
    public func renewWorkerLease(worker: String, until: Date, now: Date) async throws {
        try await write { db in
            try db.execute(literal: """
                INSERT INTO notify_workers (worker, started_at, lease_until) VALUES (\(worker), \(Self.seconds(now)), \(Self.seconds(until)))
                ON CONFLICT (worker) DO UPDATE SET lease_until = excluded.lease_until
                """)
        }
    }

    public func endWorkerLease(worker: String) async throws {
        try await write { db in
            try db.execute(literal: "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = \(worker) AND state = 'pending'")
            try db.execute(literal: "DELETE FROM notify_workers WHERE worker = \(worker)")
        }
    }

    /// Whether the claim on delivery row `o` is free at `t`: never claimed, its claim expired, or
    /// held by a worker without a live lease (gone without ending it: killed, or its machine lost).
    static func claimIsFree(_ t: Int64) -> SQL {
        """
        (o.claimed_by IS NULL OR o.claimed_until < \(t)
         OR NOT EXISTS (SELECT 1 FROM notify_workers w WHERE w.worker = o.claimed_by AND w.lease_until >= \(t)))
        """
    }

    public func claimDue(now: Date, worker: String, limit: Int, leaseSeconds: Double) async throws -> [OutboxMessage] {
        try await write { db in
            let t = Self.seconds(now)
            let free = Self.claimIsFree(t)
            let due = try db.rows("""
                SELECT o.id, o.kind, o.subscription_id, o.digest_day FROM deliveries o
                WHERE o.state = 'pending' AND o.due_at <= \(t) AND \(free)
                ORDER BY o.due_at, o.id LIMIT \(limit)
                """)
            enum Group { case search(subscription: Int64, ids: [Int64]), alert(Int64) }
            var groups: [Group] = []
            var digestGroup: Set<String> = []
            for row in due {
                let id: Int64 = row[0]
                guard row[1] as String == "search" else { groups.append(.alert(id)); continue }
                let sub: Int64 = row[2]
                if let day = row[3] as String? {
                    guard digestGroup.insert("\(sub) \(day)").inserted else { continue }
                    // A digest goes whole: every pending row of its subscription and local day.
                    let ids = try db.values("""
                        SELECT id FROM deliveries o WHERE subscription_id = \(sub) AND digest_day = \(day) AND state = 'pending' AND due_at <= \(t)
                        AND \(free) ORDER BY score DESC, id
                        """, as: Int64.self)
                    groups.append(.search(subscription: sub, ids: ids))
                } else {
                    groups.append(.search(subscription: sub, ids: [id]))
                }
            }
            let until = t + Int64(leaseSeconds.rounded(.up))
            var messages: [OutboxMessage] = []
            for group in groups {
                switch group {
                case .search(let subscriptionID, let ids):
                    try db.execute(literal: "UPDATE deliveries SET claimed_by = \(worker), claimed_until = \(until) WHERE id IN (\(SpatialSQL.list(ids)))")
                    let subscription = try Self.subscription(db, id: subscriptionID)
                    let items = try db.rows("""
                        SELECT id, message_id, event_id, listing_id, reason, score, price, attempts, queued_at, digest_day
                        FROM deliveries WHERE id IN (\(SpatialSQL.list(ids))) ORDER BY score DESC, id
                        """).map { row in
                        DeliveryItem(outboxID: row[0], messageID: row[1], eventID: row[2], listingID: row[3],
                                     reason: NotificationRules.Reason(rawValue: row[4]) ?? .new, score: row[5], price: row[6], attempts: row[7],
                                     queuedAt: Self.date(row[8]), digestDay: row[9])
                    }
                    var endpoint: (url: String, secret: String)?
                    if case .webhook(let url, let secret) = subscription.settings.channel { endpoint = (url, secret) }
                    messages.append(.search(Delivery(subscription: subscription, endpoint: endpoint, items: items)))
                case .alert(let id):
                    try db.execute(literal: "UPDATE deliveries SET claimed_by = \(worker), claimed_until = \(until) WHERE id = \(id)")
                    let row = try db.row("""
                        SELECT o.id, o.hook_id, h.url, h.secret, o.message_id, o.body, o.attempts FROM deliveries o JOIN alert_hooks h ON h.id = o.hook_id
                        WHERE o.id = \(id)
                        """)!
                    messages.append(.alert(AlertDelivery(outboxID: row[0], hookID: row[1], url: row[2], secret: row[3], messageID: row[4],
                                                         body: row[5], attempt: (row[6] as Int) + 1)))
                }
            }
            return messages
        }
    }

    /// The rows a message is made of.
    private static func rows(_ message: OutboxMessage) -> [Int64] {
        switch message {
        case .search(let delivery): delivery.items.map(\.outboxID)
        case .alert(let delivery): [delivery.outboxID]
        }
    }

    public func recordSent(_ message: OutboxMessage, now: Date) async throws {
        let t = Self.seconds(now)
        try await write { db in
            try db.execute(literal: """
                UPDATE deliveries SET state = 'sent', sent_at = \(t), attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claimed_until = NULL
                WHERE id IN (\(SpatialSQL.list(Self.rows(message))))
                """)
            switch message {
            case .search(let delivery):
                let s = delivery.subscription
                for item in delivery.items {
                    try db.execute(literal: """
                        INSERT INTO client_listings (demand_id, listing_id, client_id, channel, first_sent_at, last_sent_at, price_sent)
                        VALUES (\(s.demandID), \(item.listingID), \(s.clientID), \(s.settings.channel.name), \(t), \(t), \(item.price))
                        ON CONFLICT (demand_id, listing_id) DO UPDATE SET last_sent_at = excluded.last_sent_at, times_sent = times_sent + 1,
                            price_sent = excluded.price_sent, channel = excluded.channel
                        """)
                }
                if let endpoint = s.endpointID {
                    try db.execute(literal: "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = \(endpoint)")
                }
            case .alert(let delivery):
                try db.execute(literal: "UPDATE alert_hooks SET failing_since = NULL WHERE id = \(delivery.hookID)")
            }
        }
    }

    @discardableResult
    public func recordFailure(_ message: OutboxMessage, error: String, retryAt: Date?, disable: DeliveryDisable?, now: Date) async throws -> Date? {
        let t = Self.seconds(now)
        return try await write { db in
            let retry = retryAt.map(Self.seconds)
            try db.execute(literal: """
                UPDATE deliveries SET attempts = attempts + 1, last_error = \(error), claimed_by = NULL, claimed_until = NULL,
                    state = \(retry == nil ? "failed" : "pending"), due_at = COALESCE(\(retry), due_at)
                WHERE id IN (\(SpatialSQL.list(Self.rows(message))))
                """)
            switch message {
            case .search(let delivery):
                let s = delivery.subscription
                switch disable {
                case .endpoint(let reason)?:
                    if let endpoint = s.endpointID {
                        try db.execute(literal: "UPDATE webhook_endpoints SET active = 0, disabled_reason = \(reason) WHERE id = \(endpoint)")
                        try db.execute(literal: """
                            UPDATE deliveries SET state = 'failed', last_error = \(reason), claimed_by = NULL
                            WHERE state = 'pending' AND subscription_id IN (SELECT id FROM subscriptions WHERE endpoint_id = \(endpoint))
                            """)
                        try db.execute(literal: "UPDATE subscriptions SET active = 0, disabled_reason = \(reason) WHERE endpoint_id = \(endpoint)")
                    }
                case .subscription(let reason)?:
                    try db.execute(literal: "UPDATE subscriptions SET active = 0, disabled_reason = \(reason) WHERE id = \(s.id)")
                    try db.execute(literal: "UPDATE deliveries SET state = 'failed', last_error = \(reason), claimed_by = NULL WHERE state = 'pending' AND subscription_id = \(s.id)")
                case .hook?, nil: break
                }
                guard let endpoint = s.endpointID else { return nil }
                try db.execute(literal: "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, \(t)) WHERE id = \(endpoint)")
                return try db.value("SELECT failing_since FROM webhook_endpoints WHERE id = \(endpoint)", as: Int64.self).map(Self.date)
            case .alert(let delivery):
                if case .hook(let reason)? = disable {
                    try db.execute(literal: "UPDATE alert_hooks SET active = 0, disabled_reason = \(reason) WHERE id = \(delivery.hookID)")
                    try db.execute(literal: """
                        UPDATE deliveries SET state = 'failed', last_error = \(reason), claimed_by = NULL WHERE hook_id = \(delivery.hookID) AND state = 'pending'
                        """)
                }
                try db.execute(literal: "UPDATE alert_hooks SET failing_since = COALESCE(failing_since, \(t)) WHERE id = \(delivery.hookID)")
                return try db.value("SELECT failing_since FROM alert_hooks WHERE id = \(delivery.hookID)", as: Int64.self).map(Self.date)
            }
        }
    }
}
