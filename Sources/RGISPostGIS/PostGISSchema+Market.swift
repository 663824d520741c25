import Foundation
import RGISCore

/// The migrations kept by statement triggers that append (p06-market, p09-statistics): what the
/// market's figures and the layers' statistics are read from, without a row every writer queues on.
extension PostGISSchema {
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
