import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// The outbox's half of ``NotificationStore``: listing events taken from `match_queue`, matched in one
/// statement a window, and queued into `deliveries`; their claims and outcomes are in
/// `PostGISStore+Deliveries.swift`.
extension PostGISStore {
    // MARK: Matching

    public func matchWindow(limit: Int) async throws -> MatchWindow {
        var q = SQLText("SELECT event_id FROM match_queue ORDER BY event_id LIMIT ")
        q.bind(Int64(limit))
        let rows = try await rows(q)
        return MatchWindow(events: try translating { try rows.map { try $0[0].decode(Int64.self) } })
    }

    public func matchCandidates(_ window: MatchWindow, reach: FitReach, beyond known: FitReach?, excluding settled: Set<Int64>) async throws -> [MatchCandidate] {
        guard let last = window.events.last, known != .everywhere else { return [] }
        return try await read { session in
            // No saved search hears of these events: the window passes without matching.
            var listening = SQLText("SELECT EXISTS (SELECT 1 FROM subscriptions WHERE active AND starts_after_event < ")
            listening.bind(last)
            listening.sql(")")
            guard try await session.rows(listening)[0][0].decode(Bool.self) else { return [] }
            var q = SQLText("""
                WITH b AS MATERIALIZED (
                    SELECT e.id AS event_id, e.kind, e.new_value #>> '{}' AS new_value, l.id AS listing_id, l.list_price, l.living_area_m2,
                           l.bedrooms, l.property_type, l.geom
                    FROM events e JOIN listings l ON l.id = e.record_id
                    WHERE e.id = ANY(
                """)
            q.bind(window.events)
            q.sql(") AND NOT (e.id = ANY(")
            q.bind(settled.sorted())
            q.sql("""
                )) AND e.layer = 'listings' AND NOT e.from_history AND l.status = 'active'
                      AND (e.kind IN ('new', 'price_change', 'update') OR (e.kind = 'status_change' AND e.new_value #>> '{}' = 'active'))
                )
                SELECT b.event_id, b.kind, b.new_value, b.listing_id, b.list_price, b.living_area_m2, b.bedrooms, b.property_type,
                       ST_X(b.geom), ST_Y(b.geom), s.id, \(Self.demandFitColumns)
                FROM b JOIN demands d ON ST_Contains(d.geom, b.geom) AND d.status = 'active'
                JOIN subscriptions s ON s.demand_id = d.id AND s.active AND s.starts_after_event < b.event_id
                WHERE\u{20}
                """)
            q.sql(Self.fitRules(price: "b.list_price", area: "b.living_area_m2", bedrooms: "b.bedrooms", type: "b.property_type"))
            Self.appendReach(to: &q, point: "b.geom", reach: reach, beyond: known)
            q.sql(" ORDER BY b.event_id, s.id")
            var seen = Set<[Int64]>()
            return try await session.rows(q).compactMap { row -> MatchCandidate? in
                guard let reason = NotificationRules.reason(kind: try row[1].decode(String.self), newValue: try row[2].decode(String?.self)) else { return nil }
                let event = try row[0].decode(Int64.self), subscription = try row[10].decode(Int64.self)
                guard seen.insert([event, subscription]).inserted else { return nil }
                let facts = ListingFacts(price: try row[4].decode(Double?.self), livingAreaM2: try row[5].decode(Double?.self),
                                         bedrooms: try row[6].decode(Int64?.self).map { Int($0) }, propertyType: try row[7].decode(String?.self))
                return MatchCandidate(eventID: event, reason: reason, listingID: try row[3].decode(String.self), listing: facts,
                                      position: Position(lon: try row[8].decode(Double.self), lat: try row[9].decode(Double.self)),
                                      demand: try Self.demandFit(row, from: 11), subscriptionID: subscription)
            }
        }
    }

    public func queue(_ matches: [ScoredMatch], window: MatchWindow, now: Date) async throws -> Int {
        guard !window.isEmpty else { return 0 }
        return try await transaction { session in
            // The window's events, locked: a worker queuing the same window meanwhile holds them until it
            // commits, and then they are gone. All still waiting, or nothing is done.
            var waiting = SQLText("SELECT count(*) FROM (SELECT 1 FROM match_queue WHERE event_id = ANY(")
            waiting.bind(window.events)
            waiting.sql(") FOR UPDATE) w")
            guard try await session.int(waiting) == window.events.count else { return 0 }
            let queued = try await Self.queue(session, matches, now: now)
            var taken = SQLText("DELETE FROM match_queue WHERE event_id = ANY(")
            taken.bind(window.events)
            taken.sql(")")
            try await session.run(taken)
            return queued
        }
    }

    public func backfill(_ subscription: Int64, _ matches: [ScoredMatch], now: Date) async throws -> Int {
        try await transaction { session in
            var keyed: [ScoredMatch] = []
            for m in matches {
                var latest = SQLText("SELECT max(id) FROM events WHERE layer = 'listings' AND record_id = ")
                latest.bind(m.listingID)
                guard let event = try await session.rows(latest).first.flatMap({ try $0[0].decode(Int64?.self) }) else { continue }
                keyed.append(ScoredMatch(eventID: event, reason: .new, listingID: m.listingID, demandID: m.demandID, subscriptionID: subscription,
                                         score: m.score, price: m.price))
            }
            return try await Self.queue(session, keyed, now: now)
        }
    }

    /// Queues matches by the notification rules against what each client was sent or has waiting.
    private static func queue(_ session: Session, _ matches: [ScoredMatch], now: Date) async throws -> Int {
        var schedules: [Int64: (DeliverySchedule, Bool)] = [:]
        var seen = Set<String>()
        var queued = 0
        for m in matches {
            // Within a window a listing is queued once per subscription: it is sent as it is then.
            guard seen.insert("\(m.subscriptionID)\u{1}\(m.listingID)").inserted else { continue }
            if schedules[m.subscriptionID] == nil { schedules[m.subscriptionID] = try await schedule(session, m.subscriptionID) }
            let (schedule, priceUpdates) = schedules[m.subscriptionID]!
            var lastSent = SQLText("SELECT price, state FROM deliveries WHERE subscription_id = ")
            lastSent.bind(m.subscriptionID)
            lastSent.sql(" AND listing_id = ")
            lastSent.bind(m.listingID)
            lastSent.sql(" AND state IN ('pending', 'sent') ORDER BY id DESC LIMIT 1")
            let last = try await session.rows(lastSent).first
            // One already waiting is sent as the listing is when it goes out: nothing to add.
            if let last, try last[1].decode(String.self) == "pending" { continue }
            var reaction = SQLText("SELECT reaction = 'not_for_me' FROM client_listings WHERE demand_id = ")
            reaction.bind(m.demandID)
            reaction.sql(" AND listing_id = ")
            reaction.bind(m.listingID)
            let notForMe = try await session.rows(reaction).first.flatMap { try $0[0].decode(Bool?.self) } ?? false
            let previous: NotificationRules.Previous? = last != nil || notForMe
                ? .init(priceSent: try last?[0].decode(Double?.self), notForMe: notForMe) : nil
            guard NotificationRules.notifies(m.reason, previous: previous, price: m.price, priceUpdates: priceUpdates) else { continue }
            var due = schedule.due(matched: now)
            // One digest a local day: a day whose digest has gone out takes nothing more.
            while let day = schedule.digestDay(due: due) {
                var sent = SQLText("SELECT count(*) FROM deliveries WHERE subscription_id = ")
                sent.bind(m.subscriptionID)
                sent.sql(" AND digest_day = ")
                sent.bind(day)
                sent.sql(" AND state = 'sent'")
                guard try await session.int(sent) > 0 else { break }
                due = schedule.due(matched: due.addingTimeInterval(1))
            }
            var insert = SQLText("""
                INSERT INTO deliveries (kind, event_id, subscription_id, demand_id, listing_id, reason, score, price, message_id, queued_at, due_at, digest_day)
                VALUES ('search',\u{20}
                """)
            insert.bind(m.eventID)
            insert.sql(", ")
            insert.bind(m.subscriptionID)
            insert.sql(", ")
            insert.bind(m.demandID)
            insert.sql(", ")
            insert.bind(m.listingID)
            insert.sql(", ")
            insert.bind(m.reason.rawValue)
            insert.sql(", ")
            insert.bind(m.score)
            insert.sql(", ")
            insert.bind(m.price)
            insert.sql(", ")
            insert.bind("msg_\(m.eventID)_\(m.subscriptionID)")
            insert.sql(", ")
            insert.bind(seconds(now))
            insert.sql(", ")
            insert.bind(seconds(due))
            insert.sql(", ")
            insert.bind(schedule.digestDay(due: due))
            insert.sql(") ON CONFLICT DO NOTHING RETURNING 1")
            queued += try await session.rows(insert).count
        }
        return queued
    }

    /// A subscription's schedule and price rule.
    private static func schedule(_ session: Session, _ id: Int64) async throws -> (DeliverySchedule, Bool) {
        var q = SQLText("SELECT schedule, digest_hour, timezone, quiet_start, quiet_end, price_updates FROM subscriptions WHERE id = ")
        q.bind(id)
        guard let row = try await session.rows(q).first else { throw RGISError(.notFound, "no subscription \(id)", at: "subscriptionId") }
        let quiet: QuietHours? = if let start = try row[3].decode(Int32?.self), let end = try row[4].decode(Int32?.self) {
            try QuietHours(startMinute: Int(start), endMinute: Int(end))
        } else { nil }
        let schedule = DeliverySchedule(schedule: try row[0].decode(String.self) == "daily" ? .daily(hour: Int(try row[1].decode(Int32.self))) : .instant,
                                        quietHours: quiet, timeZone: TimeZone(identifier: try row[2].decode(String.self)) ?? TimeZone(identifier: "UTC")!)
        return (schedule, try row[5].decode(Bool.self))
    }
}
