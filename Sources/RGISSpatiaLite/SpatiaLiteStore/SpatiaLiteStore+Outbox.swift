import Foundation
import GRDB
import RGISCore
import RGISStore

/// The outbox's half of ``NotificationStore``: listing events taken from the match queue (`MatchQueue`)
/// into the outbox, then claimed under workers' leases (`WorkerLeases`), and their outcomes recorded.
extension SpatiaLiteStore {
    // MARK: Matching

    public func matchWindow(limit: Int) async throws -> MatchWindow {
        try await read { db in
            MatchWindow(events: try db.values("SELECT event_id FROM match_queue ORDER BY event_id LIMIT \(limit)", as: Int64.self))
        }
    }

    public func matchCandidates(_ window: MatchWindow, reach: FitReach, beyond known: FitReach?, excluding settled: Set<Int64>) async throws -> [MatchCandidate] {
        guard !window.isEmpty else { return [] }
        return try await read { db in
            // No saved search hears of these events: the window passes without matching (a bulk import
            // into a register nobody subscribes to would otherwise keep the notifier busy for hours).
            let listening = try db.value("SELECT EXISTS (SELECT 1 FROM subscriptions WHERE active = 1 AND starts_after_event < \(window.events.last!))", as: Bool.self)
            guard listening == true else { return [] }
            var seen = Set<[Int64]>()
            return try db.rows(Self.matchWindowSQL(window, reach: reach, beyond: known, excluding: settled)).compactMap { row -> MatchCandidate? in
                guard let reason = NotificationRules.reason(kind: row[1], newValue: row[2]) else { return nil }
                let facts = ListingFacts(price: row[4], livingAreaM2: row[5], bedrooms: row[6], propertyType: row[7])
                let demand = Self.demandFit(row, from: 11)
                guard seen.insert([row[0], row[10]]).inserted else { return nil }
                return MatchCandidate(eventID: row[0], reason: reason, listingID: row[3], listing: facts,
                                      position: Position(lon: row[8], lat: row[9]), demand: demand, subscriptionID: row[10])
            }
        }
    }

    /// One statement for a whole window (less the settled events): each event's listing through
    /// ``fitJoin(_:)`` within `reach`, then the subscription. Only events after a subscription was
    /// saved count for it, and no imported history.
    static func matchWindowSQL(_ window: MatchWindow, reach: FitReach, beyond known: FitReach? = nil, excluding settled: Set<Int64>) -> SQL {
        let join = fitJoin(reach, beyond: known)
        let skip: SQL = settled.isEmpty ? "" : "AND e.id NOT IN (\(SpatialSQL.list(settled.sorted())))"
        return """
        WITH batch AS MATERIALIZED (
            SELECT e.id AS event_id, e.kind, e.new_value, l.id AS listing_id, l.list_price, l.living_area_m2, l.bedrooms, l.property_type,
                   X(l.geom) AS x, Y(l.geom) AS y,
                   \(probeColumns(y: "Y(l.geom)", price: "l.list_price", area: "l.living_area_m2", bedrooms: "l.bedrooms"))
            FROM events e JOIN listings l ON l.id = e.record_id
            WHERE e.id IN (\(SpatialSQL.list(window.events))) \(skip) AND e.layer = 'listings' AND e.from_history = 0 AND l.status = 'active'
              AND (e.kind IN ('new', 'price_change', 'update') OR (e.kind = 'status_change' AND e.new_value = 'active'))
        )\(join.with)
        SELECT b.event_id, b.kind, b.new_value, b.listing_id, b.list_price, b.living_area_m2, b.bedrooms, b.property_type, b.x, b.y,
               s.id, \(join.demand)
        FROM \(join.source)
        JOIN subscriptions s ON s.demand_id = \(join.demandID) AND s.active = 1 AND s.starts_after_event < b.event_id
        WHERE \(join.conditions)
        ORDER BY b.event_id, s.id
        """
    }

    public func queue(_ matches: [ScoredMatch], window: MatchWindow, now: Date) async throws -> Int {
        guard !window.isEmpty else { return 0 }
        return try await write { db in
            // All of the window still waiting, or another worker has queued some of it: then nothing.
            let waiting = try db.value("SELECT count(*) FROM match_queue WHERE event_id IN (\(SpatialSQL.list(window.events)))", as: Int.self) ?? 0
            guard waiting == window.events.count else { return 0 }
            let queued = try Self.queue(db, matches, now: now)
            try db.execute(literal: "DELETE FROM match_queue WHERE event_id IN (\(SpatialSQL.list(window.events)))")
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
                SELECT price, state FROM deliveries WHERE subscription_id = \(m.subscriptionID) AND listing_id = \(m.listingID)
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
                SELECT count(*) FROM deliveries WHERE subscription_id = \(m.subscriptionID) AND digest_day = \(day) AND state = 'sent'
                """, as: Int.self, cached: true) ?? 0 > 0 {
                due = schedule.due(matched: due.addingTimeInterval(1))
            }
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO deliveries (kind, event_id, subscription_id, demand_id, listing_id, reason, score, price, message_id, queued_at, due_at, digest_day)
                VALUES ('search', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
}
