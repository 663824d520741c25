import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// Saved searches, webhook endpoints, the ledger and what agents read of the outbox (p07-deliveries);
/// matching and delivery are in `PostGISStore+Outbox.swift`.
extension PostGISStore: NotificationStore {
    public func addSubscription(demand: String, _ settings: AlertSettings, by caller: Caller, now: Date) async throws -> Subscription {
        try await transaction { session in
            var owner = SQLText("SELECT agent FROM demands WHERE id = ")
            owner.bind(demand)
            guard let row = try await session.rows(owner).first else { throw RGISError(.notFound, "no demand with id '\(demand)'", at: "demand") }
            let agent = try SubscriptionRules.endpointOwner(demand: demand, agent: try row[0].decode(String?.self), caller: caller, channel: settings.channel)
            var email: String?, endpoint: Int64?
            switch settings.channel {
            case .email(let address): email = address
            case .webhook(let url, let secret):
                if let agent { endpoint = try await Self.endpoint(session, agent: agent, url: url, secret: secret, now: now) }
            }
            let quiet = settings.quietHours
            let digestHour: Int = if case .daily(let hour) = settings.schedule { hour } else { 8 }
            var q = SQLText("""
                INSERT INTO subscriptions (demand_id, channel, email, endpoint_id, schedule, digest_hour, timezone, quiet_start, quiet_end,
                                           price_updates, starts_after_event, created_at) VALUES (
                """)
            q.bind(demand)
            q.sql(", ")
            q.bind(settings.channel.name)
            q.sql(", ")
            q.bind(email)
            q.sql(", ")
            q.bind(endpoint)
            q.sql(", ")
            q.bind(settings.schedule.name)
            q.sql(", ")
            q.bind(Int64(digestHour))
            q.sql(", ")
            q.bind(settings.timeZone)
            q.sql(", ")
            q.bind(quiet.map { Int64($0.startMinute) })
            q.sql(", ")
            q.bind(quiet.map { Int64($0.endMinute) })
            q.sql(", ")
            q.bind(settings.priceUpdates)
            q.sql(", (SELECT COALESCE(max(id), 0) FROM events), ")
            q.bind(Timestamp.text(now))
            q.sql(") RETURNING id")
            let id = try await session.rows(q)[0][0].decode(Int64.self)
            return try await Self.subscription(session, id: id)
        }
    }

    /// The agent's endpoint for a URL: created, or reused with its secret brought up to date.
    private static func endpoint(_ session: Session, agent: String, url: String, secret: String, now: Date) async throws -> Int64 {
        var q = SQLText("INSERT INTO webhook_endpoints (agent, url, secret, created_at) VALUES (")
        q.bind(agent)
        q.sql(", ")
        q.bind(url)
        q.sql(", ")
        q.bind(secret)
        q.sql(", ")
        q.bind(Timestamp.text(now))
        q.sql(") ON CONFLICT (agent, url) DO UPDATE SET secret = excluded.secret, active = true, disabled_reason = NULL, failing_since = NULL RETURNING id")
        return try await session.rows(q)[0][0].decode(Int64.self)
    }

    public func subscriptions(agent: String?) async throws -> [Subscription] {
        try await read { session in
            var q = SQLText("SELECT s.id FROM subscriptions s JOIN demands d ON d.id = s.demand_id")
            if let agent {
                q.sql(" WHERE d.agent = ")
                q.bind(agent)
            }
            q.sql(" ORDER BY s.id")
            var found: [Subscription] = []
            for row in try await session.rows(q) { found.append(try await Self.subscription(session, id: try row[0].decode(Int64.self))) }
            return found
        }
    }

    public func subscription(_ id: Int64) async throws -> Subscription {
        try await read { session in try await Self.subscription(session, id: id) }
    }

    public func setSubscription(_ id: Int64, active: Bool, reason: String?) async throws -> Subscription {
        try await transaction { session in
            _ = try await Self.subscription(session, id: id)
            var q = SQLText("UPDATE subscriptions SET active = ")
            q.bind(active)
            q.sql(", disabled_reason = ")
            q.bind(active ? nil : reason)
            q.sql(" WHERE id = ")
            q.bind(id)
            try await session.run(q)
            if !active {
                var cancel = SQLText("UPDATE deliveries SET state = 'cancelled', last_error = ")
                cancel.bind(reason)
                cancel.sql(", claimed_by = NULL WHERE subscription_id = ")
                cancel.bind(id)
                cancel.sql(" AND state = 'pending'")
                try await session.run(cancel)
            }
            return try await Self.subscription(session, id: id)
        }
    }

    public func webhookEndpoints(agent: String?) async throws -> [WebhookEndpoint] {
        var q = SQLText("SELECT id, agent, url, active, disabled_reason, failing_since FROM webhook_endpoints")
        if let agent {
            q.sql(" WHERE agent = ")
            q.bind(agent)
        }
        q.sql(" ORDER BY id")
        let rows = try await rows(q)
        return try translating {
            try rows.map { row in
                WebhookEndpoint(id: try row[0].decode(Int64.self), agent: try row[1].decode(String.self), url: try row[2].decode(String.self),
                                active: try row[3].decode(Bool.self), disabledReason: try row[4].decode(String?.self),
                                failingSince: try row[5].decode(Int64?.self).map(Self.date))
            }
        }
    }

    static func subscription(_ session: Session, id: Int64) async throws -> Subscription {
        var q = SQLText("""
            SELECT s.id, s.demand_id, d.client_id, d.agent, s.channel, s.email, w.url, w.secret, s.schedule, s.digest_hour, s.timezone,
                   s.quiet_start, s.quiet_end, s.price_updates, s.endpoint_id, s.active, s.disabled_reason, s.created_at
            FROM subscriptions s JOIN demands d ON d.id = s.demand_id LEFT JOIN webhook_endpoints w ON w.id = s.endpoint_id
            WHERE s.id =\u{20}
            """)
        q.bind(id)
        guard let row = try await session.rows(q).first else { throw RGISError(.notFound, "no subscription \(id)", at: "subscriptionId") }
        do {
            let channel: AlertSettings.Channel = try row[4].decode(String.self) == "email"
                ? .email(try row[5].decode(String.self)) : .webhook(url: try row[6].decode(String.self), secret: try row[7].decode(String.self))
            let schedule: AlertSettings.Schedule = try row[8].decode(String.self) == "daily" ? .daily(hour: Int(try row[9].decode(Int32.self))) : .instant
            let quiet: QuietHours? = if let start = try row[11].decode(Int32?.self), let end = try row[12].decode(Int32?.self) {
                try QuietHours(startMinute: Int(start), endMinute: Int(end))
            } else { nil }
            let settings = try AlertSettings(channel: channel, schedule: schedule, timeZone: try row[10].decode(String.self), quietHours: quiet,
                                             priceUpdates: try row[13].decode(Bool.self))
            return Subscription(id: try row[0].decode(Int64.self), demandID: try row[1].decode(String.self), clientID: try row[2].decode(String?.self),
                                agent: try row[3].decode(String?.self), settings: settings, endpointID: try row[14].decode(Int64?.self),
                                active: try row[15].decode(Bool.self), disabledReason: try row[16].decode(String?.self), createdAt: try row[17].decode(String.self))
        } catch let error as PostgresDecodingError {
            throw translate(error)
        }
    }

    // MARK: Reading

    public func notificationCounts(agent: String?, now: Date) async throws -> NotificationCounts {
        var q = SQLText("""
            SELECT count(*) FILTER (WHERE o.state = 'pending' AND o.attempts = 0), count(*) FILTER (WHERE o.state = 'pending' AND o.attempts > 0),
                   count(*) FILTER (WHERE o.state = 'sent'), count(*) FILTER (WHERE o.state = 'failed'),
                   min(o.queued_at) FILTER (WHERE o.state = 'pending')
            FROM deliveries o
            """)
        if let agent {
            q.sql(" JOIN demands d ON d.id = o.demand_id WHERE d.agent = ")
            q.bind(agent)
        } else {
            q.sql(" WHERE o.kind = 'search'")
        }
        let row = try await rows(q)[0]
        return try translating {
            let oldest = try row[4].decode(Int64?.self)
            return NotificationCounts(queued: Int(try row[0].decode(Int64.self)), retryBacklog: Int(try row[1].decode(Int64.self)),
                                      sent: Int(try row[2].decode(Int64.self)), failed: Int(try row[3].decode(Int64.self)),
                                      oldestPendingAgeSeconds: oldest.map { max(0, now.timeIntervalSince1970 - Double($0)) } ?? 0)
        }
    }

    public func notifications(agent: String?, limit: Int) async throws -> [NotificationRecord] {
        var q = SQLText("""
            SELECT o.id, o.message_id, o.event_id, o.subscription_id, o.demand_id, d.client_id, d.agent, o.listing_id, o.reason, o.score,
                   o.price, o.state, o.attempts, o.queued_at, o.due_at, o.sent_at, o.last_error, s.channel
            FROM deliveries o JOIN subscriptions s ON s.id = o.subscription_id JOIN demands d ON d.id = o.demand_id
            """)
        if let agent {
            q.sql(" WHERE d.agent = ")
            q.bind(agent)
        }
        q.sql(" ORDER BY o.id DESC LIMIT ")
        q.bind(Int64(limit))
        let rows = try await rows(q)
        return try translating {
            try rows.map { row in
                NotificationRecord(id: try row[0].decode(Int64.self), messageID: try row[1].decode(String.self), eventID: try row[2].decode(Int64.self),
                                   subscriptionID: try row[3].decode(Int64.self), demandID: try row[4].decode(String.self),
                                   clientID: try row[5].decode(String?.self), agent: try row[6].decode(String?.self),
                                   listingID: try row[7].decode(String.self),
                                   reason: NotificationRules.Reason(rawValue: try row[8].decode(String.self)) ?? .new, score: try row[9].decode(Double?.self),
                                   price: try row[10].decode(Double?.self), state: try row[11].decode(String.self),
                                   attempts: Int(try row[12].decode(Int32.self)), queuedAt: Self.date(try row[13].decode(Int64.self)),
                                   dueAt: Self.date(try row[14].decode(Int64.self)), sentAt: try row[15].decode(Int64?.self).map(Self.date),
                                   lastError: try row[16].decode(String?.self), channel: try row[17].decode(String.self))
            }
        }
    }

    static let ledgerColumns = "client_id, demand_id, listing_id, channel, first_sent_at, last_sent_at, times_sent, price_sent, reaction, reacted_at"

    public func ledger(client: String) async throws -> [LedgerEntry] {
        var q = SQLText("SELECT \(Self.ledgerColumns) FROM client_listings WHERE client_id = ")
        q.bind(client)
        q.sql(" ORDER BY last_sent_at DESC, listing_id COLLATE \"C\"")
        let rows = try await rows(q)
        return try translating { try rows.map(Self.ledgerEntry) }
    }

    public func react(messageID: String, _ reaction: Reaction, now: Date) async throws -> LedgerEntry {
        try await transaction { session in
            var q = SQLText("SELECT demand_id, listing_id FROM deliveries WHERE kind = 'search' AND state = 'sent' AND message_id = ")
            q.bind(messageID)
            guard let row = try await session.rows(q).first else { throw RGISError(.notFound, "no message sent with this id", at: "token") }
            var update = SQLText("UPDATE client_listings SET reaction = ")
            update.bind(reaction.rawValue)
            update.sql(", reacted_at = ")
            update.bind(Self.seconds(now))
            update.sql(" WHERE demand_id = ")
            update.bind(try row[0].decode(String.self))
            update.sql(" AND listing_id = ")
            update.bind(try row[1].decode(String.self))
            update.sql(" RETURNING \(Self.ledgerColumns)")
            guard let entry = try await session.rows(update).first else { throw RGISError(.notFound, "no ledger entry for this message", at: "token") }
            return try translating { try Self.ledgerEntry(entry) }
        }
    }

    static func ledgerEntry(_ row: PostgresRandomAccessRow) throws -> LedgerEntry {
        LedgerEntry(clientID: try row[0].decode(String?.self), demandID: try row[1].decode(String.self), listingID: try row[2].decode(String.self),
                    channel: try row[3].decode(String.self), firstSentAt: date(try row[4].decode(Int64.self)), lastSentAt: date(try row[5].decode(Int64.self)),
                    timesSent: Int(try row[6].decode(Int32.self)), priceSent: try row[7].decode(Double?.self),
                    reaction: try row[8].decode(String?.self).flatMap(Reaction.init(rawValue:)), reactedAt: try row[9].decode(Int64?.self).map(date))
    }

    public func digest(subscription: Int64, day: String) async throws -> [String] {
        var q = SQLText("SELECT listing_id FROM deliveries WHERE subscription_id = ")
        q.bind(subscription)
        q.sql(" AND digest_day = ")
        q.bind(day)
        q.sql(" AND state IN ('pending', 'sent') ORDER BY score DESC NULLS LAST, id")
        return try await strings(q)
    }

    public func linkKey() async throws -> [UInt8] {
        let rows = try await lookup("SELECT value FROM store_secrets WHERE name = 'links'")
        return try translating { try rows.first.map { Array(buffer: try $0[0].decode(ByteBuffer.self)) } ?? [] }
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
    static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: Double(seconds)) }
}
