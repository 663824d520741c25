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
        Migration(name: "p10-listing-points", sql: listingPoints),
        Migration(name: "p11-bulk-placement", sql: bulkPlacement),
        Migration(name: "p12-placement-on-borders", sql: placementOnBorders),
    ]

    /// Each listing's point again as a PostgreSQL `point`, in an SP-GiST index that holds the point
    /// and the key: a box's listings are counted, and their keys found, from the index alone (the
    /// GiST index on `geom` keeps only boxes, so every match costs a read of its row).
    static let listingPoints = """
        ALTER TABLE listings ADD COLUMN pt point GENERATED ALWAYS AS (point(ST_X(geom), ST_Y(geom))) STORED;
        CREATE INDEX listings_pt ON listings USING spgist (pt) INCLUDE (fid)
        """

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
    /// by its area's point on surface, then `ST_Contains` (a point on a border belonged to no district;
    /// p12 made it `ST_Covers`), the lowest fid winning where districts of a level overlap. Kept by a trigger on a row's insert and
    /// move; any change of the districts places every row again. Medians of a sorted array, as the
    /// mean of its middle one or two values (`rgis_median`).
    static let placement: String = {
        func placed(_ point: String) -> String { placedColumns(point, by: "ST_Contains") }
        var statements: [String] = []
        let points = placedPoints
        for (table, point) in points {
            statements.append("ALTER TABLE \(table) " + DistrictLevel.allCases.map { "ADD COLUMN \($0.rawValue)_fid bigint" }.joined(separator: ", "))
            for level in DistrictLevel.allCases {
                statements.append("CREATE INDEX \(table)_\(level.rawValue)_fid ON \(table) (\(level.rawValue)_fid, status)")
            }
            statements.append("CREATE FUNCTION rgis_place_\(table)() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \(placementAssigned(point("NEW.geom"), by: "ST_Contains")) RETURN NEW; END $$")
            statements.append("CREATE TRIGGER \(table)_place BEFORE INSERT OR UPDATE OF geom ON \(table) FOR EACH ROW EXECUTE FUNCTION rgis_place_\(table)()")
            // Qualified: inside the subquery a bare `geom` would be the district's.
            statements.append("UPDATE \(table) SET \(placed(point("\(table).geom")))")
        }
        statements.append("CREATE FUNCTION rgis_place_all() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE listings SET \(placed(points[0].point("listings.geom"))); UPDATE demands SET \(placed(points[1].point("demands.geom"))); RETURN NULL; END $$")
        statements.append("CREATE TRIGGER districts_place AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON districts FOR EACH STATEMENT EXECUTE FUNCTION rgis_place_all()")
        statements.append("CREATE FUNCTION rgis_median(v float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$ SELECT (v[(cardinality(v) + 1) / 2] + v[cardinality(v) / 2 + 1]) / 2 $$")
        return statements.joined(separator: ";\n")
    }()

    /// The tables placed in districts, and the point of a row's geometry that places it.
    static let placedPoints: [(table: String, point: @Sendable (String) -> String)] = [
        ("listings", { $0 }), ("demands", { "ST_PointOnSurface(\($0))" }),
    ]

    /// The district of `level` holding `point`: the lowest fid of the level's districts for which
    /// `predicate(d.geom, point)` holds (`ST_Contains` up to p11, `ST_Covers` from p12).
    static func holder(_ level: DistrictLevel, _ point: String, by predicate: String) -> String {
        "(SELECT d.fid FROM districts d WHERE d.level = '\(level.rawValue)' AND \(predicate)(d.geom, \(point)) ORDER BY d.fid LIMIT 1)"
    }

    /// `city_fid = …, district_fid = …, …` for an `UPDATE` placing each row by `point`.
    static func placedColumns(_ point: String, by predicate: String) -> String {
        DistrictLevel.allCases.map { "\($0.rawValue)_fid = \(holder($0, point, by: predicate))" }.joined(separator: ", ")
    }

    /// A row trigger's placement of `NEW` at every level.
    static func placementAssigned(_ point: String, by predicate: String) -> String {
        DistrictLevel.allCases.map { "NEW.\($0.rawValue)_fid := \(holder($0, point, by: predicate));" }.joined(separator: " ")
    }

    /// The row trigger functions: a bulk import places its rows itself, district by district rather
    /// than row by row, and says so for its transaction (`rgis.placed`); the trigger then keeps the
    /// placement it is given.
    static func rowPlacement(by predicate: String) -> String {
        placedPoints.map { table, point in
            "CREATE OR REPLACE FUNCTION rgis_place_\(table)() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "IF current_setting('rgis.placed', true) = 'on' THEN RETURN NEW; END IF; \(placementAssigned(point("NEW.geom"), by: predicate)) RETURN NEW; END $$"
        }.joined(separator: ";\n")
    }

    static let bulkPlacement = rowPlacement(by: "ST_Contains")

    /// The placement rule from p12 (docs/ARCHITECTURE.md, "Placement in districts"): the district
    /// covering the point, its boundary included, the lowest fid where several do; so districts of a
    /// level that tile a region count a record on their shared edge or vertex exactly once. The row
    /// triggers and the re-placement after a change of districts follow it, and every stored row is
    /// placed again, written only where its placement changes.
    static let placementOnBorders: String = {
        var statements = [rowPlacement(by: "ST_Covers")]
        let points = placedPoints
        let all = points.map { table, point in "UPDATE \(table) SET \(placedColumns(point("\(table).geom"), by: "ST_Covers"))" }
        statements.append("CREATE OR REPLACE FUNCTION rgis_place_all() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \(all.joined(separator: "; ")); RETURN NULL; END $$")
        for (table, point) in points {
            let levels = DistrictLevel.allCases.map(\.rawValue)
            let holders = levels.indices.map { "\(holder(DistrictLevel.allCases[$0], point("r.geom"), by: "ST_Covers")) AS \(levels[$0])" }.joined(separator: ", ")
            statements.append("""
                UPDATE \(table) t SET \(levels.map { "\($0)_fid = p.\($0)" }.joined(separator: ", "))
                FROM (SELECT r.fid, \(holders) FROM \(table) r WHERE r.geom IS NOT NULL) p
                WHERE p.fid = t.fid AND (\(levels.map { "t.\($0)_fid" }.joined(separator: ", "))) IS DISTINCT FROM (\(levels.map { "p.\($0)" }.joined(separator: ", ")))
                """)
        }
        return statements.joined(separator: ";\n")
    }()
}
