import GRDB
import RGISStore

/// Saved searches and their deliveries: webhook endpoints, subscriptions (a demand's alert settings),
/// the outbox (one row per listing event and subscription, the unique key that makes replays and
/// restarts harmless) and the ledger of what each client was sent and how they reacted.
/// Times the notifier sets are Unix seconds, so that its clock can be injected and compared in SQL.
enum NotificationSchema {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE webhook_endpoints (
                id INTEGER PRIMARY KEY,
                agent TEXT NOT NULL,
                url TEXT NOT NULL,
                -- A signing key must be read to sign with it, so it is kept as given (unlike tokens).
                secret TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 1,
                disabled_reason TEXT,
                failing_since INTEGER,
                created_at TEXT NOT NULL,
                UNIQUE (agent, url)
            );
            CREATE TABLE subscriptions (
                id INTEGER PRIMARY KEY,
                demand_id TEXT NOT NULL REFERENCES demands(id) ON DELETE CASCADE,
                channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
                email TEXT,
                endpoint_id INTEGER REFERENCES webhook_endpoints(id),
                schedule TEXT NOT NULL DEFAULT 'instant' CHECK (schedule IN ('instant', 'daily')),
                digest_hour INTEGER NOT NULL DEFAULT 8 CHECK (digest_hour BETWEEN 0 AND 23),
                timezone TEXT NOT NULL DEFAULT 'UTC',
                quiet_start INTEGER CHECK (quiet_start BETWEEN 0 AND 1439),
                quiet_end INTEGER CHECK (quiet_end BETWEEN 0 AND 1439),
                price_updates INTEGER NOT NULL DEFAULT 0,
                active INTEGER NOT NULL DEFAULT 1,
                disabled_reason TEXT,
                -- Events up to this id happened before the search was saved: no flood of old matches.
                starts_after_event INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                CHECK ((channel = 'email') = (email IS NOT NULL)),
                CHECK ((channel = 'webhook') = (endpoint_id IS NOT NULL))
            );
            CREATE INDEX subscriptions_demand ON subscriptions(demand_id);
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                event_id INTEGER NOT NULL,
                subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
                demand_id TEXT NOT NULL,
                listing_id TEXT NOT NULL,
                reason TEXT NOT NULL CHECK (reason IN ('new', 'price_change', 'back_on_market', 'changed')),
                score REAL,
                price REAL,
                -- webhook-id and Message-ID: the same on every attempt, so receivers can drop repeats.
                message_id TEXT NOT NULL UNIQUE,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
                queued_at INTEGER NOT NULL,
                due_at INTEGER NOT NULL,
                digest_day TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                claimed_by TEXT,
                claimed_until INTEGER,
                last_error TEXT,
                sent_at INTEGER,
                UNIQUE (event_id, subscription_id)
            );
            CREATE INDEX outbox_due ON outbox(state, due_at);
            CREATE INDEX outbox_subscription_listing ON outbox(subscription_id, listing_id);
            -- What each client was sent (one row per demand and listing) and their reaction.
            CREATE TABLE client_listings (
                demand_id TEXT NOT NULL,
                listing_id TEXT NOT NULL,
                client_id TEXT,
                channel TEXT NOT NULL,
                first_sent_at INTEGER NOT NULL,
                last_sent_at INTEGER NOT NULL,
                times_sent INTEGER NOT NULL DEFAULT 1,
                price_sent REAL,
                reaction TEXT CHECK (reaction IN ('favourite', 'not_for_me')),
                reacted_at INTEGER,
                PRIMARY KEY (demand_id, listing_id)
            );
            CREATE INDEX client_listings_client ON client_listings(client_id);
            CREATE TABLE notify_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            -- A file that had listings before notifications existed starts matching from now.
            INSERT INTO notify_state VALUES ('matched_through_event', (SELECT COALESCE(MAX(id), 0) FROM events));
            -- The key behind unsubscribe and reaction links.
            INSERT INTO store_secrets VALUES ('links', randomblob(32));
            """)
        try DemandFitIndex.create(db)
    }
}
