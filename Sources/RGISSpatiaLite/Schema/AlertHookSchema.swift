import GRDB
import RGISStore

/// The early warning pushed to planners: their receivers (`alert_hooks`), the alerts in force as the
/// watcher last saw them (`alert_state`, with the market version, month and rules it read in
/// `alert_watch`), and one outbox row per raising or clearing and receiver. Times are Unix seconds,
/// as in the notifications' tables.
enum AlertHookSchema {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE alert_hooks (
                id INTEGER PRIMARY KEY,
                owner TEXT NOT NULL,
                url TEXT NOT NULL,
                -- A signing key must be read to sign with it, so it is kept as given (unlike tokens).
                secret TEXT NOT NULL,
                -- NULL: every level.
                level TEXT CHECK (level IN ('city', 'district', 'subdistrict')),
                active INTEGER NOT NULL DEFAULT 1,
                disabled_reason TEXT,
                failing_since INTEGER,
                created_at INTEGER NOT NULL,
                UNIQUE (owner, url, level)
            );
            CREATE TABLE alert_watch (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                market_version INTEGER NOT NULL,
                month TEXT NOT NULL,
                rules TEXT NOT NULL,
                checked_at INTEGER NOT NULL
            );
            CREATE TABLE alert_state (
                level TEXT NOT NULL,
                district_id TEXT NOT NULL,
                rule TEXT NOT NULL,
                since TEXT NOT NULL,
                raised_at INTEGER NOT NULL,
                -- The alert as it was raised (the webhook's data), the base of its clearing.
                properties TEXT NOT NULL,
                PRIMARY KEY (level, district_id, rule)
            );
            CREATE TABLE alert_outbox (
                id INTEGER PRIMARY KEY,
                hook_id INTEGER NOT NULL REFERENCES alert_hooks(id) ON DELETE CASCADE,
                type TEXT NOT NULL CHECK (type IN ('district.alert.raised', 'district.alert.cleared')),
                -- webhook-id: the same on every attempt, so receivers can drop repeats.
                message_id TEXT NOT NULL UNIQUE,
                body TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
                queued_at INTEGER NOT NULL,
                due_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                claimed_by TEXT,
                claimed_until INTEGER,
                last_error TEXT,
                sent_at INTEGER
            );
            CREATE INDEX alert_outbox_due ON alert_outbox(state, due_at);
            CREATE INDEX alert_outbox_hook ON alert_outbox(hook_id, state);
            """)
    }
}
