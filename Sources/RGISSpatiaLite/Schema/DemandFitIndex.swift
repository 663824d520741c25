import GRDB
import RGISStore

/// Two R*Trees over the active demands, kept by triggers as demands change, that a listing probed to
/// find the demands it fits without testing every search area (migrations v5–v7). Migration v13
/// dropped them for ``DemandReach``; what the demand indexes keep of a demand (``measured(_:source:)``)
/// is shared with it.
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

    /// Migration v7: the update trigger fires only when a column the indexes read changes (a demand
    /// placed in its districts keeps its entries).
    static var narrowUpdateTrigger: String {
        "DROP TRIGGER idx_demands_fit_update;\n" + updateTrigger(centres: true, of: "status, geom, radius_m, " + criteria)
    }

    static let criteria = "id, budget_min, budget_max, bedrooms_min, property_types, area_min_m2, area_max_m2"
    private static func criteria(_ d: String) -> String {
        criteria.split(separator: ",").map { "\(d).\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")
    }
    private static let auxiliary = "+centre_lon, +centre_lat, +area_m2, +inner_w, +inner_s, +inner_e, +inner_n, +id, +budget_min, +budget_max, +bedrooms_min, +property_types, +area_min_m2, +area_max_m2"

    private static let createFitTable = """
        CREATE VIRTUAL TABLE idx_demands_fit USING rtree(fid, min_lon, max_lon, min_lat, max_lat, \(auxiliary));
        """

    /// The triggers that keep the fit index (and from v6 the centre index, from the fit row) as demands change.
    private static func triggers(centres: Bool) -> String {
        let forget = centres ? "DELETE FROM idx_demands_centre WHERE fid = OLD.fid;" : ""
        return """
            CREATE TRIGGER idx_demands_fit_insert AFTER INSERT ON demands WHEN NEW.status = 'active' AND NEW.geom IS NOT NULL BEGIN
                \(fitRow("NEW"));
                \(centreOfNew(centres))
            END;
            \(updateTrigger(centres: centres, of: nil))
            CREATE TRIGGER idx_demands_fit_delete AFTER DELETE ON demands BEGIN
                DELETE FROM idx_demands_fit WHERE fid = OLD.fid;
                \(forget)
            END;
            """
    }

    /// The update trigger, on any update (v5, v6) or on those of `columns` (v7).
    private static func updateTrigger(centres: Bool, of columns: String?) -> String {
        let forget = centres ? "DELETE FROM idx_demands_centre WHERE fid = OLD.fid;" : ""
        return """
            CREATE TRIGGER idx_demands_fit_update AFTER UPDATE\(columns.map { " OF \($0)" } ?? "") ON demands BEGIN
                DELETE FROM idx_demands_fit WHERE fid = OLD.fid;
                \(forget)
                \(fitRow("NEW", source: "WHERE NEW.status = 'active' AND NEW.geom IS NOT NULL"));
                \(centreOfNew(centres))
            END;
            """
    }

    private static func centreOfNew(_ centres: Bool) -> String {
        centres ? centreRow(source: "FROM idx_demands_fit WHERE fid = NEW.fid") + ";" : ""
    }

    /// The fit-index row of demand `d` (`NEW` in a trigger, a table alias otherwise): ``measured(_:source:)``.
    static func fitRow(_ d: String, source: String = "") -> String {
        let copied = criteria.split(separator: ",").map { "c_\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")
        return """
        INSERT INTO idx_demands_fit (fid, min_lon, max_lon, min_lat, max_lat, centre_lon, centre_lat, area_m2,
                                     inner_w, inner_s, inner_e, inner_n, \(criteria))
        SELECT fid, x0, x1, y0, y1, cx, cy, area, inner_w, inner_s, inner_e, inner_n, \(copied)
        FROM (\(measured(d, source: source)))
        """
    }

    /// What the demand indexes keep of demand `d` (`NEW` in a trigger, a table alias otherwise): `fid`,
    /// the geometry `g`, its box `x0`, `y0`, `x1`, `y1`, centroid `cx`, `cy`, geodesic `area`, the
    /// criteria as `c_<column>` and the inner box `inner_w`, `inner_s`, `inner_e`, `inner_n`, kept only
    /// where the area covers it (`ST_Covers`, at most two a write): for a search circle (radius_m) the
    /// square inside its 16-gon (half side 0.65 r); for a drawn area the middle 70 % of its box (what
    /// fits in a round area), else the middle 30 %. `OFFSET 0` keeps SQLite from flattening the
    /// subqueries, which would evaluate each `ST_Covers` once per use.
    static func measured(_ d: String, source: String) -> String {
        func half(_ axis: String, _ fraction: Double) -> String {
            axis == "lon"
                ? "CASE WHEN r IS NOT NULL THEN 0.65 * r / (111320 * Cos(Radians(cy))) ELSE (x1 - x0) * \(fraction) END"
                : "CASE WHEN r IS NOT NULL THEN 0.65 * r / 111320 ELSE (y1 - y0) * \(fraction) END"
        }
        func covers(_ lon: String, _ lat: String) -> String {
            "ST_Covers(g, BuildMbr(cx - \(lon), cy - \(lat), cx + \(lon), cy + \(lat), 4326)) = 1"
        }
        func inner(_ sign: String, _ centre: String, _ wide: String, _ narrow: String) -> String {
            "CASE k WHEN 1 THEN \(centre) \(sign) \(wide) WHEN 2 THEN \(centre) \(sign) \(narrow) END"
        }
        let picked = criteria.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.map { "\(d).\($0) AS c_\($0)" }.joined(separator: ", ")
        return """
        SELECT *, \(inner("-", "cx", "hx1", "hx2")) AS inner_w, \(inner("-", "cy", "hy1", "hy2")) AS inner_s,
               \(inner("+", "cx", "hx1", "hx2")) AS inner_e, \(inner("+", "cy", "hy1", "hy2")) AS inner_n
        FROM (SELECT *, CASE WHEN \(covers("hx1", "hy1")) THEN 1 WHEN \(covers("hx2", "hy2")) THEN 2 ELSE 0 END AS k
              FROM (SELECT *, \(half("lon", 0.35)) AS hx1, \(half("lat", 0.35)) AS hy1, \(half("lon", 0.15)) AS hx2, \(half("lat", 0.15)) AS hy2
                    FROM (SELECT \(d).fid AS fid, \(d).geom AS g, \(d).radius_m AS r,
                                 MbrMinX(\(d).geom) AS x0, MbrMaxX(\(d).geom) AS x1, MbrMinY(\(d).geom) AS y0, MbrMaxY(\(d).geom) AS y1,
                                 X(ST_Centroid(\(d).geom)) AS cx, Y(ST_Centroid(\(d).geom)) AS cy, ST_Area(\(d).geom, 1) AS area, \(picked)
                          \(source) LIMIT -1 OFFSET 0)
                    LIMIT -1 OFFSET 0)
              LIMIT -1 OFFSET 0)
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
}
