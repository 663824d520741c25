import GRDB

/// `idx_demands_fit`: an R*Tree over the demands in five dimensions, place and the hard rules of a fit
/// (living area, price, bedrooms), so that a listing finds the demands it may fit in one index probe
/// rather than testing every search area whose box holds it. Kept by triggers as demands change.
///
/// Beside each box: the area's centroid and geodesic area (what the score needs, so that no geometry
/// is read to rank), and an inner box known to lie inside the search area (checked with `ST_Covers`
/// when written): a listing inside it needs no polygon test. R*Tree boxes are 32-bit floats rounded
/// outwards, so they only pre-filter; the exact rules are applied after.
enum DemandFitIndex {
    static let table = "idx_demands_fit"
    /// The unbounded side of a dimension.
    static let open = 1e30

    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE VIRTUAL TABLE idx_demands_fit USING rtree(
                fid, min_lon, max_lon, min_lat, max_lat, min_area, max_area, min_price, max_price, min_bedrooms, max_bedrooms,
                +centre_lon, +centre_lat, +area_m2, +inner_w, +inner_s, +inner_e, +inner_n
            );
            CREATE TRIGGER idx_demands_fit_insert AFTER INSERT ON demands WHEN NEW.status = 'active' AND NEW.geom IS NOT NULL BEGIN
                \(row("NEW"));
            END;
            CREATE TRIGGER idx_demands_fit_update AFTER UPDATE ON demands BEGIN
                DELETE FROM idx_demands_fit WHERE fid = OLD.fid;
                \(row("NEW", source: "WHERE NEW.status = 'active' AND NEW.geom IS NOT NULL"));
            END;
            CREATE TRIGGER idx_demands_fit_delete AFTER DELETE ON demands BEGIN
                DELETE FROM idx_demands_fit WHERE fid = OLD.fid;
            END;
            """)
        // Demands stored before the index: entered once.
        try db.execute(sql: row("d", source: "FROM demands d WHERE d.status = 'active' AND d.geom IS NOT NULL"))
    }

    /// The index row of demand `d` (`NEW` in a trigger, a table alias otherwise). A search circle
    /// (radius_m) gets the square inside its 16-gon (half side 0.65 r); a drawn area the middle 30 %
    /// of its box; either only if the area covers it.
    static func row(_ d: String, source: String = "") -> String {
        """
        INSERT INTO idx_demands_fit
        SELECT fid, MbrMinX(g), MbrMaxX(g), MbrMinY(g), MbrMaxY(g),
               COALESCE(area_min * 0.9, -\(open)), COALESCE(area_max * 1.1, \(open)), -\(open), COALESCE(budget * 1.1, \(open)),
               COALESCE(bedrooms, -\(open)), \(open), cx, cy, ST_Area(g, 1),
               CASE WHEN ST_Covers(g, BuildMbr(cx - hx, cy - hy, cx + hx, cy + hy, 4326)) = 1 THEN cx - hx END,
               CASE WHEN ST_Covers(g, BuildMbr(cx - hx, cy - hy, cx + hx, cy + hy, 4326)) = 1 THEN cy - hy END,
               CASE WHEN ST_Covers(g, BuildMbr(cx - hx, cy - hy, cx + hx, cy + hy, 4326)) = 1 THEN cx + hx END,
               CASE WHEN ST_Covers(g, BuildMbr(cx - hx, cy - hy, cx + hx, cy + hy, 4326)) = 1 THEN cy + hy END
        FROM (SELECT fid, g, area_min, area_max, budget, bedrooms, cx, cy,
                     CASE WHEN r IS NOT NULL THEN 0.65 * r / (111320 * Cos(Radians(cy))) ELSE (MbrMaxX(g) - MbrMinX(g)) * 0.15 END AS hx,
                     CASE WHEN r IS NOT NULL THEN 0.65 * r / 111320 ELSE (MbrMaxY(g) - MbrMinY(g)) * 0.15 END AS hy
              FROM (SELECT \(d).fid AS fid, \(d).geom AS g, \(d).radius_m AS r, \(d).area_min_m2 AS area_min, \(d).area_max_m2 AS area_max,
                           \(d).budget_max AS budget, \(d).bedrooms_min AS bedrooms,
                           X(ST_Centroid(\(d).geom)) AS cx, Y(ST_Centroid(\(d).geom)) AS cy \(source)))
        """
    }
}
