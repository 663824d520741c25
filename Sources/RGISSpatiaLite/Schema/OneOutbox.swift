import GRDB
import RGISStore

/// One outbox for every delivery: saved-search notifications (`kind = 'search'`: an event, a
/// subscription, a listing) and alert webhooks (`kind = 'alert'`: a receiver, a type, a body) share
/// the delivery state, the claims under worker leases and the retry columns, so that claiming,
/// recording and giving back are written once. Rows keep their message ids (receivers drop
/// repeats by them); alert rows take new ids after the notifications'.
enum OneOutbox {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE deliveries (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('search', 'alert')),
                -- A saved search's notification.
                event_id INTEGER,
                subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE CASCADE,
                demand_id TEXT,
                listing_id TEXT,
                reason TEXT CHECK (reason IN ('new', 'price_change', 'back_on_market', 'changed')),
                score REAL,
                price REAL,
                digest_day TEXT,
                -- An alert webhook.
                hook_id INTEGER REFERENCES alert_hooks(id) ON DELETE CASCADE,
                type TEXT CHECK (type IN ('district.alert.raised', 'district.alert.cleared')),
                body TEXT,
                -- Every delivery. message_id is webhook-id and Message-ID: the same on every attempt.
                message_id TEXT NOT NULL UNIQUE,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
                queued_at INTEGER NOT NULL,
                due_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                claimed_by TEXT,
                claimed_until INTEGER,
                last_error TEXT,
                sent_at INTEGER,
                UNIQUE (event_id, subscription_id),
                CHECK ((kind = 'search') = (event_id IS NOT NULL AND subscription_id IS NOT NULL AND demand_id IS NOT NULL
                                            AND listing_id IS NOT NULL AND reason IS NOT NULL)),
                CHECK ((kind = 'alert') = (hook_id IS NOT NULL AND type IS NOT NULL AND body IS NOT NULL))
            );
            INSERT INTO deliveries (id, kind, event_id, subscription_id, demand_id, listing_id, reason, score, price, digest_day,
                                    message_id, state, queued_at, due_at, attempts, claimed_by, claimed_until, last_error, sent_at)
                SELECT id, 'search', event_id, subscription_id, demand_id, listing_id, reason, score, price, digest_day,
                       message_id, state, queued_at, due_at, attempts, claimed_by, claimed_until, last_error, sent_at
                FROM outbox ORDER BY id;
            INSERT INTO deliveries (kind, hook_id, type, body, message_id, state, queued_at, due_at, attempts, claimed_by, claimed_until, last_error, sent_at)
                SELECT 'alert', hook_id, type, body, message_id, state, queued_at, due_at, attempts, claimed_by, claimed_until, last_error, sent_at
                FROM alert_outbox ORDER BY id;
            DROP TABLE outbox;
            DROP TABLE alert_outbox;
            CREATE INDEX deliveries_due ON deliveries(state, due_at);
            CREATE INDEX deliveries_subscription_listing ON deliveries(subscription_id, listing_id);
            CREATE INDEX deliveries_hook ON deliveries(hook_id, state);
            """)
    }
}
