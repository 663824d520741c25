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

    public func demandsFitting(_ listing: ListingFacts, at point: Position) async throws -> [DemandFit] {
        try await read { db in
            try db.rows(Self.demandsFittingSQL(listing, at: point)).map { row in
                DemandFit(fid: row[0], id: row[1],
                          criteria: DemandCriteria(budgetMin: row[2], budgetMax: row[3], bedroomsMin: row[4],
                                                   propertyTypes: ((row[5] as String?) ?? "").split(separator: ",").map(String.init),
                                                   areaMinM2: row[6], areaMaxM2: row[7]),
                          centre: Position(lon: row[8], lat: row[9]), areaSquareMetres: row[10])
            }
        }
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

    /// One probe of the fit index (place, living area, price, bedrooms in five dimensions), then the
    /// exact rules, then containment: free inside the area's inner box, else `ST_Contains`.
    static func demandsFittingSQL(_ listing: ListingFacts, at p: Position) -> SQL {
        """
        SELECT d.fid, d.id, d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2,
               f.centre_lon, f.centre_lat, f.area_m2
        FROM \(fitProbe(listing, lon: "\(p.lon)", lat: "\(p.lat)"))
        CROSS JOIN demands d ON d.fid = f.fid
        WHERE d.status = 'active'
          AND \(fitSQL(price: "\(listing.price)", area: "\(listing.livingAreaM2)", bedrooms: "\(listing.bedrooms)", type: "\(listing.propertyType)"))
          AND \(containsSQL(lon: "\(p.lon)", lat: "\(p.lat)"))
        """
    }

    /// `idx_demands_fit f` restricted to the boxes that may hold a listing at (lon, lat) with its facts;
    /// a fact the listing lacks constrains nothing.
    static func fitProbe(_ listing: ListingFacts, lon: SQL, lat: SQL) -> SQL {
        var probe: SQL = "idx_demands_fit f WHERE f.min_lon <= \(lon) AND f.max_lon >= \(lon) AND f.min_lat <= \(lat) AND f.max_lat >= \(lat)"
        if let area = listing.livingAreaM2 { probe += " AND f.min_area <= \(area) AND f.max_area >= \(area)" }
        if let price = listing.price { probe += " AND f.max_price >= \(price)" }
        if let bedrooms = listing.bedrooms { probe += " AND f.min_bedrooms <= \(bedrooms)" }
        return "(SELECT * FROM \(probe)) f"
    }

    /// Whether the demand `d` (with its fit-index row `f`) holds the point: inside the inner box, or by GEOS.
    static func containsSQL(lon: SQL, lat: SQL) -> SQL {
        """
        ((f.inner_w IS NOT NULL AND \(lon) BETWEEN f.inner_w AND f.inner_e AND \(lat) BETWEEN f.inner_s AND f.inner_n)
         OR ST_Contains(d.geom, MakePoint(\(lon), \(lat), 4326)))
        """
    }
}
