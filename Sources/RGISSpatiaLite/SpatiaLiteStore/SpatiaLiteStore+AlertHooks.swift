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
                try db.execute(literal: "UPDATE deliveries SET state = 'failed', last_error = \(reason), claimed_by = NULL WHERE hook_id = \(id) AND state = 'pending'")
            }
            return try Self.alertHook(db, id: id)
        }
    }

    static func alertHook(_ db: Database, id: Int64) throws -> AlertHook {
        guard let row = try db.row("SELECT id, owner, url, level, active, disabled_reason, failing_since, created_at FROM alert_hooks WHERE id = \(id)") else {
            throw RGISError(.notFound, "no alert hook with id \(id)", at: "hookId")
        }
        var deliveries: [String: Int] = [:]
        for count in try db.rows("SELECT state, COUNT(*) FROM deliveries WHERE hook_id = \(id) GROUP BY state") { deliveries[count[0]] = count[1] }
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
                        INSERT OR IGNORE INTO deliveries (kind, hook_id, type, message_id, body, queued_at, due_at)
                        VALUES ('alert', \(hook), \(transition.kind.rawValue), \(transition.messageID(hook: hook)), \(transition.body), \(t), \(t))
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
}
