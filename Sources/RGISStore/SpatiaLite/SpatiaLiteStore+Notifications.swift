import Foundation
import GRDB
import RGISCore

extension SpatiaLiteStore: NotificationStore {
    public func addSubscription(demand: String, _ settings: AlertSettings, by caller: Caller, now: Date) async throws -> Subscription {
        try await write { db in
            guard let row = try db.row("SELECT agent FROM demands WHERE id = \(demand)") else {
                throw RGISError(.notFound, "no demand with id '\(demand)'", at: "demand")
            }
            let agent: String? = row[0]
            guard caller.owns(agent: agent) else { throw RGISError(.forbidden, "demand '\(demand)' belongs to another agent", at: "demand") }
            var email: String?, endpoint: Int64?
            switch settings.channel {
            case .email(let address): email = address
            case .webhook(let url, let secret):
                guard let agent else { throw RGISError(.invalidValue, "demand '\(demand)' names no agent to own a webhook endpoint", at: "webhook") }
                endpoint = try Self.endpoint(db, agent: agent, url: url, secret: secret, now: now)
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
                try db.execute(literal: "UPDATE outbox SET state = 'cancelled', last_error = \(reason), claimed_by = NULL WHERE subscription_id = \(id) AND state = 'pending'")
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

    // MARK: Matching

    public func matchWindow(limit: Int) async throws -> MatchWindow {
        try await read { db in
            let after = try db.value("SELECT value FROM notify_state WHERE name = 'matched_through_event'", as: Int64.self) ?? 0
            guard let through = try db.value("SELECT MAX(id) FROM (SELECT id FROM events WHERE id > \(after) ORDER BY id LIMIT \(limit))", as: Int64.self) else {
                return MatchWindow(afterEvent: after, throughEvent: after, candidates: [])
            }
            let candidates = try db.rows(Self.matchWindowSQL(after: after, through: through)).compactMap { row -> MatchCandidate? in
                guard let reason = NotificationRules.reason(kind: row[1], newValue: row[2]) else { return nil }
                let facts = ListingFacts(price: row[4], livingAreaM2: row[5], bedrooms: row[6], propertyType: row[7])
                let demand = DemandFit(fid: row[11], id: row[12],
                                       criteria: DemandCriteria(budgetMin: row[13], budgetMax: row[14], bedroomsMin: row[15],
                                                                propertyTypes: ((row[16] as String?) ?? "").split(separator: ",").map(String.init),
                                                                areaMinM2: row[17], areaMaxM2: row[18]),
                                       centre: Position(lon: row[19], lat: row[20]), areaSquareMetres: row[21])
                return MatchCandidate(eventID: row[0], reason: reason, listingID: row[3], listing: facts,
                                      position: Position(lon: row[8], lat: row[9]), demand: demand, subscriptionID: row[10])
            }
            return MatchWindow(afterEvent: after, throughEvent: through, candidates: candidates)
        }
    }

    /// One statement for a whole window: each event's listing probes the fit index (place and the
    /// hard rules in five dimensions), then the subscription, the exact rules and containment. Only
    /// events after a subscription was saved count for it.
    static func matchWindowSQL(after: Int64, through: Int64) -> SQL {
        let open = DemandFitIndex.open
        return """
        WITH batch AS MATERIALIZED (
            SELECT e.id AS event_id, e.kind, e.new_value, l.id AS listing_id, l.list_price, l.living_area_m2, l.bedrooms, l.property_type,
                   X(l.geom) AS x, Y(l.geom) AS y,
                   COALESCE(l.living_area_m2, \(open)) AS area_hi, COALESCE(l.living_area_m2, -\(open)) AS area_lo,
                   COALESCE(l.list_price, -\(open)) AS price_lo, COALESCE(l.bedrooms, \(open)) AS bedrooms_hi
            FROM events e JOIN listings l ON l.id = e.record_id
            WHERE e.id > \(after) AND e.id <= \(through) AND e.layer = 'listings' AND l.status = 'active'
              AND (e.kind IN ('new', 'price_change', 'update') OR (e.kind = 'status_change' AND e.new_value = 'active'))
        )
        SELECT b.event_id, b.kind, b.new_value, b.listing_id, b.list_price, b.living_area_m2, b.bedrooms, b.property_type, b.x, b.y,
               s.id, d.fid, d.id, d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2,
               f.centre_lon, f.centre_lat, f.area_m2
        FROM batch b
        CROSS JOIN idx_demands_fit f
        CROSS JOIN demands d ON d.fid = f.fid
        JOIN subscriptions s ON s.demand_id = d.id AND s.active = 1 AND s.starts_after_event < b.event_id
        WHERE f.min_lon <= b.x AND f.max_lon >= b.x AND f.min_lat <= b.y AND f.max_lat >= b.y
          AND f.min_area <= b.area_hi AND f.max_area >= b.area_lo AND f.max_price >= b.price_lo AND f.min_bedrooms <= b.bedrooms_hi
          AND d.status = 'active'
          AND \(fitSQL(price: "b.list_price", area: "b.living_area_m2", bedrooms: "b.bedrooms", type: "b.property_type"))
          AND \(containsSQL(lon: "b.x", lat: "b.y"))
        ORDER BY b.event_id, s.id
        """
    }

    public func queue(_ matches: [ScoredMatch], window: MatchWindow, now: Date) async throws -> Int {
        try await write { db in
            let mark = try db.value("SELECT value FROM notify_state WHERE name = 'matched_through_event'", as: Int64.self) ?? 0
            guard mark == window.afterEvent else { return 0 }
            let queued = try Self.queue(db, matches, now: now)
            try db.execute(literal: "UPDATE notify_state SET value = \(window.throughEvent) WHERE name = 'matched_through_event'")
            return queued
        }
    }

    public func backfill(_ subscription: Int64, _ matches: [ScoredMatch], now: Date) async throws -> Int {
        try await write { db in
            let keyed = try matches.compactMap { m -> ScoredMatch? in
                guard let event = try db.value("SELECT MAX(id) FROM events WHERE layer = 'listings' AND record_id = \(m.listingID)", as: Int64.self) else { return nil }
                return ScoredMatch(eventID: event, reason: .new, listingID: m.listingID, demandID: m.demandID, subscriptionID: subscription, score: m.score, price: m.price)
            }
            return try Self.queue(db, keyed, now: now)
        }
    }

    private static func queue(_ db: Database, _ matches: [ScoredMatch], now: Date) throws -> Int {
        var schedules: [Int64: (DeliverySchedule, Bool)] = [:]
        var shared: [String: DeliverySchedule] = [:]
        var seen = Set<String>()
        var queued = 0
        for m in matches {
            // Within a window a listing is queued once per subscription (a new listing and its price
            // change in the same window are one message: it is sent as it is then).
            guard seen.insert("\(m.subscriptionID)\u{1}\(m.listingID)").inserted else { continue }
            if schedules[m.subscriptionID] == nil {
                schedules[m.subscriptionID] = try schedule(db, m.subscriptionID, shared: &shared)
            }
            let (schedule, priceUpdates) = schedules[m.subscriptionID]!
            let last = try db.row("""
                SELECT price, state FROM outbox WHERE subscription_id = \(m.subscriptionID) AND listing_id = \(m.listingID)
                AND state IN ('pending', 'sent') ORDER BY id DESC LIMIT 1
                """, cached: true)
            // One already waiting is sent as the listing is when it goes out: nothing to add.
            if let last, last[1] as String == "pending" { continue }
            let notForMe = try db.value("SELECT reaction = 'not_for_me' FROM client_listings WHERE demand_id = \(m.demandID) AND listing_id = \(m.listingID)",
                                        as: Bool.self, cached: true) ?? false
            let previous: NotificationRules.Previous? = last != nil || notForMe ? .init(priceSent: last?[0], notForMe: notForMe) : nil
            guard NotificationRules.notifies(m.reason, previous: previous, price: m.price, priceUpdates: priceUpdates) else { continue }
            var due = schedule.due(matched: now)
            // One digest a local day: a day whose digest has gone out takes nothing more.
            while let day = schedule.digestDay(due: due), try db.value("""
                SELECT count(*) FROM outbox WHERE subscription_id = \(m.subscriptionID) AND digest_day = \(day) AND state = 'sent'
                """, as: Int.self, cached: true) ?? 0 > 0 {
                due = schedule.due(matched: due.addingTimeInterval(1))
            }
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO outbox (event_id, subscription_id, demand_id, listing_id, reason, score, price, message_id, queued_at, due_at, digest_day)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try insert.execute(arguments: [m.eventID, m.subscriptionID, m.demandID, m.listingID, m.reason.rawValue, m.score, m.price,
                                           "msg_\(m.eventID)_\(m.subscriptionID)", seconds(now), seconds(due), schedule.digestDay(due: due)])
            queued += db.changesCount
        }
        return queued
    }

    /// A subscription's schedule and price rule, read light; searches with the same settings share one schedule.
    private static func schedule(_ db: Database, _ id: Int64, shared: inout [String: DeliverySchedule]) throws -> (DeliverySchedule, Bool) {
        guard let row = try db.row("""
            SELECT schedule, digest_hour, timezone, quiet_start, quiet_end, price_updates FROM subscriptions WHERE id = \(id)
            """, cached: true) else { throw RGISError(.notFound, "no subscription \(id)", at: "subscriptionId") }
        let key = "\(row[0] as String) \(row[1] as Int) \(row[2] as String) \((row[3] as Int?) ?? -1) \((row[4] as Int?) ?? -1)"
        if let schedule = shared[key] { return (schedule, row[5]) }
        let quiet: QuietHours? = if let start = row[3] as Int?, let end = row[4] as Int? { try QuietHours(startMinute: start, endMinute: end) } else { nil }
        let schedule = DeliverySchedule(schedule: row[0] as String == "daily" ? .daily(hour: row[1]) : .instant, quietHours: quiet,
                                        timeZone: TimeZone(identifier: row[2]) ?? TimeZone(identifier: "UTC")!)
        shared[key] = schedule
        return (schedule, row[5])
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
    static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: Double(seconds)) }

    // MARK: Delivery

    public func claimDue(now: Date, worker: String, deadWorkers: [String], limit: Int, leaseSeconds: Double) async throws -> [Delivery] {
        try await write { db in
            let t = Self.seconds(now)
            let takeOver: SQL = deadWorkers.isEmpty ? "0" : "o.claimed_by IN (\(SpatialSQL.list(deadWorkers)))"
            let due = try db.rows("""
                SELECT o.id, o.subscription_id, o.digest_day FROM outbox o
                WHERE o.state = 'pending' AND o.due_at <= \(t) AND (o.claimed_by IS NULL OR o.claimed_until < \(t) OR \(takeOver))
                ORDER BY o.due_at, o.id LIMIT \(limit)
                """)
            var groups: [(subscription: Int64, ids: [Int64])] = []
            var digestGroup: [String: Int] = [:]
            for row in due {
                let id: Int64 = row[0], sub: Int64 = row[1]
                if let day = row[2] as String? {
                    let key = "\(sub) \(day)"
                    if digestGroup[key] != nil { continue }
                    // A digest goes whole: every pending row of its subscription and local day.
                    let ids = try db.values("""
                        SELECT id FROM outbox o WHERE subscription_id = \(sub) AND digest_day = \(day) AND state = 'pending' AND due_at <= \(t)
                        AND (o.claimed_by IS NULL OR o.claimed_until < \(t) OR \(takeOver)) ORDER BY score DESC, id
                        """, as: Int64.self)
                    digestGroup[key] = groups.count
                    groups.append((sub, ids))
                } else {
                    groups.append((sub, [id]))
                }
            }
            let until = t + Int64(leaseSeconds.rounded(.up))
            var deliveries: [Delivery] = []
            for group in groups {
                try db.execute(literal: "UPDATE outbox SET claimed_by = \(worker), claimed_until = \(until) WHERE id IN (\(SpatialSQL.list(group.ids)))")
                let subscription = try Self.subscription(db, id: group.subscription)
                let items = try db.rows("""
                    SELECT id, message_id, event_id, listing_id, reason, score, price, attempts, queued_at, digest_day
                    FROM outbox WHERE id IN (\(SpatialSQL.list(group.ids))) ORDER BY score DESC, id
                    """).map { row in
                    DeliveryItem(outboxID: row[0], messageID: row[1], eventID: row[2], listingID: row[3],
                                 reason: NotificationRules.Reason(rawValue: row[4]) ?? .new, score: row[5], price: row[6], attempts: row[7],
                                 queuedAt: Self.date(row[8]), digestDay: row[9])
                }
                var endpoint: (url: String, secret: String)?
                if case .webhook(let url, let secret) = subscription.settings.channel { endpoint = (url, secret) }
                deliveries.append(Delivery(subscription: subscription, endpoint: endpoint, items: items))
            }
            return deliveries
        }
    }

    public func claimHolders() async throws -> [String] {
        try await read { db in
            try db.values("SELECT DISTINCT claimed_by FROM outbox WHERE state = 'pending' AND claimed_by IS NOT NULL", as: String.self)
        }
    }

    public func recordSent(_ delivery: Delivery, now: Date) async throws {
        let t = Self.seconds(now)
        try await write { db in
            let ids = delivery.items.map(\.outboxID)
            try db.execute(literal: """
                UPDATE outbox SET state = 'sent', sent_at = \(t), attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claimed_until = NULL
                WHERE id IN (\(SpatialSQL.list(ids)))
                """)
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
        }
    }

    @discardableResult
    public func recordFailure(_ delivery: Delivery, error: String, retryAt: Date?, disable: DeliveryDisable?, now: Date) async throws -> Date? {
        let t = Self.seconds(now)
        return try await write { db in
            let ids = delivery.items.map(\.outboxID)
            let retry = retryAt.map(Self.seconds)
            try db.execute(literal: """
                UPDATE outbox SET attempts = attempts + 1, last_error = \(error), claimed_by = NULL, claimed_until = NULL,
                    state = \(retry == nil ? "failed" : "pending"), due_at = COALESCE(\(retry), due_at)
                WHERE id IN (\(SpatialSQL.list(ids)))
                """)
            let s = delivery.subscription
            switch disable {
            case .endpoint(let reason)?:
                if let endpoint = s.endpointID {
                    try db.execute(literal: "UPDATE webhook_endpoints SET active = 0, disabled_reason = \(reason) WHERE id = \(endpoint)")
                    try db.execute(literal: """
                        UPDATE outbox SET state = 'failed', last_error = \(reason), claimed_by = NULL
                        WHERE state = 'pending' AND subscription_id IN (SELECT id FROM subscriptions WHERE endpoint_id = \(endpoint))
                        """)
                    try db.execute(literal: "UPDATE subscriptions SET active = 0, disabled_reason = \(reason) WHERE endpoint_id = \(endpoint)")
                }
            case .subscription(let reason)?:
                try db.execute(literal: "UPDATE subscriptions SET active = 0, disabled_reason = \(reason) WHERE id = \(s.id)")
                try db.execute(literal: "UPDATE outbox SET state = 'failed', last_error = \(reason), claimed_by = NULL WHERE state = 'pending' AND subscription_id = \(s.id)")
            case nil: break
            }
            guard let endpoint = s.endpointID else { return nil }
            try db.execute(literal: "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, \(t)) WHERE id = \(endpoint)")
            return try db.value("SELECT failing_since FROM webhook_endpoints WHERE id = \(endpoint)", as: Int64.self).map(Self.date)
        }
    }

    public func releaseClaims(worker: String) async throws {
        try await write { db in
            try db.execute(literal: "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = \(worker) AND state = 'pending'")
        }
    }

    // MARK: Reading

    public func notificationCounts(agent: String?, now: Date) async throws -> NotificationCounts {
        try await read { db in
            var sql: SQL = """
                SELECT COALESCE(SUM(o.state = 'pending' AND o.attempts = 0), 0), COALESCE(SUM(o.state = 'pending' AND o.attempts > 0), 0),
                       COALESCE(SUM(o.state = 'sent'), 0), COALESCE(SUM(o.state = 'failed'), 0),
                       MIN(CASE WHEN o.state = 'pending' THEN o.queued_at END)
                FROM outbox o
                """
            if let agent { sql += " JOIN demands d ON d.id = o.demand_id WHERE d.agent = \(agent)" }
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
                FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id JOIN demands d ON d.id = o.demand_id
                """
            if let agent { sql += " WHERE d.agent = \(agent)" }
            sql += " ORDER BY o.id DESC LIMIT \(limit)"
            return try db.rows(sql).map { row in
                var o: [String: JSONValue] = [
                    "id": .int(row[0]), "message_id": .string(row[1]), "event_id": .int(row[2]), "subscription_id": .int(row[3]),
                    "demand_id": .string(row[4]), "listing_id": .string(row[7]), "reason": .string(row[8]), "state": .string(row[11]),
                    "attempts": .int(row[12]), "queued_at": .string(Timestamp.text(Self.date(row[13]))),
                    "due_at": .string(Timestamp.text(Self.date(row[14]))), "channel": .string(row[17]),
                ]
                if let v = row[5] as String? { o["client_id"] = .string(v) }
                if let v = row[6] as String? { o["agent"] = .string(v) }
                if let v = row[9] as Double? { o["score"] = .double(v) }
                if let v = row[10] as Double? { o["price"] = .double(v) }
                if let v = row[15] as Int64? { o["sent_at"] = .string(Timestamp.text(Self.date(v))) }
                if let v = row[16] as String? { o["last_error"] = .string(v) }
                return NotificationRecord(json: .object(o))
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
            guard let row = try db.row("SELECT demand_id, listing_id FROM outbox WHERE message_id = \(messageID) AND state = 'sent'") else {
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
        var o: [String: JSONValue] = [
            "demand_id": .string(row[1]), "listing_id": .string(row[2]), "channel": .string(row[3]),
            "first_sent_at": .string(Timestamp.text(date(row[4]))), "last_sent_at": .string(Timestamp.text(date(row[5]))),
            "times_sent": .int(row[6]),
        ]
        if let v = row[0] as String? { o["client_id"] = .string(v) }
        if let v = row[7] as Double? { o["price_sent"] = .double(v) }
        if let v = row[8] as String? { o["reaction"] = .string(v) }
        if let v = row[9] as Int64? { o["reacted_at"] = .string(Timestamp.text(date(v))) }
        return LedgerEntry(clientID: row[0], demandID: row[1], listingID: row[2], json: .object(o))
    }

    public func digest(subscription: Int64, day: String) async throws -> [String] {
        try await read { db in
            try db.values("""
                SELECT listing_id FROM outbox WHERE subscription_id = \(subscription) AND digest_day = \(day) AND state IN ('pending', 'sent')
                ORDER BY score DESC, id
                """, as: String.self)
        }
    }

    public func linkKey() async throws -> [UInt8] {
        try await read { db in Array(try Data.fetchOne(db, sql: "SELECT value FROM store_secrets WHERE name = 'links'") ?? Data()) }
    }
}
