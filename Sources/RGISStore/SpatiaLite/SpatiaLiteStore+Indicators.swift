import Foundation
import GRDB
import RGISCore

/// The rows behind the district indicators.
extension SpatiaLiteStore {
    public func indicatorInputs(level: DistrictLevel, asOf: ISODate) async throws -> IndicatorInputs {
        try await read { db in
            let districts = try db.rows("SELECT \(StoredFeature.selection(.districts)) FROM districts t WHERE t.level = \(level.rawValue) ORDER BY t.fid")
                .map { StoredFeature(row: $0, layer: .districts) }
            let supply = try db.rows(Self.supplySQL(level: level, asOf: asOf)).map { row in
                IndicatorInputs.Supply(districtFid: row["district"], status: row["status"], listPrice: row["list_price"],
                                       livingAreaM2: row["living_area_m2"], daysOnMarket: row["days_on_market"], closeDate: row["close_date"])
            }
            let demand = try db.rows(Self.demandSQL(level: level)).map { row in
                IndicatorInputs.Demand(districtFid: row["district"], budgetMax: row["budget_max"])
            }
            return IndicatorInputs(districts: districts, supply: supply, demand: demand)
        }
    }

    /// Each listing joined to the districts whose box holds it (R*Tree), then exactly.
    static func supplySQL(level: DistrictLevel, asOf: ISODate) -> SQL {
        """
        SELECT dist.fid AS district, l.status, l.list_price, l.living_area_m2,
               julianday(\(asOf.text)) - julianday(l.list_date) AS days_on_market, l.close_date
        FROM districts dist JOIN listings l
          ON l.fid IN (SELECT pkid FROM idx_listings_geom
                       WHERE xmax >= MbrMinX(dist.geom) AND xmin <= MbrMaxX(dist.geom)
                         AND ymax >= MbrMinY(dist.geom) AND ymin <= MbrMaxY(dist.geom))
         AND ST_Contains(dist.geom, l.geom)
        WHERE dist.level = \(level.rawValue)
        """
    }

    /// Each active demand to the district holding its search area's point on surface.
    static func demandSQL(level: DistrictLevel) -> SQL {
        """
        SELECT dist.fid AS district, m.budget_max
        FROM districts dist JOIN demands m
          ON m.fid IN (SELECT pkid FROM idx_demands_geom
                       WHERE xmax >= MbrMinX(dist.geom) AND xmin <= MbrMaxX(dist.geom)
                         AND ymax >= MbrMinY(dist.geom) AND ymin <= MbrMaxY(dist.geom))
         AND m.status = 'active' AND ST_Contains(dist.geom, ST_PointOnSurface(m.geom))
        WHERE dist.level = \(level.rawValue)
        """
    }
}

/// The statements behind each query, for the plan tests.
extension SpatiaLiteStore {
    public func queryPlans(_ query: PlannedQuery) async throws -> [String] {
        try await read { db in
            let statements: [SQL]
            switch query {
            case .radius(let q, let strategy): statements = try RadiusSearch(query: q).statements(strategy)
            case .polygon(let q): statements = [try Self.polygonSQL(q, box: try Self.validBox(db, q.area))]
            case .bbox(let q): statements = [try Self.bboxSQL(q)]
            case .items(let q): statements = Self.itemsStatements(q)
            case .districtsContaining(let p): statements = [Self.containingSQL(p)]
            case .listingsFitting(let id): statements = [Self.listingsFittingSQL(demandID: id, box: BBox.Part(west: -1, south: -1, east: 1, north: 1))]
            case .demandsFitting(let facts, let p, let reach): statements = [Self.demandsFittingSQL(facts, at: p, reach: reach)]
            case .indicators(let level):
                statements = [Self.supplySQL(level: level, asOf: ISODate(parsing: "2026-01-01")!), Self.demandSQL(level: level)]
            }
            return try statements.flatMap { try db.queryPlan($0) }
        }
    }
}
