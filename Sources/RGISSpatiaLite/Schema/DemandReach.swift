import GRDB
import RGISCore
import RGISStore

/// The active demands by how far their search areas reach, the table a listing probes to find the
/// demands it fits (migration v13; it replaces the two R*Trees of ``DemandFitIndex``).
///
/// A demand's *reach* is the farthest any point of its area lies from its centroid, in metres, on the
/// safe side (``reachMetres``). A listing can lie inside the area only within the reach of the
/// centroid, and its closeness (1 − distance / the radius of a circle of the same area) is below `c`
/// beyond (1 − c) × the reach, since that radius is never more than the reach. So the demands a
/// listing may fit with closeness at least `c` are those whose centroid lies within (1 − c) × reach of
/// it, and every demand that holds it lies within 1 × reach.
///
/// Demands are grouped into bands of reach (``bands``: steps of 1.3 from 100 m to 120 km, then one
/// open band), and within a band into rows of latitude an eighth of the band's top high, ordered by
/// longitude. A probe with factor f reads, per band, the rows within f × the band's top of the
/// listing and in each the longitudes within that distance: a few seeks of an ordinary B-tree, each
/// reading neighbouring rows. The key starts with the demand's wanted types as written, so that a
/// probe reads only the type lists that name the listing's type (or none).
///
/// Each row keeps what matching reads: the centroid and geodesic area (the score's numbers), the
/// inner box (``DemandFitIndex/measured(_:source:)``: a point inside it needs no polygon test), the
/// id and the criteria, so that the exact rules need no demand row. An R*Tree could not do this:
/// its auxiliary columns cost a lookup of another table per entry, 5–8 µs where thousands of search
/// areas overlap, and criteria as dimensions spoil its boxes.
enum DemandReach {
    /// Band k ≥ 1 holds reaches in [100 × 1.3^(k−1), 100 × 1.3^k) metres, band 0 those under 100 m,
    /// and the last every reach from 120 km (its one row spans the globe).
    static let bands: [(band: Int, lowMetres: Double, highMetres: Double, rowDegrees: Double)] = {
        var rows: [(Int, Double, Double, Double)] = [(0, 0, 100, rowDegrees(100))]
        while rows.last!.2 < 120_000 {
            let low = rows.last!.2, high = low * 1.3
            rows.append((rows.count, low, high, rowDegrees(high)))
        }
        return rows + [(rows.count, rows.last!.2, openTop, 1000)]
    }()

    /// The open band's top: beyond any reach on Earth (SQL compares reaches with it).
    static let openTop = 1e300

    /// A row's height: an eighth of the band's top, in degrees of latitude.
    private static func rowDegrees(_ highMetres: Double) -> Double { highMetres / 8 / 111_320 }

    /// Over a row of ``DemandFitIndex/measured(_:source:)`` with longitudes scaled by `s`, the cosine
    /// of the box's latitude nearest the equator (an affine map: containment is unchanged):
    /// - `outside_deg`, the farthest vertex from the centroid (`ST_MaxDistance`): a point farther is outside;
    /// - `inside_deg`, the nearest point of the boundary when the centroid is inside: a point nearer is inside;
    /// - the reach in metres, `outside_deg` in degrees of the longest meridian degree (111,694 m) and
    ///   2 % more: never less than the geodesic distance to the farthest point.
    private static let radii = """
        ST_MaxDistance(ScaleCoords(MakePoint(cx, cy, 4326), s, 1), ScaleCoords(g, s, 1)) AS outside_deg,
        CASE WHEN ST_Contains(g, MakePoint(cx, cy, 4326)) = 1
             THEN ST_Distance(ScaleCoords(MakePoint(cx, cy, 4326), s, 1), ScaleCoords(ST_Boundary(g), s, 1)) ELSE 0 END AS inside_deg
        """
    private static let reachMetres = "coalesce(outside_deg * 111694 * 1.02, 1e299)"

    /// Migration v13: the bands, the table, its triggers, filled from the active demands; the R*Trees go.
    static func create(_ db: Database) throws {
        let bandRows = bands.map { "(\($0.band), \($0.lowMetres), \($0.highMetres), \($0.rowDegrees))" }.joined(separator: ", ")
        try db.execute(sql: """
            DROP TRIGGER idx_demands_fit_insert;
            DROP TRIGGER idx_demands_fit_update;
            DROP TRIGGER idx_demands_fit_delete;
            DROP TABLE idx_demands_fit;
            DROP TABLE idx_demands_centre;
            CREATE TABLE demand_reach_bands (band INTEGER PRIMARY KEY, low_m REAL NOT NULL, high_m REAL NOT NULL, row_deg REAL NOT NULL);
            INSERT INTO demand_reach_bands VALUES \(bandRows);
            CREATE TABLE demand_reach (
                type TEXT NOT NULL,          -- the wanted types as written, '' for any
                band INTEGER NOT NULL,
                row INTEGER NOT NULL,        -- Floor(lat / the band's row_deg)
                lon REAL NOT NULL,           -- the centroid
                fid INTEGER NOT NULL,
                -- what a probe tests, first in the record: the criteria as bounds (stretch applied, none
                -- where not given), then the centroid's latitude and the squared radii of the outer
                -- and inner discs, in degrees with longitudes scaled by lon_scale
                budget_cap REAL NOT NULL, area_low REAL NOT NULL, area_high REAL NOT NULL, bedrooms_low REAL NOT NULL,
                property_types TEXT, lat REAL NOT NULL, lon_scale REAL, outside_sq REAL, inside_sq REAL,
                inner_w REAL, inner_s REAL, inner_e REAL, inner_n REAL,
                area_m2 REAL, id TEXT NOT NULL, budget_min REAL, budget_max REAL, bedrooms_min INTEGER,
                area_min_m2 REAL, area_max_m2 REAL,
                PRIMARY KEY (type, band, row, lon, fid)
            ) WITHOUT ROWID;
            CREATE INDEX demand_reach_fid ON demand_reach(fid);
            \(row("d", source: "FROM demands d WHERE d.status = 'active' AND d.geom IS NOT NULL"));
            \(triggers)
            """)
    }

    private static let watched = "status, geom, radius_m, " + DemandFitIndex.criteria

    private static var triggers: String {
        """
        CREATE TRIGGER demand_reach_insert AFTER INSERT ON demands WHEN NEW.status = 'active' AND NEW.geom IS NOT NULL BEGIN
            \(row("NEW"));
        END;
        CREATE TRIGGER demand_reach_update AFTER UPDATE OF \(watched) ON demands BEGIN
            DELETE FROM demand_reach WHERE fid = OLD.fid;
            \(row("NEW", source: "WHERE NEW.status = 'active' AND NEW.geom IS NOT NULL"));
        END;
        CREATE TRIGGER demand_reach_delete AFTER DELETE ON demands BEGIN
            DELETE FROM demand_reach WHERE fid = OLD.fid;
        END;
        """
    }

    private static let stretch = MatchScore.stretch

    /// The row of demand `d` (`NEW` in a trigger, a table alias otherwise), in its band.
    static func row(_ d: String, source: String = "") -> String {
        """
        INSERT INTO demand_reach (type, band, row, lon, fid, budget_cap, area_low, area_high, bedrooms_low,
                                  property_types, lat, lon_scale, outside_sq, inside_sq, inner_w, inner_s, inner_e, inner_n,
                                  area_m2, id, budget_min, budget_max, bedrooms_min, area_min_m2, area_max_m2)
        SELECT coalesce(m.c_property_types, ''), k.band, CAST(Floor(m.cy / k.row_deg) AS INTEGER), m.cx, m.fid,
               coalesce(m.c_budget_max * (1 + \(stretch)), 1e308), coalesce(m.c_area_min_m2 * (1 - \(stretch)), -1e308),
               coalesce(m.c_area_max_m2 * (1 + \(stretch)), 1e308), coalesce(m.c_bedrooms_min, -1e308),
               m.c_property_types, m.cy, m.s,
               coalesce(m.outside_deg * m.outside_deg * (1 + 1e-9), 1e300), coalesce(m.inside_deg * m.inside_deg * (1 - 1e-9), 0),
               m.inner_w, m.inner_s, m.inner_e, m.inner_n,
               m.area, m.c_id, m.c_budget_min, m.c_budget_max, m.c_bedrooms_min, m.c_area_min_m2, m.c_area_max_m2
        FROM (SELECT *, \(reachMetres) AS reach_m
              FROM (SELECT *, \(radii)
              FROM (SELECT *, Cos(Radians(CASE WHEN y0 > 0 THEN y0 WHEN y1 < 0 THEN -y1 ELSE 0 END)) AS s
                    FROM (\(DemandFitIndex.measured(d, source: source))) LIMIT -1 OFFSET 0)
              LIMIT -1 OFFSET 0)
              LIMIT -1 OFFSET 0) m
        JOIN demand_reach_bands k ON m.reach_m >= k.low_m AND m.reach_m < k.high_m
        """
    }
}
