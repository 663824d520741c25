import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// The one outbox (``DeliveryOutbox``): claims under worker leases (`notify_workers`) taken with `FOR
/// UPDATE SKIP LOCKED` (several workers, on any number of replicas, never wait on or take each other's
/// rows), outcomes and give-backs, once for every kind of message.
extension PostGISStore {
    public func renewWorkerLease(worker: String, until: Date, now: Date) async throws {
        var q = SQLText("INSERT INTO notify_workers (worker, started_at, lease_until) VALUES (")
        q.bind(worker)
        q.sql(", ")
        q.bind(Self.seconds(now))
        q.sql(", ")
        q.bind(Self.seconds(until))
        q.sql(") ON CONFLICT (worker) DO UPDATE SET lease_until = excluded.lease_until")
        try await run(q)
    }

    public func endWorkerLease(worker: String) async throws {
        try await transaction { session in
            var free = SQLText("UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL WHERE state = 'pending' AND claimed_by = ")
            free.bind(worker)
            try await session.run(free)
            var gone = SQLText("DELETE FROM notify_workers WHERE worker = ")
            gone.bind(worker)
            try await session.run(gone)
        }
    }

    /// Whether the claim on delivery row `o` is free at `$t`: never claimed, its claim expired, or held
    /// by a worker without a live lease (gone without ending it: killed, or its machine lost).
    private static func appendFree(_ q: inout SQLText, at t: Int64) {
        q.sql(" AND (o.claimed_by IS NULL OR o.claimed_until < ")
        q.bind(t)
        q.sql(" OR NOT EXISTS (SELECT 1 FROM notify_workers w WHERE w.worker = o.claimed_by AND w.lease_until >= ")
        q.bind(t)
        q.sql("))")
    }

    public func claimDue(now: Date, worker: String, limit: Int, leaseSeconds: Double) async throws -> [OutboxMessage] {
        let t = Self.seconds(now)
        let until = t + Int64(leaseSeconds.rounded(.up))
        return try await transaction { session in
            var due = SQLText("SELECT o.id, o.kind, o.subscription_id, o.digest_day FROM deliveries o WHERE o.state = 'pending' AND o.due_at <= ")
            due.bind(t)
            Self.appendFree(&due, at: t)
            due.sql(" ORDER BY o.due_at, o.id LIMIT ")
            due.bind(Int64(limit))
            due.sql(" FOR UPDATE SKIP LOCKED")
            enum Group { case search(subscription: Int64, ids: [Int64]), alert(Int64) }
            var groups: [Group] = []
            var digests: Set<String> = []
            for row in try await session.rows(due) {
                let id = try row[0].decode(Int64.self)
                guard try row[1].decode(String.self) == "search" else { groups.append(.alert(id)); continue }
                let subscription = try row[2].decode(Int64.self)
                guard let day = try row[3].decode(String?.self) else { groups.append(.search(subscription: subscription, ids: [id])); continue }
                guard digests.insert("\(subscription) \(day)").inserted else { continue }
                // A digest goes whole: every pending row of its subscription and local day (those another worker holds stay its).
                var whole = SQLText("SELECT o.id FROM deliveries o WHERE o.subscription_id = ")
                whole.bind(subscription)
                whole.sql(" AND o.digest_day = ")
                whole.bind(day)
                whole.sql(" AND o.state = 'pending' AND o.due_at <= ")
                whole.bind(t)
                Self.appendFree(&whole, at: t)
                whole.sql(" ORDER BY o.score DESC NULLS LAST, o.id FOR UPDATE SKIP LOCKED")
                let ids = try await session.rows(whole).map { try $0[0].decode(Int64.self) }
                groups.append(.search(subscription: subscription, ids: ids.isEmpty ? [id] : ids))
            }
            var messages: [OutboxMessage] = []
            for group in groups {
                var claim = SQLText("UPDATE deliveries SET claimed_by = ")
                claim.bind(worker)
                claim.sql(", claimed_until = ")
                claim.bind(until)
                claim.sql(" WHERE id = ANY(")
                switch group {
                case .search(let subscriptionID, let ids):
                    claim.bind(ids)
                    claim.sql(")")
                    try await session.run(claim)
                    let subscription = try await Self.subscription(session, id: subscriptionID)
                    var items = SQLText("""
                        SELECT id, message_id, event_id, listing_id, reason, score, price, attempts, queued_at, digest_day
                        FROM deliveries WHERE id = ANY(
                        """)
                    items.bind(ids)
                    items.sql(") ORDER BY score DESC NULLS LAST, id")
                    let parts = try await session.rows(items).map { row in
                        DeliveryItem(outboxID: try row[0].decode(Int64.self), messageID: try row[1].decode(String.self), eventID: try row[2].decode(Int64.self),
                                     listingID: try row[3].decode(String.self),
                                     reason: NotificationRules.Reason(rawValue: try row[4].decode(String.self)) ?? .new, score: try row[5].decode(Double?.self),
                                     price: try row[6].decode(Double?.self), attempts: Int(try row[7].decode(Int32.self)),
                                     queuedAt: Self.date(try row[8].decode(Int64.self)), digestDay: try row[9].decode(String?.self))
                    }
                    var endpoint: (url: String, secret: String)?
                    if case .webhook(let url, let secret) = subscription.settings.channel { endpoint = (url, secret) }
                    messages.append(.search(Delivery(subscription: subscription, endpoint: endpoint, items: parts)))
                case .alert(let id):
                    claim.bind([id])
                    claim.sql(")")
                    try await session.run(claim)
                    var alert = SQLText("""
                        SELECT o.id, o.hook_id, h.url, h.secret, o.message_id, o.body, o.attempts FROM deliveries o JOIN alert_hooks h ON h.id = o.hook_id
                        WHERE o.id =\u{20}
                        """)
                    alert.bind(id)
                    let row = try await session.rows(alert)[0]
                    messages.append(.alert(AlertDelivery(outboxID: try row[0].decode(Int64.self), hookID: try row[1].decode(Int64.self),
                                                         url: try row[2].decode(String.self), secret: try row[3].decode(String.self),
                                                         messageID: try row[4].decode(String.self), body: try row[5].decode(String.self),
                                                         attempt: Int(try row[6].decode(Int32.self)) + 1)))
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
        try await transaction { session in
            var sent = SQLText("UPDATE deliveries SET state = 'sent', sent_at = ")
            sent.bind(t)
            sent.sql(", attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ANY(")
            sent.bind(Self.rows(message))
            sent.sql(")")
            try await session.run(sent)
            switch message {
            case .search(let delivery):
                let s = delivery.subscription
                for item in delivery.items {
                    var ledger = SQLText("INSERT INTO client_listings (demand_id, listing_id, client_id, channel, first_sent_at, last_sent_at, price_sent) VALUES (")
                    ledger.bind(s.demandID)
                    ledger.sql(", ")
                    ledger.bind(item.listingID)
                    ledger.sql(", ")
                    ledger.bind(s.clientID)
                    ledger.sql(", ")
                    ledger.bind(s.settings.channel.name)
                    ledger.sql(", ")
                    ledger.bind(t)
                    ledger.sql(", ")
                    ledger.bind(t)
                    ledger.sql(", ")
                    ledger.bind(item.price)
                    ledger.sql("""
                        ) ON CONFLICT (demand_id, listing_id) DO UPDATE SET last_sent_at = excluded.last_sent_at,
                            times_sent = client_listings.times_sent + 1, price_sent = excluded.price_sent, channel = excluded.channel
                        """)
                    try await session.run(ledger)
                }
                if let endpoint = s.endpointID {
                    var healthy = SQLText("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ")
                    healthy.bind(endpoint)
                    try await session.run(healthy)
                }
            case .alert(let delivery):
                var healthy = SQLText("UPDATE alert_hooks SET failing_since = NULL WHERE id = ")
                healthy.bind(delivery.hookID)
                try await session.run(healthy)
            }
        }
    }

    @discardableResult
    public func recordFailure(_ message: OutboxMessage, error: String, retryAt: Date?, disable: DeliveryDisable?, now: Date) async throws -> Date? {
        let t = Self.seconds(now)
        return try await transaction { session in
            var failed = SQLText("UPDATE deliveries SET attempts = attempts + 1, last_error = ")
            failed.bind(error)
            failed.sql(", claimed_by = NULL, claimed_until = NULL, state = ")
            failed.bind(retryAt == nil ? "failed" : "pending")
            failed.sql(", due_at = COALESCE(")
            failed.bind(retryAt.map(Self.seconds))
            failed.sql("::bigint, due_at) WHERE id = ANY(")
            failed.bind(Self.rows(message))
            failed.sql(")")
            try await session.run(failed)
            func run(_ sql: String, _ values: [(any PostgresNonThrowingEncodable & Sendable)?]) async throws {
                try await session.run(SQLText(sql, values))
            }
            switch message {
            case .search(let delivery):
                let s = delivery.subscription
                switch disable {
                case .endpoint(let reason)?:
                    if let endpoint = s.endpointID {
                        try await run("UPDATE webhook_endpoints SET active = false, disabled_reason = ? WHERE id = ?", [reason, endpoint])
                        try await run("""
                            UPDATE deliveries SET state = 'failed', last_error = ?, claimed_by = NULL
                            WHERE state = 'pending' AND subscription_id IN (SELECT id FROM subscriptions WHERE endpoint_id = ?)
                            """, [reason, endpoint])
                        try await run("UPDATE subscriptions SET active = false, disabled_reason = ? WHERE endpoint_id = ?", [reason, endpoint])
                    }
                case .subscription(let reason)?:
                    try await run("UPDATE subscriptions SET active = false, disabled_reason = ? WHERE id = ?", [reason, s.id])
                    try await run("UPDATE deliveries SET state = 'failed', last_error = ?, claimed_by = NULL WHERE state = 'pending' AND subscription_id = ?",
                                  [reason, s.id])
                case .hook?, nil: break
                }
                guard let endpoint = s.endpointID else { return nil }
                var since = SQLText("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ")
                since.bind(t)
                since.sql(") WHERE id = ")
                since.bind(endpoint)
                since.sql(" RETURNING failing_since")
                return try await session.rows(since).first.flatMap { try $0[0].decode(Int64?.self) }.map(Self.date)
            case .alert(let delivery):
                if case .hook(let reason)? = disable {
                    try await run("UPDATE alert_hooks SET active = false, disabled_reason = ? WHERE id = ?", [reason, delivery.hookID])
                    try await run("UPDATE deliveries SET state = 'failed', last_error = ?, claimed_by = NULL WHERE hook_id = ? AND state = 'pending'",
                                  [reason, delivery.hookID])
                }
                var since = SQLText("UPDATE alert_hooks SET failing_since = COALESCE(failing_since, ")
                since.bind(t)
                since.sql(") WHERE id = ")
                since.bind(delivery.hookID)
                since.sql(" RETURNING failing_since")
                return try await session.rows(since).first.flatMap { try $0[0].decode(Int64?.self) }.map(Self.date)
            }
        }
    }
}
