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

    /// The index row of demand `d` (`NEW` in a trigger, a table alias otherwise), then its inner box:
    /// for a search circle (radius_m) the square inside its 16-gon (half side 0.65 r), for a drawn area
    /// the middle 30 % of its box, kept only where the area covers it (one `ST_Covers` a write).
    static func row(_ d: String, source: String = "") -> String {
        """
        INSERT INTO idx_demands_fit (fid, min_lon, max_lon, min_lat, max_lat, min_area, max_area, min_price, max_price,
                                     min_bedrooms, max_bedrooms, centre_lon, centre_lat, area_m2)
        SELECT \(d).fid, MbrMinX(\(d).geom), MbrMaxX(\(d).geom), MbrMinY(\(d).geom), MbrMaxY(\(d).geom),
               COALESCE(\(d).area_min_m2 * 0.9, -\(open)), COALESCE(\(d).area_max_m2 * 1.1, \(open)), -\(open), COALESCE(\(d).budget_max * 1.1, \(open)),
               COALESCE(\(d).bedrooms_min, -\(open)), \(open), X(ST_Centroid(\(d).geom)), Y(ST_Centroid(\(d).geom)), ST_Area(\(d).geom, 1)
        \(source);
        UPDATE idx_demands_fit SET inner_w = centre_lon - \(half("lon", d)), inner_e = centre_lon + \(half("lon", d)),
                                   inner_s = centre_lat - \(half("lat", d)), inner_n = centre_lat + \(half("lat", d))
        WHERE \(d == "NEW" ? "fid = NEW.fid" : "fid IN (SELECT \(d).fid \(source))")
          AND ST_Covers((SELECT geom FROM demands WHERE fid = idx_demands_fit.fid),
                        BuildMbr(centre_lon - \(half("lon", d)), centre_lat - \(half("lat", d)), centre_lon + \(half("lon", d)), centre_lat + \(half("lat", d)), 4326)) = 1
        """
    }

    /// Half the inner box's side in degrees of longitude or latitude.
    private static func half(_ axis: String, _ d: String) -> String {
        let r = "(SELECT radius_m FROM demands WHERE fid = idx_demands_fit.fid)"
        return axis == "lon"
            ? "(CASE WHEN \(r) IS NOT NULL THEN 0.65 * \(r) / (111320 * Cos(Radians(centre_lat))) ELSE (max_lon - min_lon) * 0.15 END)"
            : "(CASE WHEN \(r) IS NOT NULL THEN 0.65 * \(r) / 111320 ELSE (max_lat - min_lat) * 0.15 END)"
    }
}
