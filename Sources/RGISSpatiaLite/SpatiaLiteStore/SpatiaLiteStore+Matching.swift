import Foundation
import GRDB
import RGISCore
import RGISStore

/// The inputs of matching, both ways. The hard rules of a fit are SQL (so that the R*Tree candidates
/// are cut down in the database); the score is computed above the store (``MatchScore``).
extension SpatiaLiteStore {
    public func listingsFitting(demand id: String) async throws -> (demand: DemandTarget, listings: [ListingCandidate]) {
        try await read { db in
            guard let row = try db.row("SELECT \(Self.demandSelection), MbrMinX(d.geom), MbrMinY(d.geom), MbrMaxX(d.geom), MbrMaxY(d.geom) FROM demands d WHERE d.id = \(id)") else {
                throw RGISError(.notFound, "no demand with id '\(id)'", at: "parameter demand")
            }
            let demand = Self.demandTarget(row)
            let n = Self.demandColumnCount
            let box = BBox.Part(west: row[n], south: row[n + 1], east: row[n + 2], north: row[n + 3])
            let listings = try db.rows(Self.listingsFittingSQL(demandID: id, box: box)).map { row -> ListingCandidate in
                let lonIndex = StoredFeature.columnCount(.listings) - 1
                return ListingCandidate(feature: StoredFeature(row: row, pointLayer: .listings),
                                        position: Position(lon: row[lonIndex], lat: row[lonIndex + 1]))
            }
            return (demand, listings)
        }
    }

    public func demandsFitting(_ listing: ListingFacts, at point: Position, reach: FitReach, beyond known: FitReach?) async throws -> [DemandFit] {
        try await read { db in
            // One statement text per reach (the listing's facts are arguments): prepared once per connection.
            try db.rows(Self.demandsFittingSQL(listing, at: point, reach: reach, beyond: known), cached: true).map { Self.demandFit($0, from: 0) }
        }
    }

    /// A demand as ``fitJoin(_:)``'s `demand` columns give it, starting at column `first`.
    static func demandFit(_ row: Row, from first: Int) -> DemandFit {
        let n = first
        return DemandFit(fid: row[n], id: row[n + 1],
                         criteria: DemandCriteria(budgetMin: row[n + 2], budgetMax: row[n + 3], bedroomsMin: row[n + 4],
                                                  propertyTypes: ((row[n + 5] as String?) ?? "").split(separator: ",").map(String.init),
                                                  areaMinM2: row[n + 6], areaMaxM2: row[n + 7]),
                         centre: Position(lon: row[n + 8], lat: row[n + 9]), areaSquareMetres: row[n + 10])
    }

    public func demandFeatures(fids: [Int64]) async throws -> [StoredFeature] {
        guard !fids.isEmpty else { return [] }
        return try await read { db in
            let found = try db.rows("SELECT \(StoredFeature.selection(.demands, alias: "d")) FROM demands d WHERE d.fid IN (\(SpatialSQL.list(fids)))")
                .map { StoredFeature(row: $0, layer: .demands) }
            let byFid = Dictionary(uniqueKeysWithValues: found.map { ($0.fid, $0) })
            return fids.compactMap { byFid[$0] }
        }
    }

    // MARK: SQL

    /// The hard rules of a fit, over listing values and a demand table aliased `d`. Missing facts do
    /// not exclude; the stretch lets a listing be a little over budget or size.
    /// `stretch` 0 asks for a full fit (within the budget and the area range themselves).
    static func fitSQL(demand d: String = "d", price: SQL, area: SQL, bedrooms: SQL, type: SQL, stretch: Double = MatchScore.stretch) -> SQL {
        let d = SQL(sql: d)
        return """
            (\(d).property_types IS NULL OR \(type) IS NULL OR instr(',' || \(d).property_types || ',', ',' || \(type) || ',') > 0)
            AND (\(d).bedrooms_min IS NULL OR \(bedrooms) IS NULL OR \(bedrooms) >= \(d).bedrooms_min)
            AND (\(d).budget_max IS NULL OR \(price) IS NULL OR \(price) <= \(d).budget_max * (1 + \(stretch)))
            AND (\(d).area_min_m2 IS NULL OR \(area) IS NULL OR \(area) >= \(d).area_min_m2 * (1 - \(stretch)))
            AND (\(d).area_max_m2 IS NULL OR \(area) IS NULL OR \(area) <= \(d).area_max_m2 * (1 + \(stretch)))
            """
    }

    /// A demand's feature, centroid and criteria.
    static let demandSelection: SQL = """
        \(StoredFeature.selection(.demands, alias: "d")), X(ST_Centroid(d.geom)), Y(ST_Centroid(d.geom)),
        d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2, ST_Area(d.geom, 1)
        """
    static let demandColumnCount = StoredFeature.columnCount(.demands) + 9

    /// Criteria, centre and geodesic area (SpatiaLite's `ST_Area(geom, 1)`, which the fit index keeps too,
    /// so that both directions rank with the same numbers).
    static func demandTarget(_ row: Row) -> DemandTarget {
        let feature = StoredFeature(row: row, layer: .demands)
        let n = StoredFeature.columnCount(.demands)
        let criteria = DemandCriteria(budgetMin: row[n + 2], budgetMax: row[n + 3], bedroomsMin: row[n + 4],
                                      propertyTypes: ((row[n + 5] as String?) ?? "").split(separator: ",").map(String.init),
                                      areaMinM2: row[n + 6], areaMaxM2: row[n + 7])
        return DemandTarget(feature: feature, criteria: criteria, centre: Position(lon: row[n] ?? 0, lat: row[n + 1] ?? 0),
                            areaSquareMetres: row[n + 8] ?? 0)
    }

    static func listingsFittingSQL(demandID: String, box: BBox.Part) -> SQL {
        """
        WITH wanted AS MATERIALIZED (SELECT geom AS g, budget_min, budget_max, bedrooms_min, property_types, area_min_m2, area_max_m2
                                     FROM demands WHERE id = \(demandID))
        SELECT \(StoredFeature.pointSelection()) FROM wanted, listings t
        WHERE \(SpatialSQL.candidates(.listings, boxes: [box])) AND ST_Within(t.geom, wanted.g)
        -- `+` keeps SQLite from walking every active listing by the status index instead of the R*Tree.
        AND +t.status = 'active'
        AND \(fitSQL(demand: "wanted", price: "t.list_price", area: "t.living_area_m2", bedrooms: "t.bedrooms", type: "t.property_type"))
        """
    }

    /// The demands one listing fits within `reach`: a one-row batch through ``fitJoin(_:)``.
    static func demandsFittingSQL(_ listing: ListingFacts, at p: Position, reach: FitReach, beyond known: FitReach? = nil) -> SQL {
        let join = fitJoin(reach, beyond: known)
        return """
        WITH batch AS MATERIALIZED (
            SELECT \(p.lon) AS x, \(p.lat) AS y, \(listing.price) AS list_price, \(listing.livingAreaM2) AS living_area_m2,
                   \(listing.bedrooms) AS bedrooms, \(listing.propertyType) AS property_type,
                   \(probeColumns(y: "\(p.lat)", price: "\(listing.price)", area: "\(listing.livingAreaM2)", bedrooms: "\(listing.bedrooms)"))
        )\(join.with)
        SELECT \(join.demand)
        FROM \(join.source)
        WHERE \(join.conditions)
        """
    }

    /// What the probe reads of a listing beyond its facts: degrees of longitude per metre at its
    /// latitude, on the safe side (the parallel a degree nearer the pole, 1 % more), and its price,
    /// living area and bedrooms where a missing fact passes every bound of ``DemandReach``'s rows.
    static func probeColumns(y: SQL, price: SQL, area: SQL, bedrooms: SQL) -> SQL {
        """
        1.01 / (111320 * Cos(Radians(min(abs(\(y)) + 1, 89)))) AS lon_per_m, coalesce(\(price), -1e308) AS price_probe,
        coalesce(\(area), 1e308) AS area_probe_high, coalesce(\(area), -1e308) AS area_probe_low, coalesce(\(bedrooms), 1e308) AS bedrooms_probe
        """
    }

    /// Degrees of latitude per metre, on the safe side (a degree of a meridian is at least 110,574 m).
    static let latitudePerMetre = 1.01 / 110_574

    /// How far, in reaches, a probe reads around the listing: (1 − closeness) near the centre, a
    /// whole reach (every area that can hold it) everywhere; a hair more, as the band tops are rounded.
    static func reachFactor(_ reach: FitReach) -> Double {
        switch reach {
        case .nearCentre(let closeness): (1 - closeness) * 1.0001
        case .everywhere: 1.0001
        }
    }

    /// From a listing batch `batch` (facts, `x`, `y` and ``probeColumns(y:price:area:bedrooms:)``) to
    /// the demands it fits within `reach`: the common tables to append to the batch's, the source
    /// to read `FROM` (whose `b` has the batch's columns), the conditions, the demand's columns (fid,
    /// id, the criteria, centre and geodesic area) and its id for a further join.
    ///
    /// `probe` holds, per listing, per wanted-type list that names its type (or none; `lists` walks
    /// the key's distinct lists, a seek each) and per band of reach (``DemandReach``), the rows of
    /// latitude within the reach and its half widths; then per row `o`, one range of longitudes of
    /// `demand_reach f` (a row's latitudes are not tested: what a strip holds beyond the reach is
    /// only read in excess, as a round may). Then the rules (the most selective), the outer disc, and
    /// containment, where only a row between its discs and outside its inner box reads the demand's
    /// geometry.
    ///
    /// With `beyond` (a smaller reach read before), only what it did not read: in the rows it read,
    /// the longitudes either side of its range (`s` 0 west, 1 east), so that rounds read each row once.
    static func fitJoin(_ reach: FitReach, beyond: FitReach? = nil) -> (with: SQL, source: SQL, conditions: SQL, demand: SQL, demandID: SQL) {
        let factor = reachFactor(reach), m = latitudePerMetre
        let maxRows = Int((2 * factor * 8 * 111_320 * m).rounded(.up)) + 2
        let offsets = (0...maxRows).map { "(\($0))" }.joined(separator: ", ")
        let dlat: SQL = "min(\(factor) * k.high_m * \(m), 180)"
        let ring = ringSQL(beyond.map(reachFactor))
        let with: SQL = """
            , lists(list) AS (SELECT min(type) FROM demand_reach UNION ALL SELECT (SELECT min(type) FROM demand_reach WHERE type > list) FROM lists WHERE list IS NOT NULL),
            probe AS MATERIALIZED (
                SELECT b.*, w.list, k.band, Floor((b.y - \(dlat)) / k.row_deg) AS first_row, Floor((b.y + \(dlat)) / k.row_deg) AS last_row,
                       \(dlat) AS dlat, min(\(factor) * k.high_m * b.lon_per_m, 360) AS dlon\(ring.columns)
                FROM batch b CROSS JOIN lists w CROSS JOIN demand_reach_bands k
                WHERE w.list IS NOT NULL AND (b.property_type IS NULL OR w.list = '' OR instr(',' || w.list || ',', ',' || b.property_type || ',') > 0)
            ),
            offsets(n) AS (VALUES \(SQL(sql: offsets)))\(ring.with)
            """
        let within: SQL = """
            o.n <= b.last_row - b.first_row AND f.type = b.list AND f.band = b.band AND f.row = b.first_row + o.n
            AND \(ring.longitudes)
            """
        // ``fitSQL(demand:price:area:bedrooms:type:)``'s rules on the bounds each row keeps (a list of
        // types named the listing's type already when the row was sought by it).
        let rules: SQL = """
            f.budget_cap >= b.price_probe AND f.area_low <= b.area_probe_high AND f.area_high >= b.area_probe_low
            AND f.bedrooms_low <= b.bedrooms_probe AND (f.type <> '' OR f.property_types IS NULL OR b.property_type IS NULL)
            """
        let containment = containsSQL("f", lon: "b.x", lat: "b.y")
        return (with, "probe b CROSS JOIN offsets o\(ring.sides) CROSS JOIN demand_reach f",
                "\(within) AND \(rules) AND \(containment.near) AND \(containment.holds)",
                "f.fid, f.id, f.budget_min, f.budget_max, f.bedrooms_min, f.property_types, f.area_min_m2, f.area_max_m2, f.lon, f.lat, f.area_m2",
                "f.id")
    }

    /// The longitudes a probe reads in a row: all within its half width, or with `inner` (the factor of
    /// a smaller reach already read, computed as that read computed it) only those outside the
    /// smaller read's range in the rows it read.
    private static func ringSQL(_ inner: Double?) -> (columns: SQL, with: SQL, sides: SQL, longitudes: SQL) {
        guard let inner else { return ("", "", "", "f.lon BETWEEN b.x - b.dlon AND b.x + b.dlon") }
        let dlat: SQL = "min(\(inner) * k.high_m * \(latitudePerMetre), 180)"
        let inside: SQL = "(b.first_row + o.n BETWEEN b.read_first_row AND b.read_last_row)"
        return ("""
                , Floor((b.y - \(dlat)) / k.row_deg) AS read_first_row, Floor((b.y + \(dlat)) / k.row_deg) AS read_last_row,
                min(\(inner) * k.high_m * b.lon_per_m, 360) AS read_dlon
                """,
                ", sides(s) AS (VALUES (0), (1))",
                " CROSS JOIN sides e",
                """
                (e.s = 0 OR \(inside))
                AND f.lon BETWEEN CASE WHEN e.s = 1 THEN b.x + b.read_dlon ELSE b.x - b.dlon END
                              AND CASE WHEN e.s = 0 AND \(inside) THEN b.x - b.read_dlon ELSE b.x + b.dlon END
                AND NOT (\(inside) AND f.lon BETWEEN b.x - b.read_dlon AND b.x + b.read_dlon)
                """)
    }

    /// Whether demand row `f` holds the listing at (`lon`, `lat`), from what the row keeps where it
    /// can (planar, longitudes scaled as the row's radii; ``DemandReach``): `near` fails outside its
    /// outer disc; then `holds` inside its inner disc or inner box, and only between them by GEOS on
    /// the demand's geometry.
    static func containsSQL(_ f: String, lon: SQL, lat: SQL) -> (near: SQL, holds: SQL) {
        let f = SQL(sql: f)
        let squared: SQL = "((\(f).lon - \(lon)) * \(f).lon_scale * (\(f).lon - \(lon)) * \(f).lon_scale + (\(f).lat - \(lat)) * (\(f).lat - \(lat)))"
        return ("\(squared) <= \(f).outside_sq", """
            (\(squared) < \(f).inside_sq
             OR (\(f).inner_w IS NOT NULL AND \(lon) BETWEEN \(f).inner_w AND \(f).inner_e AND \(lat) BETWEEN \(f).inner_s AND \(f).inner_n)
             OR ST_Contains((SELECT geom FROM demands WHERE fid = \(f).fid), MakePoint(\(lon), \(lat), 4326)))
            """)
    }


}
