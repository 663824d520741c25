import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// Planners' alert receivers, the watcher's state and its messages in the one outbox (``AlertHookStore``).
extension PostGISStore: AlertHookStore {
    public func addAlertHook(owner: String, _ request: AlertHookRequest, now: Date) async throws -> AlertHook {
        try await transaction { session in
            let q = SQLText("""
                INSERT INTO alert_hooks (owner, url, secret, level, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (owner, url, level) DO UPDATE SET secret = excluded.secret, active = true, disabled_reason = NULL, failing_since = NULL
                RETURNING id
                """, [owner, request.url, request.secret.text, request.level?.rawValue, Self.seconds(now)])
            return try await Self.alertHook(session, id: try session.rows(q)[0][0].decode(Int64.self))
        }
    }

    public func alertHooks(owner: String?) async throws -> [AlertHook] {
        try await read { session in
            var q = SQLText("SELECT id FROM alert_hooks")
            if let owner {
                q.sql(" WHERE owner = ")
                q.bind(owner)
            }
            q.sql(" ORDER BY id")
            var hooks: [AlertHook] = []
            for row in try await session.rows(q) { hooks.append(try await Self.alertHook(session, id: try row[0].decode(Int64.self))) }
            return hooks
        }
    }

    public func alertHook(_ id: Int64) async throws -> AlertHook {
        try await read { session in try await Self.alertHook(session, id: id) }
    }

    public func setAlertHook(_ id: Int64, active: Bool, reason: String?) async throws -> AlertHook {
        try await transaction { session in
            _ = try await Self.alertHook(session, id: id)
            try await session.run(SQLText("UPDATE alert_hooks SET active = ?, disabled_reason = ?, failing_since = NULL WHERE id = ?",
                                          [active, active ? nil : reason, id]))
            if !active {
                try await session.run(SQLText("UPDATE deliveries SET state = 'failed', last_error = ?, claimed_by = NULL WHERE hook_id = ? AND state = 'pending'",
                                              [reason, id]))
            }
            return try await Self.alertHook(session, id: id)
        }
    }

    static func alertHook(_ session: Session, id: Int64) async throws -> AlertHook {
        let q = SQLText("SELECT id, owner, url, level, active, disabled_reason, failing_since, created_at FROM alert_hooks WHERE id = ?", [id])
        guard let row = try await session.rows(q).first else { throw RGISError(.notFound, "no alert hook with id \(id)", at: "hookId") }
        var deliveries: [String: Int] = [:]
        for count in try await session.rows(SQLText("SELECT state, count(*) FROM deliveries WHERE hook_id = ? GROUP BY state", [id])) {
            deliveries[try count[0].decode(String.self)] = Int(try count[1].decode(Int64.self))
        }
        return AlertHook(id: try row[0].decode(Int64.self), owner: try row[1].decode(String.self), url: try row[2].decode(String.self),
                         level: try row[3].decode(String?.self).flatMap(DistrictLevel.init(rawValue:)), active: try row[4].decode(Bool.self),
                         disabledReason: try row[5].decode(String?.self), failingSince: try row[6].decode(Int64?.self).map(Self.date),
                         createdAt: Self.date(try row[7].decode(Int64.self)), deliveries: deliveries)
    }

    // MARK: The watcher's state

    public func alertWatch() async throws -> (mark: AlertWatchMark, state: [AlertStateEntry])? {
        try await read { session in
            guard let mark = try await Self.alertWatchMark(session) else { return nil }
            let state = try await session.rows("""
                SELECT level, district_id, rule, since, raised_at, properties FROM alert_state
                ORDER BY level COLLATE "C", district_id COLLATE "C", rule COLLATE "C"
                """).map { row in
                AlertStateEntry(level: try row[0].decode(String.self), districtID: try row[1].decode(String.self), rule: try row[2].decode(String.self),
                                since: try row[3].decode(String.self), raisedAt: Self.date(try row[4].decode(Int64.self)),
                                properties: try row[5].decode(String.self))
            }
            return (mark, state)
        }
    }

    static func alertWatchMark(_ session: Session) async throws -> AlertWatchMark? {
        try await session.rows("SELECT market_version, month, rules FROM alert_watch WHERE id = 1").first.map { row in
            AlertWatchMark(market: ChangeToken(try row[0].decode(String.self)), month: try row[1].decode(String.self), rules: try row[2].decode(String.self))
        }
    }

    /// Watchers on several replicas take turns (a transaction-scoped advisory lock): the first records,
    /// the others find the mark moved and record nothing.
    public func recordAlertWatch(previous: AlertWatchMark?, mark: AlertWatchMark, state: [AlertStateEntry], transitions: [AlertTransition],
                                 now: Date) async throws -> Int? {
        let t = Self.seconds(now)
        return try await transaction { session in
            try await session.run(SQLText("SELECT pg_advisory_xact_lock(?)", [Self.alertWatchLock]))
            guard try await Self.alertWatchMark(session) == previous else { return nil }
            try await session.run(SQLText("""
                INSERT INTO alert_watch (id, market_version, month, rules, checked_at) VALUES (1, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET market_version = excluded.market_version, month = excluded.month, rules = excluded.rules,
                    checked_at = excluded.checked_at
                """, [mark.market.text, mark.month, mark.rules, t]))
            try await session.run("DELETE FROM alert_state")
            for entry in state {
                try await session.run(SQLText("INSERT INTO alert_state (level, district_id, rule, since, raised_at, properties) VALUES (?, ?, ?, ?, ?, ?)",
                                              [entry.level, entry.districtID, entry.rule, entry.since, Self.seconds(entry.raisedAt), entry.properties]))
            }
            var queued = 0
            for transition in transitions {
                // A clearing goes to the receivers that could have heard of the raising.
                let since = transition.kind == .cleared ? Self.seconds(transition.alert.raisedAt) : t
                let hooks = try await session.rows(SQLText("""
                    SELECT id FROM alert_hooks WHERE active AND (level IS NULL OR level = ?) AND created_at <= ? ORDER BY id
                    """, [transition.alert.level, since])).map { try $0[0].decode(Int64.self) }
                for hook in hooks {
                    queued += try await session.rows(SQLText("""
                        INSERT INTO deliveries (kind, hook_id, type, message_id, body, queued_at, due_at) VALUES ('alert', ?, ?, ?, ?, ?, ?)
                        ON CONFLICT DO NOTHING RETURNING 1
                        """, [hook, transition.kind.rawValue, transition.messageID(hook: hook), transition.body, t, t])).count
                }
            }
            return queued
        }
    }

    /// The lock recording the watch takes, a constant of RGIS's own.
    static let alertWatchLock: Int64 = 0x5247_4953_616C_7274

    public func resetAlertWatch() async throws {
        try await transaction { session in
            try await session.run("DELETE FROM alert_watch")
            try await session.run("DELETE FROM alert_state")
        }
    }
}
