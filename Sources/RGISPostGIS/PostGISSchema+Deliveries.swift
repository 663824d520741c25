import Foundation
import RGISCore

extension PostGISSchema {
    /// Saved searches, planners' alert receivers and the one outbox every message leaves by, as the
    /// SpatiaLite file keeps them (times the notifier sets are Unix seconds, its clock injectable):
    /// webhook endpoints and their subscriptions; `deliveries`, one row per message part, whose unique
    /// (event, subscription) and message id make a replay harmless; the ledger of what each client was
    /// sent; the listing events still to match (`match_queue`, filled by a statement trigger in the
    /// writer's transaction while any search is active); workers' leases; the alert watcher's state.
    /// Workers claim due rows with `FOR UPDATE SKIP LOCKED`, so several never wait on or take each
    /// other's rows.
    static let deliveries: String = {
        let statements = [
            """
            CREATE TABLE webhook_endpoints (
                id bigserial PRIMARY KEY, agent text NOT NULL, url text NOT NULL, secret text NOT NULL,
                active boolean NOT NULL DEFAULT true, disabled_reason text, failing_since bigint, created_at text NOT NULL,
                UNIQUE (agent, url))
            """,
            """
            CREATE TABLE subscriptions (
                id bigserial PRIMARY KEY,
                demand_id text NOT NULL REFERENCES demands (id) ON DELETE CASCADE,
                channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
                email text,
                endpoint_id bigint REFERENCES webhook_endpoints (id),
                schedule text NOT NULL DEFAULT 'instant' CHECK (schedule IN ('instant', 'daily')),
                digest_hour integer NOT NULL DEFAULT 8 CHECK (digest_hour BETWEEN 0 AND 23),
                timezone text NOT NULL DEFAULT 'UTC',
                quiet_start integer CHECK (quiet_start BETWEEN 0 AND 1439),
                quiet_end integer CHECK (quiet_end BETWEEN 0 AND 1439),
                price_updates boolean NOT NULL DEFAULT false,
                active boolean NOT NULL DEFAULT true,
                disabled_reason text,
                starts_after_event bigint NOT NULL DEFAULT 0,
                created_at text NOT NULL,
                CHECK ((channel = 'email') = (email IS NOT NULL)),
                CHECK ((channel = 'webhook') = (endpoint_id IS NOT NULL)))
            """,
            "CREATE INDEX subscriptions_demand ON subscriptions (demand_id)",
            """
            CREATE TABLE alert_hooks (
                id bigserial PRIMARY KEY, owner text NOT NULL, url text NOT NULL, secret text NOT NULL,
                level text CHECK (level IN ('city', 'district', 'subdistrict')),
                active boolean NOT NULL DEFAULT true, disabled_reason text, failing_since bigint, created_at bigint NOT NULL,
                UNIQUE NULLS NOT DISTINCT (owner, url, level))
            """,
            """
            CREATE TABLE deliveries (
                id bigserial PRIMARY KEY,
                kind text NOT NULL CHECK (kind IN ('search', 'alert')),
                event_id bigint,
                subscription_id bigint REFERENCES subscriptions (id) ON DELETE CASCADE,
                demand_id text,
                listing_id text,
                reason text CHECK (reason IN ('new', 'price_change', 'back_on_market', 'changed')),
                score double precision,
                price double precision,
                digest_day text,
                hook_id bigint REFERENCES alert_hooks (id) ON DELETE CASCADE,
                type text CHECK (type IN ('district.alert.raised', 'district.alert.cleared')),
                body text,
                message_id text NOT NULL UNIQUE,
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
                queued_at bigint NOT NULL,
                due_at bigint NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                claimed_by text,
                claimed_until bigint,
                last_error text,
                sent_at bigint,
                UNIQUE (event_id, subscription_id),
                CHECK ((kind = 'search') = (event_id IS NOT NULL AND subscription_id IS NOT NULL AND demand_id IS NOT NULL
                                            AND listing_id IS NOT NULL AND reason IS NOT NULL)),
                CHECK ((kind = 'alert') = (hook_id IS NOT NULL AND type IS NOT NULL AND body IS NOT NULL)))
            """,
            "CREATE INDEX deliveries_due ON deliveries (due_at, id) WHERE state = 'pending'",
            "CREATE INDEX deliveries_subscription_listing ON deliveries (subscription_id, listing_id)",
            "CREATE INDEX deliveries_hook ON deliveries (hook_id, state)",
            "CREATE INDEX deliveries_demand ON deliveries (demand_id)",
            """
            CREATE TABLE client_listings (
                demand_id text NOT NULL, listing_id text NOT NULL, client_id text, channel text NOT NULL,
                first_sent_at bigint NOT NULL, last_sent_at bigint NOT NULL, times_sent integer NOT NULL DEFAULT 1, price_sent double precision,
                reaction text CHECK (reaction IN ('favourite', 'not_for_me')), reacted_at bigint,
                PRIMARY KEY (demand_id, listing_id))
            """,
            "CREATE INDEX client_listings_client ON client_listings (client_id)",
            "CREATE TABLE match_queue (event_id bigint PRIMARY KEY)",
            """
            CREATE FUNCTION rgis_match_queue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              IF EXISTS (SELECT 1 FROM subscriptions WHERE active) THEN
                INSERT INTO match_queue SELECT id FROM new_rows WHERE layer = 'listings' AND NOT from_history;
              END IF;
              RETURN NULL;
            END $$
            """,
            "CREATE TRIGGER events_match_queue AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rgis_match_queue()",
            "CREATE TABLE notify_workers (worker text PRIMARY KEY, started_at bigint NOT NULL, lease_until bigint NOT NULL)",
            """
            CREATE TABLE alert_watch (id integer PRIMARY KEY CHECK (id = 1), market_version text NOT NULL, month text NOT NULL,
                rules text NOT NULL, checked_at bigint NOT NULL)
            """,
            """
            CREATE TABLE alert_state (level text NOT NULL, district_id text NOT NULL, rule text NOT NULL, since text NOT NULL,
                raised_at bigint NOT NULL, properties text NOT NULL, PRIMARY KEY (level, district_id, rule))
            """,
            // The key behind unsubscribe and reaction links, from the server's strong random source.
            "INSERT INTO store_secrets VALUES ('links', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'))",
        ]
        return statements.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: ";\n")
    }()
}
