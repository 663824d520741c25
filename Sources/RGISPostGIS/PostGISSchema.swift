import Foundation
import Logging
import PostgresNIO
import RGISCore

/// The PostgreSQL schema's own line of migrations (not SpatiaLite's translated): each a name and its
/// SQL, applied in order by `rgis init`, each in one transaction under an advisory lock so that two
/// `init`s at once apply it once. Migrations are history: never edit one that has shipped; add one.
enum PostGISSchema {
    struct Migration: Sendable {
        let name: String
        let sql: String
    }

    /// The lock every migration takes (`pg_advisory_xact_lock`), a constant of RGIS's own.
    static let migrationLock: Int64 = 0x5247_4953_6D69_67

    static let migrations: [Migration] = [
        Migration(name: "p01-layers", sql: layers),
        Migration(name: "p02-accounts", sql: accounts),
        Migration(name: "p03-records", sql: records),
        Migration(name: "p04-matching", sql: matching),
        Migration(name: "p05-placement", sql: placement),
        Migration(name: "p06-market", sql: market),
        Migration(name: "p07-deliveries", sql: deliveries),
        Migration(name: "p08-archive", sql: archive),
        Migration(name: "p09-statistics", sql: statistics),
    ]

    /// Applies, on one connection, every migration the database lacks. Refuses a database that holds
    /// another application's tables, or migrations this RGIS does not know.
    static func migrate(_ connection: PostgresConnection, location: String, logger: Logger) async throws {
        try await connection.query("""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'rgis_migrations')
                 AND EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'spatial_ref_sys') THEN
                RAISE EXCEPTION 'holds tables of another application' USING ERRCODE = 'RG001';
              END IF;
            END $$
            """, logger: logger)
        try await connection.query("CREATE EXTENSION IF NOT EXISTS postgis", logger: logger)
        try await connection.query("CREATE TABLE IF NOT EXISTS rgis_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                                   logger: logger)
        for migration in migrations {
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
                let done = try await connection.query("SELECT 1 FROM rgis_migrations WHERE name = \(migration.name)", logger: logger).collect()
                if done.isEmpty {
                    // One statement at a time: the extended protocol (bound values) takes one per query.
                    for statement in migration.sql.components(separatedBy: ";\n") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO rgis_migrations (name) VALUES (\(migration.name))", logger: logger)
                }
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
        try await check(connection, location: location, logger: logger)
    }

    /// Refuses a database without RGIS's schema, with migrations this RGIS does not know, or lacking some.
    static func check(_ connection: PostgresConnection, location: String, logger: Logger) async throws {
        let present = try await connection.query("SELECT to_regclass('rgis_migrations') IS NOT NULL", logger: logger).collect()
        guard try present.first?.decode(Bool.self) == true else {
            throw RGISError(.notAnRGISDatabase, "holds no RGIS schema; run rgis init \(location) first", at: location)
        }
        var applied: [String] = []
        for try await name in try await connection.query("SELECT name FROM rgis_migrations ORDER BY name", logger: logger).decode(String.self) {
            applied.append(name)
        }
        let known = Set(migrations.map(\.name))
        if let newer = applied.first(where: { !known.contains($0) }) {
            throw RGISError(.invalidValue, "this database was upgraded by a newer RGIS (migration \(newer)); open it with that version", at: location)
        }
        if applied.count < known.count {
            throw RGISError(.invalidValue, "this database lacks \(known.count - applied.count) of this RGIS's migrations; run rgis init \(location)", at: location)
        }
    }

    /// The layers with their typed columns (as ``Layer/fields`` declares them), `extra` for the source's
    /// other properties (text: kept as it came, key order included), a geometry in EPSG:4326 with GiST
    /// indexes on it (boxes, planar predicates) and on its geography (metres: `ST_DWithin`, `<->`).
    /// Dates stay ISO 8601 text, as they came. Events (their values as JSON: a price stays a number),
    /// clients and their personal data beside them.
    static let layers = """
        CREATE TABLE districts (
            fid bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            name text,
            level text NOT NULL DEFAULT 'district' CHECK (level IN ('city', 'district', 'subdistrict')),
            parent_id text,
            extra text,
            geom geometry(MultiPolygon, 4326) NOT NULL
        );
        CREATE INDEX districts_parent ON districts (parent_id);
        CREATE TABLE parcels (
            fid bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            cadastral_number text,
            land_use text,
            zoning text,
            area_m2 double precision CHECK (area_m2 >= 0),
            valid_from text,
            valid_to text,
            extra text,
            geom geometry(MultiPolygon, 4326) NOT NULL
        );
        CREATE TABLE buildings (
            fid bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            parcel_id text,
            use text,
            floors bigint CHECK (floors >= 0),
            height_m double precision CHECK (height_m >= 0),
            year_built bigint,
            units bigint CHECK (units >= 0),
            extra text,
            geom geometry(MultiPolygon, 4326) NOT NULL
        );
        CREATE INDEX buildings_parcel ON buildings (parcel_id);
        CREATE TABLE listings (
            fid bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            status text NOT NULL DEFAULT 'active',
            property_type text,
            list_price double precision CHECK (list_price >= 0),
            living_area_m2 double precision CHECK (living_area_m2 >= 0),
            bedrooms bigint CHECK (bedrooms >= 0),
            bathrooms double precision CHECK (bathrooms >= 0),
            year_built bigint,
            address text,
            building_id text,
            parcel_id text,
            list_date text,
            close_date text,
            close_price double precision CHECK (close_price >= 0),
            agent text,
            extra text,
            geom geometry(Point, 4326) NOT NULL
        );
        CREATE INDEX listings_status_price ON listings (status, list_price);
        CREATE TABLE clients (
            fid bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            agent text NOT NULL,
            age_band text,
            household text,
            income_band text,
            lifecycle_stage text NOT NULL DEFAULT 'initial_contact'
                CHECK (lifecycle_stage IN ('initial_contact', 'viewing', 'negotiation', 'purchase', 'after_sale', 'lost')),
            created_at text
        );
        CREATE INDEX clients_agent ON clients (agent);
        CREATE TABLE client_contacts (
            client_id text PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
            name text,
            phone text,
            email text
        );
        CREATE TABLE demands (
            fid bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            client_id text,
            agent text,
            status text NOT NULL DEFAULT 'active',
            budget_min double precision CHECK (budget_min >= 0),
            budget_max double precision CHECK (budget_max >= 0),
            bedrooms_min bigint CHECK (bedrooms_min >= 0),
            property_types text,
            area_min_m2 double precision,
            area_max_m2 double precision,
            radius_m double precision,
            created_at text,
            extra text,
            geom geometry(MultiPolygon, 4326) NOT NULL
        );
        CREATE INDEX demands_client ON demands (client_id);
        CREATE TABLE listing_private (
            listing_id text PRIMARY KEY REFERENCES listings (id) ON DELETE CASCADE ON UPDATE CASCADE,
            private_remarks text,
            showing_contact_phone text,
            seller_contact text
        );
        CREATE TABLE events (
            id bigserial PRIMARY KEY,
            layer text NOT NULL CHECK (layer IN ('listings', 'demands')),
            record_id text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('new', 'price_change', 'status_change', 'update')),
            old_value jsonb,
            new_value jsonb,
            at text NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        );
        CREATE INDEX events_record ON events (layer, record_id);
        CREATE TABLE rgis_settings (name text PRIMARY KEY, value text NOT NULL);
        """ + ["districts", "parcels", "buildings", "listings", "demands"].map { table in
        """

        CREATE INDEX \(table)_geom ON \(table) USING gist (geom);
        CREATE INDEX \(table)_geog ON \(table) USING gist ((geom::geography));
        """
    }.joined()

    /// Users, their tokens (only the SHA-256 of a token's text: the database never holds one that
    /// works) and the audit log of personal-data reads, which refuses updates and deletes (RG002).
    /// Times are `timestamptz` to the second, as the store writes them; record ids a `text[]`.
    static let accounts = """
        CREATE TABLE users (
            name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
            role text NOT NULL CHECK (role IN ('agent', 'planner', 'regulator', 'admin')),
            agent text CHECK ((role = 'agent') = (agent IS NOT NULL)),
            created_at timestamptz NOT NULL
        );
        CREATE TABLE tokens (
            id bigserial PRIMARY KEY,
            user_name text NOT NULL REFERENCES users (name),
            sha256 text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL,
            expires_at timestamptz,
            last_used_at timestamptz,
            revoked_at timestamptz
        );
        CREATE INDEX tokens_user ON tokens (user_name);
        CREATE TABLE audit_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL,
            user_name text NOT NULL,
            role text NOT NULL,
            method text NOT NULL,
            endpoint text NOT NULL,
            record_ids text[] NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE INDEX audit_log_user ON audit_log (user_name, at);
        CREATE FUNCTION rgis_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'RG002'; END $$;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION rgis_append_only();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION rgis_append_only()
        """

    /// What single-record writes need: a POST's key and the record it made (written in the POST's
    /// transaction), the key behind ETags (32 bytes from the server's strong random source, by way of
    /// two version-4 UUIDs' 244 random bits), `withdrawn` among the change events, and clients in byte
    /// order of their ids (as SQLite orders them), through an index in that order.
    static let records = """
        CREATE TABLE idempotency_keys (
            user_name text NOT NULL,
            key text NOT NULL,
            endpoint text NOT NULL,
            body_sha256 text NOT NULL,
            record_id text NOT NULL,
            etag text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_name, key)
        );
        CREATE INDEX idempotency_keys_record ON idempotency_keys (record_id);
        CREATE TABLE store_secrets (name text PRIMARY KEY, value bytea NOT NULL);
        INSERT INTO store_secrets VALUES ('etag', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
        ALTER TABLE events DROP CONSTRAINT events_kind_check;
        ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('new', 'price_change', 'status_change', 'update', 'withdrawn'));
        CREATE INDEX clients_id_bytes ON clients (id COLLATE "C")
        """

    /// What matching reads of a demand, kept by PostgreSQL as the area changes: its centroid (planar,
    /// as SpatiaLite's `ST_Centroid`) and its area on the spheroid, from which the closeness radius
    /// follows; and imported past changes marked apart from the store's own events (`from_history`).
    static let matching = """
        ALTER TABLE demands
            ADD COLUMN fit_centre geometry(Point, 4326) GENERATED ALWAYS AS (ST_Centroid(geom)) STORED,
            ADD COLUMN fit_area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom::geography)) STORED;
        ALTER TABLE events ADD COLUMN from_history boolean NOT NULL DEFAULT false
        """

    /// Each listing and demand keeps the district holding it at every level (`city_fid`,
    /// `district_fid`, `subdistrict_fid`; NULL outside every district of the level), as the SpatiaLite
    /// file does, so that indicators are grouped reads over an index: a listing by its point, a demand
    /// by its area's point on surface, `ST_Contains` (a point on a border belongs to no district), the
    /// lowest fid winning where districts of a level overlap. Kept by a trigger on a row's insert and
    /// move; any change of the districts places every row again. Medians of a sorted array, as the
    /// mean of its middle one or two values (`rgis_median`).
    static let placement: String = {
        func placed(_ point: String) -> String {
            DistrictLevel.allCases.map { level in
                "\(level.rawValue)_fid = (SELECT d.fid FROM districts d WHERE d.level = '\(level.rawValue)' AND ST_Contains(d.geom, \(point)) ORDER BY d.fid LIMIT 1)"
            }.joined(separator: ", ")
        }
        func assigned(_ point: String) -> String {
            DistrictLevel.allCases.map { level in
                "NEW.\(level.rawValue)_fid := (SELECT d.fid FROM districts d WHERE d.level = '\(level.rawValue)' AND ST_Contains(d.geom, \(point)) ORDER BY d.fid LIMIT 1);"
            }.joined(separator: " ")
        }
        var statements: [String] = []
        let points: [(table: String, point: (String) -> String)] = [("listings", { $0 }), ("demands", { "ST_PointOnSurface(\($0))" })]
        for (table, point) in points {
            statements.append("ALTER TABLE \(table) " + DistrictLevel.allCases.map { "ADD COLUMN \($0.rawValue)_fid bigint" }.joined(separator: ", "))
            for level in DistrictLevel.allCases {
                statements.append("CREATE INDEX \(table)_\(level.rawValue)_fid ON \(table) (\(level.rawValue)_fid, status)")
            }
            statements.append("CREATE FUNCTION rgis_place_\(table)() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \(assigned(point("NEW.geom"))) RETURN NEW; END $$")
            statements.append("CREATE TRIGGER \(table)_place BEFORE INSERT OR UPDATE OF geom ON \(table) FOR EACH ROW EXECUTE FUNCTION rgis_place_\(table)()")
            // Qualified: inside the subquery a bare `geom` would be the district's.
            statements.append("UPDATE \(table) SET \(placed(point("\(table).geom")))")
        }
        statements.append("CREATE FUNCTION rgis_place_all() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE listings SET \(placed(points[0].point("listings.geom"))); UPDATE demands SET \(placed(points[1].point("demands.geom"))); RETURN NULL; END $$")
        statements.append("CREATE TRIGGER districts_place AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON districts FOR EACH STATEMENT EXECUTE FUNCTION rgis_place_all()")
        statements.append("CREATE FUNCTION rgis_median(v float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$ SELECT (v[(cardinality(v) + 1) / 2] + v[cardinality(v) / 2 + 1]) / 2 $$")
        return statements.joined(separator: ";\n")
    }()

    /// What the market's figures are kept by, and the map's pixels.
    ///
    /// Series stamps without a shared counter: every write statement that changes what a district's
    /// series read appends a row for that district to `series_bumps` (weight 1); a district's stamp is
    /// the sum of its rows' weights, read in the same snapshot as its rows. Writers only append, so
    /// agents writing at once never queue on one counter row, and a stamp moves with every committed
    /// write whatever order the writers commit in. `keepSeries` folds a district's rows into one of the
    /// same total weight. District 0 holds the whole market's: any write of a listing, demand, district
    /// or client (``FeatureStore/marketChangeToken()``). Statement triggers with transition tables, so a
    /// bulk import appends one row per district, not one per listing.
    ///
    /// Each listing keeps its WebMercatorQuad pixel at zoom 24 (`map_x`, `map_y`, as the SpatiaLite
    /// file does; generated, so no writer can forget them) for tiles and clusters.
    static let market: String = {
        let r = "\(TileID.originMetres)::float8", scale = "\(Double(UInt64(1) << 32) / (2 * TileID.originMetres))::float8"
        let clampedLat = "least(greatest(ST_Y(geom), -85.0511287798), 85.0511287798)"
        let x = "floor(least(greatest((ST_X(ST_Transform(geom, 3857)) + \(r)) * \(scale), 0), 4294967295))::bigint"
        let y = "floor(least(greatest((\(r) - ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(ST_X(geom), \(clampedLat)), 4326), 3857))) * \(scale), 0), 4294967295))::bigint"
        let read: [String: [String]] = [
            "listings": ["list_date", "close_date", "close_price", "status", "list_price", "living_area_m2"],
            "demands": ["created_at", "status", "budget_max"],
        ]
        let levels = DistrictLevel.allCases.map { "\($0.rawValue)_fid" }
        func placed(_ rows: String) -> String {
            "SELECT v.f FROM \(rows) r CROSS JOIN LATERAL (VALUES \(levels.map { "(r.\($0))" }.joined(separator: ", "))) v(f) WHERE v.f IS NOT NULL"
        }
        func bump(_ fids: String) -> String {
            "INSERT INTO series_bumps (district_fid) SELECT DISTINCT f FROM (\(fids)) b(f)"
        }
        let market = "INSERT INTO series_bumps (district_fid) VALUES (0)"
        var statements = [
            "CREATE TABLE series_bumps (district_fid bigint NOT NULL, weight bigint NOT NULL DEFAULT 1)",
            "CREATE INDEX series_bumps_district ON series_bumps (district_fid) INCLUDE (weight)",
            "CREATE TABLE kept_series (district_fid bigint PRIMARY KEY, stamp bigint NOT NULL, figures text NOT NULL)",
            "ALTER TABLE listings ADD COLUMN map_x bigint GENERATED ALWAYS AS (\(x)) STORED, ADD COLUMN map_y bigint GENERATED ALWAYS AS (\(y)) STORED",
            "CREATE INDEX listings_map ON listings (map_x, map_y)",
        ]
        for (table, columns) in read.sorted(by: { $0.key < $1.key }) {
            let compared = (columns + levels)
            let changed = "(\(compared.map { "o.\($0)" }.joined(separator: ", "))) IS DISTINCT FROM (\(compared.map { "n.\($0)" }.joined(separator: ", ")))"
            statements.append("""
                CREATE FUNCTION rgis_bump_\(table)() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                  IF TG_OP = 'INSERT' THEN \(bump(placed("new_rows")));
                  ELSIF TG_OP = 'DELETE' THEN \(bump(placed("old_rows")));
                  ELSE \(bump("\(placed("(SELECT o.* FROM old_rows o JOIN new_rows n ON n.fid = o.fid WHERE \(changed))")) UNION \(placed("(SELECT n.* FROM old_rows o JOIN new_rows n ON n.fid = o.fid WHERE \(changed))"))"));
                  END IF;
                  IF TG_OP = 'DELETE' THEN IF EXISTS (SELECT 1 FROM old_rows) THEN \(market); END IF;
                  ELSIF EXISTS (SELECT 1 FROM new_rows) THEN \(market); END IF;
                  RETURN NULL;
                END $$
                """)
            for op in ["INSERT", "UPDATE", "DELETE"] {
                let tables = op == "INSERT" ? "NEW TABLE AS new_rows" : op == "DELETE" ? "OLD TABLE AS old_rows" : "OLD TABLE AS old_rows NEW TABLE AS new_rows"
                statements.append("CREATE TRIGGER \(table)_bump_\(op.lowercased()) AFTER \(op) ON \(table) REFERENCING \(tables) FOR EACH STATEMENT EXECUTE FUNCTION rgis_bump_\(table)()")
            }
        }
        // A price or status change event: its record's districts. A district written: itself.
        let eventPlaced = ["listings", "demands"].map { table in
            placed("(SELECT x.* FROM \(table) x JOIN changed e ON e.layer = '\(table)' AND e.record_id = x.id WHERE e.kind IN ('price_change', 'status_change'))")
        }.joined(separator: " UNION ")
        statements.append("""
            CREATE FUNCTION rgis_bump_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              IF TG_OP = 'INSERT' THEN \(bump(eventPlaced.replacingOccurrences(of: "JOIN changed e", with: "JOIN new_rows e")));
              ELSE \(bump(eventPlaced.replacingOccurrences(of: "JOIN changed e", with: "JOIN old_rows e")));
              END IF;
              RETURN NULL;
            END $$
            """)
        statements.append("CREATE TRIGGER events_bump_insert AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rgis_bump_events()")
        statements.append("CREATE TRIGGER events_bump_delete AFTER DELETE ON events REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rgis_bump_events()")
        statements.append("""
            CREATE FUNCTION rgis_bump_districts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              IF TG_OP = 'DELETE' THEN \(bump("SELECT fid FROM old_rows"));
              ELSIF TG_OP = 'INSERT' THEN \(bump("SELECT fid FROM new_rows"));
              ELSE \(bump("SELECT fid FROM old_rows UNION SELECT fid FROM new_rows"));
              END IF;
              \(market);
              RETURN NULL;
            END $$
            """)
        for op in ["INSERT", "UPDATE", "DELETE"] {
            let tables = op == "INSERT" ? "NEW TABLE AS new_rows" : op == "DELETE" ? "OLD TABLE AS old_rows" : "OLD TABLE AS old_rows NEW TABLE AS new_rows"
            statements.append("CREATE TRIGGER districts_bump_\(op.lowercased()) AFTER \(op) ON districts REFERENCING \(tables) FOR EACH STATEMENT EXECUTE FUNCTION rgis_bump_districts()")
        }
        statements.append("CREATE FUNCTION rgis_bump_market() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \(market); RETURN NULL; END $$")
        statements.append("CREATE TRIGGER clients_bump AFTER INSERT OR UPDATE OR DELETE ON clients FOR EACH STATEMENT EXECUTE FUNCTION rgis_bump_market()")
        statements.append("INSERT INTO series_bumps (district_fid) VALUES (0)")
        // One line each: the migration runner splits statements at a semicolon ending a line.
        return statements.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: ";\n")
    }()

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

    /// The bitemporal archive: versions of parcels and buildings, rights, parties, events and lineage,
    /// as the SpatiaLite file keeps them (the dates and times as ISO 8601 text, compared as text). Each
    /// version and right also holds its two times as ranges, `valid` (a `daterange`, days) and `recorded`
    /// (a `tstzrange`), set by a trigger, with a GiST index on both (and on the footprint), so an as-of
    /// read is an overlap and containment lookup; the text comparisons then decide. History is only
    /// appended to: a row may be marked superseded once; anything else is refused (SQLSTATE RG003).
    static let archive: String = {
        let times = "valid daterange NOT NULL, recorded tstzrange NOT NULL"
        var statements = [
            """
            CREATE TABLE archive_events (
                id bigserial PRIMARY KEY,
                kind text NOT NULL CHECK (kind IN ('registration', 'transfer', 'split', 'merge', 'new_building', 'demolition', 'correction')),
                valid_date text NOT NULL, recorded_at text NOT NULL, document text,
                corrects bigint REFERENCES archive_events (id), detail text)
            """,
            "CREATE INDEX archive_events_recorded ON archive_events (recorded_at)",
            """
            CREATE TABLE archive_parties (id text PRIMARY KEY,
                kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'organisation')), name text)
            """,
            """
            CREATE TABLE archive_rights (
                id bigserial PRIMARY KEY, parcel_id text NOT NULL, party_id text NOT NULL REFERENCES archive_parties (id),
                right_type text NOT NULL CHECK (right_type IN ('ownership', 'lease', 'mortgage', 'easement')),
                share_num bigint NOT NULL CHECK (share_num > 0), share_den bigint NOT NULL CHECK (share_den > 0 AND share_num <= share_den),
                valid_from text NOT NULL, valid_to text CHECK (valid_to IS NULL OR valid_to > valid_from),
                recorded_at text NOT NULL, superseded_at text CHECK (superseded_at IS NULL OR superseded_at >= recorded_at),
                event_id bigint NOT NULL REFERENCES archive_events (id), ended_by bigint REFERENCES archive_events (id),
                superseded_by bigint REFERENCES archive_events (id), \(times))
            """,
            "CREATE INDEX archive_rights_parcel ON archive_rights (parcel_id, right_type)",
            "CREATE INDEX archive_rights_event ON archive_rights (event_id)",
            "CREATE INDEX archive_rights_time ON archive_rights USING gist (valid, recorded)",
            """
            CREATE TABLE archive_lineage (event_id bigint NOT NULL REFERENCES archive_events (id), from_parcel text NOT NULL,
                to_parcel text NOT NULL, PRIMARY KEY (from_parcel, to_parcel))
            """,
            "CREATE INDEX archive_lineage_to ON archive_lineage (to_parcel)",
            // The two times as ranges, from the text columns (a cast that depends on settings cannot be a generated column).
            """
            CREATE FUNCTION rgis_archive_times() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              NEW.valid := daterange(NEW.valid_from::date, NEW.valid_to::date, '[)');
              NEW.recorded := tstzrange(NEW.recorded_at::timestamptz, NEW.superseded_at::timestamptz, '[)');
              RETURN NEW;
            END $$
            """,
            """
            CREATE FUNCTION rgis_archive_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'archive rows are never deleted; record a correction instead' USING ERRCODE = 'RG003';
              END IF;
              IF OLD.superseded_at IS NOT NULL OR (to_jsonb(OLD) - 'superseded_at' - 'superseded_by' - 'recorded')
                 IS DISTINCT FROM (to_jsonb(NEW) - 'superseded_at' - 'superseded_by' - 'recorded') THEN
                RAISE EXCEPTION 'archive rows are never rewritten; record a correction instead' USING ERRCODE = 'RG003';
              END IF;
              RETURN NEW;
            END $$
            """,
        ]
        for (table, idColumn) in [("archive_parcels", "parcel_id"), ("archive_buildings", "building_id")] {
            let parcelColumn = idColumn == "building_id" ? "parcel_id text," : ""
            statements += [
                """
                CREATE TABLE \(table) (
                    fid bigserial PRIMARY KEY, \(idColumn) text NOT NULL, \(parcelColumn)
                    valid_from text NOT NULL, valid_to text CHECK (valid_to IS NULL OR valid_to > valid_from),
                    recorded_at text NOT NULL, superseded_at text CHECK (superseded_at IS NULL OR superseded_at >= recorded_at),
                    event_id bigint NOT NULL REFERENCES archive_events (id), ended_by bigint REFERENCES archive_events (id),
                    superseded_by bigint REFERENCES archive_events (id),
                    area_m2 double precision NOT NULL CHECK (area_m2 > 0), properties text,
                    geom geometry(MultiPolygon, 4326) NOT NULL, \(times))
                """,
                "CREATE INDEX \(table)_id ON \(table) (\(idColumn), valid_from)",
                "CREATE INDEX \(table)_event ON \(table) (event_id)",
                "CREATE INDEX \(table)_geom ON \(table) USING gist (geom)",
                "CREATE INDEX \(table)_time ON \(table) USING gist (valid, recorded)",
            ]
        }
        for table in ["archive_parcels", "archive_buildings", "archive_rights"] {
            statements.append("CREATE TRIGGER \(table)_times BEFORE INSERT OR UPDATE ON \(table) FOR EACH ROW EXECUTE FUNCTION rgis_archive_times()")
            statements.append("CREATE TRIGGER \(table)_append_only BEFORE UPDATE OR DELETE ON \(table) FOR EACH ROW EXECUTE FUNCTION rgis_archive_append_only()")
            statements.append("CREATE TRIGGER \(table)_no_truncate BEFORE TRUNCATE ON \(table) FOR EACH STATEMENT EXECUTE FUNCTION rgis_append_only()")
        }
        return statements.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: ";\n")
    }()

    /// Each layer's feature count and extent for `/collections` and `/health`, without a count or scan
    /// per request: every write statement appends one row of what it changed (the count's change and
    /// the box of the geometries it added or moved; statement triggers with transition tables), and a
    /// layer's figures are the sum and the union of its rows. Writers only append, so they never queue
    /// on one row. As on the file, the extent grows with inserts and moves and is kept through deletions
    /// (it still encloses every feature) until the layer is empty, when its rows fold into one empty row.
    static let statistics: String = {
        let layers = ["listings", "parcels", "buildings", "districts", "demands"]
        var statements = [
            "CREATE TABLE layer_statistics (layer text NOT NULL, features bigint NOT NULL, min_x float8, min_y float8, max_x float8, max_y float8)",
            "CREATE INDEX layer_statistics_layer ON layer_statistics (layer)",
            """
            CREATE FUNCTION rgis_layer_statistics() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
              IF TG_OP = 'INSERT' THEN
                INSERT INTO layer_statistics SELECT TG_TABLE_NAME, count(*), min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom))
                FROM new_rows HAVING count(*) > 0;
              ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO layer_statistics SELECT TG_TABLE_NAME, 0, min(ST_XMin(n.geom)), min(ST_YMin(n.geom)), max(ST_XMax(n.geom)), max(ST_YMax(n.geom))
                FROM new_rows n JOIN old_rows o ON o.fid = n.fid WHERE NOT (n.geom ~= o.geom) HAVING count(*) > 0;
              ELSE
                INSERT INTO layer_statistics SELECT TG_TABLE_NAME, -count(*), NULL, NULL, NULL, NULL FROM old_rows HAVING count(*) > 0;
                IF (SELECT sum(features) FROM layer_statistics WHERE layer = TG_TABLE_NAME) = 0 THEN
                  DELETE FROM layer_statistics WHERE layer = TG_TABLE_NAME;
                  INSERT INTO layer_statistics VALUES (TG_TABLE_NAME, 0, NULL, NULL, NULL, NULL);
                END IF;
              END IF;
              RETURN NULL;
            END $$
            """,
        ]
        for table in layers {
            statements.append("""
                INSERT INTO layer_statistics SELECT '\(table)', count(*), min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) FROM \(table)
                """)
            for op in ["INSERT", "UPDATE", "DELETE"] {
                let tables = op == "INSERT" ? "NEW TABLE AS new_rows" : op == "DELETE" ? "OLD TABLE AS old_rows" : "OLD TABLE AS old_rows NEW TABLE AS new_rows"
                statements.append("CREATE TRIGGER \(table)_statistics_\(op.lowercased()) AFTER \(op) ON \(table) REFERENCING \(tables) FOR EACH STATEMENT EXECUTE FUNCTION rgis_layer_statistics()")
            }
        }
        return statements.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: ";\n")
    }()
}
