import GRDB

/// Two R*Trees over the active demands, kept by triggers as demands change, that a listing probes to
/// find the demands it fits without testing every search area.
///
/// `idx_demands_fit` holds each search area's box. `idx_demands_centre` holds its centroid and radius
/// (that of a circle of its geodesic area, the scale of the score's closeness) as a point in three
/// dimensions, so that a best-k match reads first the demands whose centre is near the listing,
/// where the best scores are (``FitReach``); the radius is in degrees of latitude (metres / 111,320),
/// on the scale of the place. Neither indexes the criteria as dimensions: SQLite's R*Tree chooses
/// where an entry goes by volume, and dimensions of another kind (price, size) make the volumes
/// meaningless, so that a five-dimensional tree read twenty times the nodes of a plain box tree for
/// the same point.
///
/// Beside each entry: the area's centroid and geodesic area (what the score needs), an inner box
/// known to lie inside the area (checked with `ST_Covers` when written: a listing inside it needs no
/// polygon test) and the demand's id and criteria (what the exact rules read), so that a probe reads
/// a demand row only for a polygon test. R*Tree coordinates are 32-bit floats rounded outwards, so
/// they only pre-filter.
enum DemandFitIndex {
    /// Metres of radius per unit of the centre index (a degree of latitude).
    static let metresPerRadiusUnit = 111_320.0

    /// Migration v5: the fit index and its triggers, filled from the demands stored before it.
    static func create(_ db: Database) throws {
        try db.execute(sql: createFitTable)
        try db.execute(sql: triggers(centres: false))
        try db.execute(sql: fitRow("d", source: "FROM demands d WHERE d.status = 'active' AND d.geom IS NOT NULL"))
    }

    /// Migration v6: the centre index, and the fit index rebuilt as boxes with the criteria and larger
    /// inner boxes beside them (v5's had the criteria as dimensions), from the demands.
    static func addCentres(_ db: Database) throws {
        try db.execute(sql: """
            DROP TRIGGER idx_demands_fit_insert;
            DROP TRIGGER idx_demands_fit_update;
            DROP TRIGGER idx_demands_fit_delete;
            DROP TABLE idx_demands_fit;
            \(createFitTable)
            CREATE VIRTUAL TABLE idx_demands_centre USING rtree(fid, min_lon, max_lon, min_lat, max_lat, min_radius, max_radius, \(auxiliary));
            \(triggers(centres: true))
            \(fitRow("d", source: "FROM demands d WHERE d.status = 'active' AND d.geom IS NOT NULL"));
            \(centreRow(source: "FROM idx_demands_fit"));
            """)
    }

    private static let criteria = "id, budget_min, budget_max, bedrooms_min, property_types, area_min_m2, area_max_m2"
    private static func criteria(_ d: String) -> String {
        criteria.split(separator: ",").map { "\(d).\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")
    }
    private static let auxiliary = "+centre_lon, +centre_lat, +area_m2, +inner_w, +inner_s, +inner_e, +inner_n, +id, +budget_min, +budget_max, +bedrooms_min, +property_types, +area_min_m2, +area_max_m2"

    private static let createFitTable = """
        CREATE VIRTUAL TABLE idx_demands_fit USING rtree(fid, min_lon, max_lon, min_lat, max_lat, \(auxiliary));
        """

    /// The triggers that keep the fit index (and from v6 the centre index, from the fit row) as demands change.
    private static func triggers(centres: Bool) -> String {
        let centre = centres ? centreRow(source: "FROM idx_demands_fit WHERE fid = NEW.fid") + ";" : ""
        let forget = centres ? "DELETE FROM idx_demands_centre WHERE fid = OLD.fid;" : ""
        return """
            CREATE TRIGGER idx_demands_fit_insert AFTER INSERT ON demands WHEN NEW.status = 'active' AND NEW.geom IS NOT NULL BEGIN
                \(fitRow("NEW"));
                \(centre)
            END;
            CREATE TRIGGER idx_demands_fit_update AFTER UPDATE ON demands BEGIN
                DELETE FROM idx_demands_fit WHERE fid = OLD.fid;
                \(forget)
                \(fitRow("NEW", source: "WHERE NEW.status = 'active' AND NEW.geom IS NOT NULL"));
                \(centre)
            END;
            CREATE TRIGGER idx_demands_fit_delete AFTER DELETE ON demands BEGIN
                DELETE FROM idx_demands_fit WHERE fid = OLD.fid;
                \(forget)
            END;
            """
    }

    /// The fit-index row of demand `d` (`NEW` in a trigger, a table alias otherwise), then its inner
    /// box, kept only where the area covers it (`ST_Covers`, at most two a write): for a search
    /// circle (radius_m) the square inside its 16-gon (half side 0.65 r); for a drawn area the middle
    /// 70 % of its box (what fits in a round area), else the middle 30 %.
    static func fitRow(_ d: String, source: String = "") -> String {
        """
        INSERT INTO idx_demands_fit (fid, min_lon, max_lon, min_lat, max_lat, centre_lon, centre_lat, area_m2, \(criteria))
        SELECT \(d).fid, MbrMinX(\(d).geom), MbrMaxX(\(d).geom), MbrMinY(\(d).geom), MbrMaxY(\(d).geom), X(ST_Centroid(\(d).geom)), Y(ST_Centroid(\(d).geom)), ST_Area(\(d).geom, 1), \(criteria(d))
        \(source);
        \(innerBox(d, source: source, fraction: 0.35, unlessSet: false));
        \(innerBox(d, source: source, fraction: 0.15, unlessSet: true))
        """
    }

    /// Sets the inner box of `fraction` of the box's side each way from the centre where the area covers it.
    private static func innerBox(_ d: String, source: String, fraction: Double, unlessSet: Bool) -> String {
        let lon = half("lon", fraction), lat = half("lat", fraction)
        return """
        UPDATE idx_demands_fit SET inner_w = centre_lon - \(lon), inner_e = centre_lon + \(lon), inner_s = centre_lat - \(lat), inner_n = centre_lat + \(lat)
        WHERE \(d == "NEW" ? "fid = NEW.fid" : "fid IN (SELECT \(d).fid \(source))")\(unlessSet ? " AND inner_w IS NULL" : "")
          AND ST_Covers((SELECT geom FROM demands WHERE fid = idx_demands_fit.fid),
                        BuildMbr(centre_lon - \(lon), centre_lat - \(lat), centre_lon + \(lon), centre_lat + \(lat), 4326)) = 1
        """
    }

    /// Centre rows from fit-index rows (`source` selects them): the radius is √(area / π), as the score's.
    private static func centreRow(source: String) -> String {
        let radius = "Sqrt(area_m2 / PI()) / \(metresPerRadiusUnit)"
        let copied = auxiliary.replacingOccurrences(of: "+", with: "")
        return """
        INSERT INTO idx_demands_centre (fid, min_lon, max_lon, min_lat, max_lat, min_radius, max_radius, \(copied))
        SELECT fid, centre_lon, centre_lon, centre_lat, centre_lat, \(radius), \(radius), \(copied) \(source)
        """
    }

    /// Half the inner box's side in degrees of longitude or latitude.
    private static func half(_ axis: String, _ fraction: Double) -> String {
        let r = "(SELECT radius_m FROM demands WHERE fid = idx_demands_fit.fid)"
        return axis == "lon"
            ? "(CASE WHEN \(r) IS NOT NULL THEN 0.65 * \(r) / (111320 * Cos(Radians(centre_lat))) ELSE (max_lon - min_lon) * \(fraction) END)"
            : "(CASE WHEN \(r) IS NOT NULL THEN 0.65 * \(r) / 111320 ELSE (max_lat - min_lat) * \(fraction) END)"
    }
}
