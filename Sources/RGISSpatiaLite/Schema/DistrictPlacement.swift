import GRDB
import RGISCore
import RGISStore

/// Each listing and demand records, when it is written, the district holding it at every level
/// (`city_fid`, `district_fid`, `subdistrict_fid`: the district's fid, NULL outside every district of
/// the level), so that indicators and series are grouped reads over indexes instead of a polygon test
/// per row and request.
///
/// A listing is placed by its point, a demand by its search area's point on surface (inside the area,
/// unlike a centroid). The rule (docs/ARCHITECTURE.md, "Placement in districts"): at each level, the
/// district whose polygon covers the point (`ST_Covers`: inside or on its boundary), and where several
/// do (a point on a shared edge or vertex, or districts that overlap) the one with the lowest fid, the
/// first imported. So districts of a level that tile a region count each record exactly once.
///
/// Kept by triggers on a row's insert and move; a bulk import places its new rows in one pass
/// (``place(_:layer:fromFid:)``), and an import of districts places every row again (``placeAll(_:)``).
enum DistrictPlacement {
    static let layers: [Layer] = [.listings, .demands]

    /// The placement column of a level.
    static func column(_ level: DistrictLevel) -> String { "\(level.rawValue)_fid" }

    /// The trigger that places a new row (a bulk import drops it and places its rows in one pass).
    static func insertTrigger(_ layer: Layer) -> String { "\(layer.table)_place_insert" }

    /// Migration v7: the columns, their indexes and triggers, every stored row placed; the fit
    /// index's update trigger narrowed to the columns it reads, so that placing a demand does not
    /// rewrite its fit entries; and `events.from_history`, which marks imported past changes.
    static func create(_ db: Database) throws {
        for layer in layers {
            for level in DistrictLevel.allCases {
                try db.execute(sql: "ALTER TABLE \(layer.table) ADD COLUMN \(column(level)) INTEGER")
            }
            try db.execute(sql: indexes(layer))
            try db.execute(sql: triggers(layer))
        }
        try MarketVersion.create(db)
        try db.execute(sql: DemandFitIndex.narrowUpdateTrigger)
        // Changes imported as history (RGISDatabase.importEvents) are read by the series, not pushed.
        try db.execute(sql: "ALTER TABLE events ADD COLUMN from_history INTEGER NOT NULL DEFAULT 0")
        // The series read a record's price and status changes; most events are of other kinds ('new').
        try db.execute(sql: "CREATE INDEX events_market_changes ON events(layer, record_id) WHERE kind IN ('price_change', 'status_change')")
        try placeAll(db)
    }

    /// What the grouped reads go through: listings by level, status and list date, covering what the
    /// counts read (one pass per district counts the active, dated, long-unsold and priced listings),
    /// and by price per m² (its median); demands by level, status and budget (counts, median budget).
    private static func indexes(_ layer: Layer) -> String {
        DistrictLevel.allCases.map { level in
            let c = column(level)
            return layer == .listings
                ? """
                  CREATE INDEX listings_\(c)_market ON listings(\(c), status, list_date, close_date, list_price, living_area_m2);
                  CREATE INDEX listings_\(c)_price ON listings(\(c), status, list_price / living_area_m2);
                  """
                : "CREATE INDEX demands_\(c)_market ON demands(\(c), status, budget_max);"
        }.joined(separator: "\n")
    }

    /// The point a row is placed by, in SQL over the row `r`.
    private static func point(_ layer: Layer, _ r: String) -> String {
        layer == .listings ? "\(r).geom" : "ST_PointOnSurface(\(r).geom)"
    }

    /// How far the R*Tree lookup of a point reaches past it, in degrees: the R*Tree keeps 32-bit floats
    /// and may round a box edge inwards by an ulp, which would lose a point lying on that edge.
    static let lookupMarginDegrees = 1e-9

    /// The district of `level` holding point `p` (an SQL expression), through the districts' R*Tree.
    private static func holder(_ level: DistrictLevel, _ p: String) -> String {
        let m = lookupMarginDegrees
        return """
        (SELECT dist.fid FROM districts dist
         WHERE dist.level = '\(level.rawValue)'
           AND dist.fid IN (SELECT pkid FROM idx_districts_geom
                            WHERE xmin <= X(\(p)) + \(m) AND xmax >= X(\(p)) - \(m) AND ymin <= Y(\(p)) + \(m) AND ymax >= Y(\(p)) - \(m))
           AND ST_Covers(dist.geom, \(p)) = 1
         ORDER BY dist.fid LIMIT 1)
        """
    }

    private static func triggers(_ layer: Layer) -> String {
        let t = layer.table
        let assignments = DistrictLevel.allCases.map { "\(column($0)) = \(holder($0, point(layer, "NEW")))" }.joined(separator: ",\n")
        return """
            CREATE TRIGGER \(insertTrigger(layer)) AFTER INSERT ON \(t) WHEN NEW.geom IS NOT NULL BEGIN
                UPDATE \(t) SET \(assignments) WHERE fid = NEW.fid;
            END;
            CREATE TRIGGER \(t)_place_move AFTER UPDATE OF geom ON \(t) BEGIN
                UPDATE \(t) SET \(assignments) WHERE fid = NEW.fid;
            END;
            """
    }

    /// Places the rows of `layer` from `fromFid` on, in one pass per level: each row's point once into
    /// a temporary R*Tree, then each district's polygon against the points in its box (one polygon at a
    /// time, so that GEOS prepares it once).
    /// `newRows`: the rows from `fromFid` were just inserted, unplaced, so only those inside a district
    /// are written (a bulk import's rows outside every district are not rewritten for nothing).
    static func place(_ db: Database, layer: Layer, fromFid: Int64, newRows: Bool = false) throws {
        let t = layer.table
        if newRows, try !(Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM districts)") ?? false) { return }
        try db.execute(sql: """
            DROP TABLE IF EXISTS temp.placing_points;
            DROP TABLE IF EXISTS temp.placed;
            CREATE VIRTUAL TABLE temp.placing_points USING rtree(fid, x0, x1, y0, y1, +x, +y);
            INSERT INTO temp.placing_points SELECT fid, x, x, y, y, x, y
                FROM (SELECT fid, X(p) AS x, Y(p) AS y FROM (SELECT fid, \(point(layer, t)) AS p FROM \(t) WHERE fid >= \(fromFid) AND geom IS NOT NULL))
                WHERE x IS NOT NULL;
            CREATE TEMP TABLE placed (fid INTEGER, level TEXT, district INTEGER, PRIMARY KEY (fid, level)) WITHOUT ROWID;
            -- CROSS JOIN keeps each district outside and its box a range of the points' R*Tree; SQLite
            -- would otherwise scan every district for every point.
            INSERT INTO temp.placed
                SELECT pt.fid, dist.level, min(dist.fid)
                FROM districts dist CROSS JOIN temp.placing_points pt
                  ON pt.x0 <= MbrMaxX(dist.geom) AND pt.x1 >= MbrMinX(dist.geom)
                 AND pt.y0 <= MbrMaxY(dist.geom) AND pt.y1 >= MbrMinY(dist.geom)
                 AND ST_Covers(dist.geom, MakePoint(pt.x, pt.y, 4326)) = 1
                GROUP BY pt.fid, dist.level;
            """)
        let assignments = DistrictLevel.allCases.map { level in
            "\(column(level)) = (SELECT district FROM temp.placed p WHERE p.fid = \(t).fid AND p.level = '\(level.rawValue)')"
        }.joined(separator: ", ")
        // Every district's series stamp moves once, not once a row.
        try SeriesStamps.suspending(db, layer: layer) {
            let which = newRows ? " AND fid IN (SELECT fid FROM temp.placed)" : ""
            try db.execute(sql: "UPDATE \(t) SET \(assignments) WHERE fid >= \(fromFid)\(which)")
        }
        try db.execute(sql: """
            DROP TABLE temp.placing_points;
            DROP TABLE temp.placed;
            """)
    }

    /// Migration v18: points on a district's boundary were placed in no district (`ST_Contains`); the
    /// triggers now place them by the covering rule, and every row is placed again.
    static func placeOnBorders(_ db: Database) throws {
        for layer in layers {
            try db.execute(sql: "DROP TRIGGER IF EXISTS \(insertTrigger(layer)); DROP TRIGGER IF EXISTS \(layer.table)_place_move")
            try db.execute(sql: triggers(layer))
        }
        try placeAll(db)
    }

    /// Places every listing and demand again (after districts were imported or changed).
    static func placeAll(_ db: Database) throws {
        for layer in layers { try place(db, layer: layer, fromFid: 0) }
    }

    /// Rows whose stored placement differs from where their point lies now (`rgis check`), by layer.
    static func misplaced(_ db: Database) throws -> [(Layer, Int)] {
        try layers.compactMap { layer in
            let differs = DistrictLevel.allCases.map { "\($0.rawValue)_fid IS NOT \(holder($0, point(layer, "r")))" }.joined(separator: " OR ")
            let n = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(layer.table) r WHERE r.geom IS NOT NULL AND (\(differs))") ?? 0
            return n == 0 ? nil : (layer, n)
        }
    }
}
