import PostgresNIO
import RGISCore
import RGISStore

/// The rows of the unmet-demand table: each active demand's grade found by two `EXISTS` over the
/// listings' GiST index (a full fit first, then one within the stretch), and the active listings'
/// facts; one snapshot.
extension PostGISStore {
    public func unmetDemandInputs(level: DistrictLevel) async throws -> UnmetDemandInputs {
        let placed = "\(level.rawValue)_fid"
        func fits(stretch: Double) -> String {
            """
            EXISTS (SELECT 1 FROM listings t WHERE ST_Within(t.geom, d.geom) AND t.status = 'active' AND \
            \(Self.fitRules(price: "t.list_price", area: "t.living_area_m2", bedrooms: "t.bedrooms", type: "t.property_type", stretch: stretch)))
            """
        }
        return try await read { session in
            var districts = SQLText("SELECT fid, id, name FROM districts WHERE level = ")
            districts.bind(level.rawValue)
            districts.sql(" ORDER BY fid")
            let found = try await session.rows(districts).map { row in
                MarketHistory.District(fid: try row[0].decode(Int64.self), id: try row[1].decode(String.self), name: try row[2].decode(String?.self))
            }
            let demandRows = try await session.rows(SQLText("""
                SELECT d.\(placed), d.id, d.budget_min, d.budget_max, d.bedrooms_min, d.property_types, d.area_min_m2, d.area_max_m2,
                       CASE WHEN \(fits(stretch: 0)) THEN 2 WHEN \(fits(stretch: MatchScore.stretch)) THEN 1 ELSE 0 END
                FROM demands d WHERE d.status = 'active' AND d.\(placed) IS NOT NULL ORDER BY d.fid
                """))
            let demands = try demandRows.map { row in
                UnmetDemandInputs.Demand(id: try row[1].decode(String.self), district: try row[0].decode(Int64.self),
                                         criteria: try Self.criteria(row, from: 2), grade: FitGrade(rawValue: Int(try row[8].decode(Int32.self))) ?? .unmet)
            }
            let listingRows = try await session.rows(SQLText("""
                SELECT \(placed), list_price, living_area_m2, bedrooms, property_type FROM listings
                WHERE status = 'active' AND \(placed) IS NOT NULL ORDER BY fid
                """))
            let listings = try listingRows.map { row in
                UnmetDemandInputs.Listing(district: try row[0].decode(Int64.self),
                                          facts: ListingFacts(price: try row[1].decode(Double?.self), livingAreaM2: try row[2].decode(Double?.self),
                                                              bedrooms: try row[3].decode(Int64?.self).map { Int($0) },
                                                              propertyType: try row[4].decode(String?.self)))
            }
            return UnmetDemandInputs(districts: found, demands: demands, listings: listings)
        }
    }
}
