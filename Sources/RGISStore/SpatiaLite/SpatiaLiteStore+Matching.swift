import Foundation
import GRDB
import RGISCore

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

    public func demandsFitting(_ listing: ListingFacts, at point: Position, reach: FitReach) async throws -> [DemandFit] {
        try await read { db in
            try db.rows(Self.demandsFittingSQL(listing, at: point, reach: reach)).map { Self.demandFit($0, from: 0) }
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
    static func fitSQL(demand d: String = "d", price: SQL, area: SQL, bedrooms: SQL, type: SQL) -> SQL {
        let stretch = MatchScore.stretch
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
    static func demandsFittingSQL(_ listing: ListingFacts, at p: Position, reach: FitReach) -> SQL {
        let join = fitJoin(reach)
        return """
        WITH batch AS MATERIALIZED (
            SELECT \(p.lon) AS x, \(p.lat) AS y, \(listing.price) AS list_price, \(listing.livingAreaM2) AS living_area_m2,
                   \(listing.bedrooms) AS bedrooms, \(listing.propertyType) AS property_type,
                   \(probeColumns(y: "\(p.lat)"))
        )\(join.with)
        SELECT \(join.demand)
        FROM batch b
        \(join.from)
        WHERE \(join.conditions)
        """
    }

    /// What the near-centre probe reads of a listing beyond its facts: degrees of longitude per metre
    /// at its latitude, on the safe side (the parallel a degree nearer the pole, 1 % more).
    static func probeColumns(y: SQL) -> SQL {
        "1.01 / (111320 * Cos(Radians(min(abs(\(y)) + 1, 89)))) AS lon_per_m"
    }

    /// Degrees of latitude per metre, on the safe side (a degree of a meridian is at least 110,574 m).
    static let latitudePerMetre = 1.01 / 110_574

    /// The bands of area radius (metres) that the near-centre probe takes one by one: within a band a
    /// listing reaches the centres within (1 − closeness) × the band's top. Steps of 1.3 keep the
    /// box at most 1.7 times the disc it stands for; the last band is open.
    static let radiusBands: [(low: Double, high: Double)] = {
        var bands: [(Double, Double)] = [(0, 100)]
        while bands.last!.1 < 120_000 { bands.append((bands.last!.1, bands.last!.1 * 1.3)) }
        return bands + [(bands.last!.1, 1e30)]
    }()

    /// From a listing batch `b` (facts, `x`, `y` and ``probeColumns(y:)``) to
    /// the demands it fits within `reach`: the joins after `FROM batch b`, the common table they need,
    /// the conditions, the demand's columns (fid, id, the criteria, centre and geodesic area) and its
    /// id for a further join. The index row `f` is
    /// - everywhere: the fit index's boxes that hold the listing;
    /// - near the centre: per band of area radius, the centre index within the band's reach;
    /// then the exact rules and containment on what the row keeps, and a demand row only for a polygon test.
    static func fitJoin(_ reach: FitReach) -> (with: SQL, from: SQL, conditions: SQL, demand: SQL, demandID: SQL) {
        let index: SQL, conditions: SQL, with: SQL
        switch reach {
        case .everywhere:
            (with, index) = ("", "CROSS JOIN idx_demands_fit f")
            conditions = "f.min_lon <= b.x AND f.max_lon >= b.x AND f.min_lat <= b.y AND f.max_lat >= b.y"
        case .nearCentre(let closeness):
            // In the index's radius unit; the reach a hair over (1 − c) × top, as radii are 32-bit floats rounded down.
            let unit = DemandFitIndex.metresPerRadiusUnit
            let bands = radiusBands.map { "(\($0.low / unit), \($0.high / unit), \((1 - closeness) * $0.high * 1.00001))" }.joined(separator: ", ")
            let m = latitudePerMetre
            (with, index) = (SQL(sql: ", bands(low, high, reach_m) AS (VALUES \(bands))"), "CROSS JOIN bands k CROSS JOIN idx_demands_centre f")
            conditions = """
                f.min_radius >= k.low AND f.min_radius < k.high
                AND f.max_lon >= b.x - k.reach_m * b.lon_per_m AND f.min_lon <= b.x + k.reach_m * b.lon_per_m
                AND f.max_lat >= b.y - k.reach_m * \(m) AND f.min_lat <= b.y + k.reach_m * \(m)
                """
        }
        let rules = fitSQL(demand: "f", price: "b.list_price", area: "b.living_area_m2", bedrooms: "b.bedrooms", type: "b.property_type")
        return (with, index,
                "\(conditions) AND \(rules) AND \(containsSQL(index: "f", geometry: "(SELECT geom FROM demands WHERE fid = f.fid)", lon: "b.x", lat: "b.y"))",
                "f.fid, f.id, f.budget_min, f.budget_max, f.bedrooms_min, f.property_types, f.area_min_m2, f.area_max_m2, f.centre_lon, f.centre_lat, f.area_m2",
                "f.id")
    }

    /// Whether a demand holds the point: inside the inner box its index row `index` keeps (no
    /// geometry read), else by GEOS on `geometry`.
    static func containsSQL(index t: String, geometry: String, lon: SQL, lat: SQL) -> SQL {
        let t = SQL(sql: t), g = SQL(sql: geometry)
        return """
        ((\(t).inner_w IS NOT NULL AND \(lon) BETWEEN \(t).inner_w AND \(t).inner_e AND \(lat) BETWEEN \(t).inner_s AND \(t).inner_n)
         OR ST_Contains(\(g), MakePoint(\(lon), \(lat), 4326)))
        """
    }
}
