import Foundation
import GRDB
import RGISCore
import RGISStore

/// Saved searches, webhook endpoints, the ledger and what agents read of the outbox; matching and
/// delivery are in `SpatiaLiteStore+Outbox.swift`.
extension SpatiaLiteStore: NotificationStore {
    public func addSubscription(demand: String, _ settings: AlertSettings, by caller: Caller, now: Date) async throws -> Subscription {
        try await write { db in
            guard let row = try db.row("SELECT agent FROM demands WHERE id = \(demand)") else {
                throw RGISError(.notFound, "no demand with id '\(demand)'", at: "demand")
            }
            let owner = try SubscriptionRules.endpointOwner(demand: demand, agent: row[0], caller: caller, channel: settings.channel)
            var email: String?, endpoint: Int64?
            switch settings.channel {
            case .email(let address): email = address
            case .webhook(let url, let secret): endpoint = try owner.map { try Self.endpoint(db, agent: $0, url: url, secret: secret, now: now) }
            }
            let quiet = settings.quietHours
            let digestHour: Int = if case .daily(let hour) = settings.schedule { hour } else { 8 }
            try db.execute(literal: """
                INSERT INTO subscriptions (demand_id, channel, email, endpoint_id, schedule, digest_hour, timezone, quiet_start, quiet_end,
                                           price_updates, starts_after_event, created_at)
                VALUES (\(demand), \(settings.channel.name), \(email), \(endpoint), \(settings.schedule.name), \(digestHour), \(settings.timeZone),
                        \(quiet?.startMinute), \(quiet?.endMinute), \(settings.priceUpdates),
                        (SELECT COALESCE(MAX(id), 0) FROM events), \(Timestamp.text(now)))
                """)
            return try Self.subscription(db, id: db.lastInsertedRowID)
        }
    }

    /// The agent's endpoint for a URL: created, or reused with its secret brought up to date.
    private static func endpoint(_ db: Database, agent: String, url: String, secret: String, now: Date) throws -> Int64 {
        if let id = try db.value("SELECT id FROM webhook_endpoints WHERE agent = \(agent) AND url = \(url)", as: Int64.self) {
            try db.execute(literal: "UPDATE webhook_endpoints SET secret = \(secret), active = 1, disabled_reason = NULL, failing_since = NULL WHERE id = \(id)")
            return id
        }
        try db.execute(literal: "INSERT INTO webhook_endpoints (agent, url, secret, created_at) VALUES (\(agent), \(url), \(secret), \(Timestamp.text(now)))")
        return db.lastInsertedRowID
    }

    public func subscriptions(agent: String?) async throws -> [Subscription] {
        try await read { db in
            var sql: SQL = "SELECT s.id FROM subscriptions s JOIN demands d ON d.id = s.demand_id"
            if let agent { sql += " WHERE d.agent = \(agent)" }
            sql += " ORDER BY s.id"
            return try db.values(sql, as: Int64.self).map { try Self.subscription(db, id: $0) }
        }
    }

    public func subscription(_ id: Int64) async throws -> Subscription {
        try await read { db in try Self.subscription(db, id: id) }
    }

    public func setSubscription(_ id: Int64, active: Bool, reason: String?) async throws -> Subscription {
        try await write { db in
            _ = try Self.subscription(db, id: id)
            try db.execute(literal: "UPDATE subscriptions SET active = \(active), disabled_reason = \(active ? nil : reason) WHERE id = \(id)")
            if !active {
                try db.execute(literal: "UPDATE deliveries SET state = 'cancelled', last_error = \(reason), claimed_by = NULL WHERE subscription_id = \(id) AND state = 'pending'")
            }
            return try Self.subscription(db, id: id)
        }
    }

    public func webhookEndpoints(agent: String?) async throws -> [WebhookEndpoint] {
        try await read { db in
            var sql: SQL = "SELECT id, agent, url, active, disabled_reason, failing_since FROM webhook_endpoints"
            if let agent { sql += " WHERE agent = \(agent)" }
            sql += " ORDER BY id"
            return try db.rows(sql).map { row in
                WebhookEndpoint(id: row[0], agent: row[1], url: row[2], active: row[3], disabledReason: row[4],
                                failingSince: (row[5] as Int64?).map { Date(timeIntervalSince1970: Double($0)) })
            }
        }
    }

    static func subscription(_ db: Database, id: Int64) throws -> Subscription {
        guard let row = try db.row("""
            SELECT s.id, s.demand_id, d.client_id, d.agent, s.channel, s.email, w.url, w.secret, s.schedule, s.digest_hour, s.timezone,
                   s.quiet_start, s.quiet_end, s.price_updates, s.endpoint_id, s.active, s.disabled_reason, s.created_at
            FROM subscriptions s JOIN demands d ON d.id = s.demand_id LEFT JOIN webhook_endpoints w ON w.id = s.endpoint_id
            WHERE s.id = \(id)
            """, cached: true) else {
            throw RGISError(.notFound, "no subscription \(id)", at: "subscriptionId")
        }
        let channel: AlertSettings.Channel = row[4] as String == "email" ? .email(row[5]) : .webhook(url: row[6], secret: row[7])
        let schedule: AlertSettings.Schedule = row[8] as String == "daily" ? .daily(hour: row[9]) : .instant
        let quiet: QuietHours? = if let start = row[11] as Int?, let end = row[12] as Int? { try QuietHours(startMinute: start, endMinute: end) } else { nil }
        let settings = try AlertSettings(channel: channel, schedule: schedule, timeZone: row[10], quietHours: quiet, priceUpdates: row[13])
        return Subscription(id: row[0], demandID: row[1], clientID: row[2], agent: row[3], settings: settings, endpointID: row[14],
                            active: row[15], disabledReason: row[16], createdAt: row[17])
    }

    // MARK: Reading

    public func notificationCounts(agent: String?, now: Date) async throws -> NotificationCounts {
        try await read { db in
            var sql: SQL = """
                SELECT COALESCE(SUM(o.state = 'pending' AND o.attempts = 0), 0), COALESCE(SUM(o.state = 'pending' AND o.attempts > 0), 0),
                       COALESCE(SUM(o.state = 'sent'), 0), COALESCE(SUM(o.state = 'failed'), 0),
                       MIN(CASE WHEN o.state = 'pending' THEN o.queued_at END)
                FROM deliveries o
                """
            if let agent { sql += " JOIN demands d ON d.id = o.demand_id WHERE d.agent = \(agent)" } else { sql += " WHERE o.kind = 'search'" }
            let row = try db.row(sql)!
            let oldest: Int64? = row[4]
            return NotificationCounts(queued: row[0], retryBacklog: row[1], sent: row[2], failed: row[3],
                                      oldestPendingAgeSeconds: oldest.map { max(0, now.timeIntervalSince1970 - Double($0)) } ?? 0)
        }
    }

    public func notifications(agent: String?, limit: Int) async throws -> [NotificationRecord] {
        try await read { db in
            var sql: SQL = """
                SELECT o.id, o.message_id, o.event_id, o.subscription_id, o.demand_id, d.client_id, d.agent, o.listing_id, o.reason, o.score,
                       o.price, o.state, o.attempts, o.queued_at, o.due_at, o.sent_at, o.last_error, s.channel
                FROM deliveries o JOIN subscriptions s ON s.id = o.subscription_id JOIN demands d ON d.id = o.demand_id
                """
            if let agent { sql += " WHERE d.agent = \(agent)" }
            sql += " ORDER BY o.id DESC LIMIT \(limit)"
            return try db.rows(sql).map { row in
                NotificationRecord(id: row[0], messageID: row[1], eventID: row[2], subscriptionID: row[3], demandID: row[4], clientID: row[5],
                                   agent: row[6], listingID: row[7], reason: NotificationRules.Reason(rawValue: row[8]) ?? .new, score: row[9],
                                   price: row[10], state: row[11], attempts: row[12], queuedAt: Self.date(row[13]), dueAt: Self.date(row[14]),
                                   sentAt: (row[15] as Int64?).map(Self.date), lastError: row[16], channel: row[17])
            }
        }
    }

    public func ledger(client: String) async throws -> [LedgerEntry] {
        try await read { db in
            try db.rows("""
                SELECT client_id, demand_id, listing_id, channel, first_sent_at, last_sent_at, times_sent, price_sent, reaction, reacted_at
                FROM client_listings WHERE client_id = \(client) ORDER BY last_sent_at DESC, listing_id
                """).map(Self.ledgerEntry)
        }
    }

    public func react(messageID: String, _ reaction: Reaction, now: Date) async throws -> LedgerEntry {
        try await write { db in
            guard let row = try db.row("SELECT demand_id, listing_id FROM deliveries WHERE kind = 'search' AND message_id = \(messageID) AND state = 'sent'") else {
                throw RGISError(.notFound, "no message sent with this id", at: "token")
            }
            let demand: String = row[0], listing: String = row[1]
            try db.execute(literal: """
                UPDATE client_listings SET reaction = \(reaction.rawValue), reacted_at = \(Self.seconds(now))
                WHERE demand_id = \(demand) AND listing_id = \(listing)
                """)
            guard let entry = try db.row("""
                SELECT client_id, demand_id, listing_id, channel, first_sent_at, last_sent_at, times_sent, price_sent, reaction, reacted_at
                FROM client_listings WHERE demand_id = \(demand) AND listing_id = \(listing)
                """) else { throw RGISError(.notFound, "no ledger entry for this message", at: "token") }
            return Self.ledgerEntry(entry)
        }
    }

    static func ledgerEntry(_ row: Row) -> LedgerEntry {
        LedgerEntry(clientID: row[0], demandID: row[1], listingID: row[2], channel: row[3], firstSentAt: date(row[4]), lastSentAt: date(row[5]),
                    timesSent: row[6], priceSent: row[7], reaction: (row[8] as String?).flatMap(Reaction.init(rawValue:)),
                    reactedAt: (row[9] as Int64?).map(date))
    }

    public func digest(subscription: Int64, day: String) async throws -> [String] {
        try await read { db in
            try db.values("""
                SELECT listing_id FROM deliveries WHERE subscription_id = \(subscription) AND digest_day = \(day) AND state IN ('pending', 'sent')
                ORDER BY score DESC, id
                """, as: String.self)
        }
    }

    public func linkKey() async throws -> [UInt8] {
        try await read { db in Array(try Data.fetchOne(db, sql: "SELECT value FROM store_secrets WHERE name = 'links'") ?? Data()) }
    }
}
