import GRDB
import RGISCore
import RGISStore

/// The rows of the unmet-demand table: each active demand's grade found by two `EXISTS` over the
/// listings' R*Tree within the demand's box (a full fit first, then one within the stretch), and the
/// active listings' facts; one snapshot.
extension SpatiaLiteStore {
    public func unmetDemandInputs(level: DistrictLevel) async throws -> UnmetDemandInputs {
        try await read { db in
            let districts = try db.rows("SELECT fid, id, name FROM districts WHERE level = \(level.rawValue) ORDER BY fid")
                .map { MarketHistory.District(fid: $0["fid"], id: $0["id"], name: $0["name"]) }
            let demands = try db.rows(Self.demandGradeSQL(level: level)).map { row in
                UnmetDemandInputs.Demand(id: row[1], district: row[0],
                                         criteria: DemandCriteria(budgetMin: row[2], budgetMax: row[3], bedroomsMin: row[4],
                                                                  propertyTypes: ((row[5] as String?) ?? "").split(separator: ",").map(String.init),
                                                                  areaMinM2: row[6], areaMaxM2: row[7]),
                                         grade: FitGrade(rawValue: row[8]) ?? .unmet)
            }
            let column = SQL(sql: DistrictPlacement.column(level))
            let listings = try db.rows("""
                SELECT \(column), list_price, living_area_m2, bedrooms, property_type FROM listings
                WHERE status = 'active' AND \(column) IS NOT NULL ORDER BY fid
                """).map { row in
                UnmetDemandInputs.Listing(district: row[0], facts: ListingFacts(price: row[1], livingAreaM2: row[2], bedrooms: row[3], propertyType: row[4]))
            }
            return UnmetDemandInputs(districts: districts, demands: demands, listings: listings)
        }
    }

    /// Each active placed demand's criteria and grade: 2 when a listing fits it without the stretch,
    /// 1 when one fits only within it, 0 when none does.
    package static func demandGradeSQL(level: DistrictLevel) -> SQL {
        let column = SQL(sql: DistrictPlacement.column(level))
        func fits(_ stretch: Double) -> SQL {
            """
            EXISTS (SELECT 1 FROM listings t WHERE t.fid IN (SELECT pkid FROM \(sql: SpatialSQL.rtree("listings"))
                        WHERE xmax >= MbrMinX(d.geom) AND xmin <= MbrMaxX(d.geom) AND ymax >= MbrMinY(d.geom) AND ymin <= MbrMaxY(d.geom))
                    AND +t.status = 'active' AND ST_Within(t.geom, d.geom)
                    AND \(fitSQL(demand: "d", price: "t.list_price", area: "t.living_area_m2", bedrooms: "t.bedrooms", type: "t.property_type", stretch: stretch)))
            """
        }
        return """
        SELECT d.\(column), d.id, d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2,
               CASE WHEN \(fits(0)) THEN 2 WHEN \(fits(MatchScore.stretch)) THEN 1 ELSE 0 END
        FROM demands d WHERE d.status = 'active' AND d.\(column) IS NOT NULL ORDER BY d.fid
        """
    }
}
