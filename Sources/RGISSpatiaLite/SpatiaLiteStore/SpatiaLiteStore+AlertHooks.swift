import Foundation
import GRDB
import RGISCore
import RGISStore

/// Planners' alert receivers, the watcher's state and the alert outbox (``AlertHookStore``).
extension SpatiaLiteStore: AlertHookStore {
    public func addAlertHook(owner: String, _ request: AlertHookRequest, now: Date) async throws -> AlertHook {
        try await write { db in
            let level = request.level?.rawValue
            if let id = try db.value("SELECT id FROM alert_hooks WHERE owner = \(owner) AND url = \(request.url) AND level IS \(level)", as: Int64.self) {
                try db.execute(literal: """
                    UPDATE alert_hooks SET secret = \(request.secret.text), active = 1, disabled_reason = NULL, failing_since = NULL WHERE id = \(id)
                    """)
                return try Self.alertHook(db, id: id)
            }
            try db.execute(literal: """
                INSERT INTO alert_hooks (owner, url, secret, level, created_at) VALUES (\(owner), \(request.url), \(request.secret.text), \(level), \(Self.seconds(now)))
                """)
            return try Self.alertHook(db, id: db.lastInsertedRowID)
        }
    }

    public func alertHooks(owner: String?) async throws -> [AlertHook] {
        try await read { db in
            try db.values("SELECT id FROM alert_hooks WHERE \(owner) IS NULL OR owner = \(owner) ORDER BY id", as: Int64.self)
                .map { try Self.alertHook(db, id: $0) }
        }
    }

    public func alertHook(_ id: Int64) async throws -> AlertHook {
        try await read { db in try Self.alertHook(db, id: id) }
    }

    public func setAlertHook(_ id: Int64, active: Bool, reason: String?) async throws -> AlertHook {
        try await write { db in
            _ = try Self.alertHook(db, id: id)
            try db.execute(literal: """
                UPDATE alert_hooks SET active = \(active), disabled_reason = \(active ? nil : reason), failing_since = NULL WHERE id = \(id)
                """)
            if !active {
                try db.execute(literal: "UPDATE alert_outbox SET state = 'failed', last_error = \(reason), claimed_by = NULL WHERE hook_id = \(id) AND state = 'pending'")
            }
            return try Self.alertHook(db, id: id)
        }
    }

    static func alertHook(_ db: Database, id: Int64) throws -> AlertHook {
        guard let row = try db.row("SELECT id, owner, url, level, active, disabled_reason, failing_since, created_at FROM alert_hooks WHERE id = \(id)") else {
            throw RGISError(.notFound, "no alert hook with id \(id)", at: "hookId")
        }
        var deliveries: [String: Int] = [:]
        for count in try db.rows("SELECT state, COUNT(*) FROM alert_outbox WHERE hook_id = \(id) GROUP BY state") { deliveries[count[0]] = count[1] }
        return AlertHook(id: row[0], owner: row[1], url: row[2], level: (row[3] as String?).flatMap(DistrictLevel.init(rawValue:)), active: row[4],
                         disabledReason: row[5], failingSince: (row[6] as Int64?).map(Self.date), createdAt: Self.date(row[7]), deliveries: deliveries)
    }

    // MARK: The watcher's state

    public func alertWatch() async throws -> (mark: AlertWatchMark, state: [AlertStateEntry])? {
        try await read { db in
            guard let mark = try Self.alertWatchMark(db) else { return nil }
            let state = try db.rows("SELECT level, district_id, rule, since, raised_at, properties FROM alert_state ORDER BY level, district_id, rule").map { row in
                AlertStateEntry(level: row[0], districtID: row[1], rule: row[2], since: row[3], raisedAt: Self.date(row[4]), properties: row[5])
            }
            return (mark, state)
        }
    }

    static func alertWatchMark(_ db: Database) throws -> AlertWatchMark? {
        // The column's integer affinity turns a numeric token into a number: read back as text.
        try db.row("SELECT CAST(market_version AS TEXT), month, rules FROM alert_watch WHERE id = 1").map {
            AlertWatchMark(market: ChangeToken($0[0]), month: $0[1], rules: $0[2])
        }
    }

    public func recordAlertWatch(previous: AlertWatchMark?, mark: AlertWatchMark, state: [AlertStateEntry], transitions: [AlertTransition],
                                 now: Date) async throws -> Int? {
        let t = Self.seconds(now)
        return try await write { db in
            guard try Self.alertWatchMark(db) == previous else { return nil }
            try db.execute(literal: """
                INSERT INTO alert_watch (id, market_version, month, rules, checked_at) VALUES (1, \(mark.market.text), \(mark.month), \(mark.rules), \(t))
                ON CONFLICT (id) DO UPDATE SET market_version = excluded.market_version, month = excluded.month, rules = excluded.rules,
                    checked_at = excluded.checked_at
                """)
            try db.execute(sql: "DELETE FROM alert_state")
            for entry in state {
                try db.execute(literal: """
                    INSERT INTO alert_state (level, district_id, rule, since, raised_at, properties)
                    VALUES (\(entry.level), \(entry.districtID), \(entry.rule), \(entry.since), \(Self.seconds(entry.raisedAt)), \(entry.properties))
                    """)
            }
            var queued = 0
            for transition in transitions {
                // A clearing goes to the receivers that could have heard of the raising.
                let since = transition.kind == .cleared ? Self.seconds(transition.alert.raisedAt) : t
                let hooks = try db.values("""
                    SELECT id FROM alert_hooks WHERE active = 1 AND (level IS NULL OR level = \(transition.alert.level)) AND created_at <= \(since) ORDER BY id
                    """, as: Int64.self)
                for hook in hooks {
                    try db.execute(literal: """
                        INSERT OR IGNORE INTO alert_outbox (hook_id, type, message_id, body, queued_at, due_at)
                        VALUES (\(hook), \(transition.kind.rawValue), \(transition.messageID(hook: hook)), \(transition.body), \(t), \(t))
                        """)
                    queued += db.changesCount
                }
            }
            return queued
        }
    }

    public func resetAlertWatch() async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM alert_watch; DELETE FROM alert_state")
        }
    }

    // MARK: Delivery

    public func claimAlertDeliveries(now: Date, worker: String, limit: Int, leaseSeconds: Double) async throws -> [AlertDelivery] {
        try await write { db in
            let t = Self.seconds(now)
            let rows = try db.rows("""
                SELECT o.id, o.hook_id, h.url, h.secret, o.message_id, o.body, o.attempts FROM alert_outbox o JOIN alert_hooks h ON h.id = o.hook_id
                WHERE o.state = 'pending' AND o.due_at <= \(t) AND \(Self.claimIsFree(t))
                ORDER BY o.due_at, o.id LIMIT \(limit)
                """)
            let deliveries = rows.map { row in
                AlertDelivery(outboxID: row[0], hookID: row[1], url: row[2], secret: row[3], messageID: row[4], body: row[5], attempt: (row[6] as Int) + 1)
            }
            if !deliveries.isEmpty {
                let until = t + Int64(leaseSeconds.rounded(.up))
                try db.execute(literal: """
                    UPDATE alert_outbox SET claimed_by = \(worker), claimed_until = \(until) WHERE id IN (\(SpatialSQL.list(deliveries.map(\.outboxID))))
                    """)
            }
            return deliveries
        }
    }

    public func recordAlertSent(_ delivery: AlertDelivery, now: Date) async throws {
        let t = Self.seconds(now)
        try await write { db in
            try db.execute(literal: """
                UPDATE alert_outbox SET state = 'sent', sent_at = \(t), attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claimed_until = NULL
                WHERE id = \(delivery.outboxID)
                """)
            try db.execute(literal: "UPDATE alert_hooks SET failing_since = NULL WHERE id = \(delivery.hookID)")
        }
    }

    public func recordAlertFailure(_ delivery: AlertDelivery, error: String, retryAt: Date?, disableHook: String?, now: Date) async throws -> Date? {
        let t = Self.seconds(now)
        return try await write { db in
            let retry = retryAt.map(Self.seconds)
            try db.execute(literal: """
                UPDATE alert_outbox SET attempts = attempts + 1, last_error = \(error), claimed_by = NULL, claimed_until = NULL,
                    state = \(retry == nil ? "failed" : "pending"), due_at = COALESCE(\(retry), due_at)
                WHERE id = \(delivery.outboxID)
                """)
            if let disableHook {
                try db.execute(literal: "UPDATE alert_hooks SET active = 0, disabled_reason = \(disableHook) WHERE id = \(delivery.hookID)")
                try db.execute(literal: """
                    UPDATE alert_outbox SET state = 'failed', last_error = \(disableHook), claimed_by = NULL WHERE hook_id = \(delivery.hookID) AND state = 'pending'
                    """)
            }
            try db.execute(literal: "UPDATE alert_hooks SET failing_since = COALESCE(failing_since, \(t)) WHERE id = \(delivery.hookID)")
            return try db.value("SELECT failing_since FROM alert_hooks WHERE id = \(delivery.hookID)", as: Int64.self).map(Self.date)
        }
    }
}
