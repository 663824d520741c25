import GRDB
import RGISCore
import RGISStore

extension ListingFilter {
    /// The filter as ` AND …` conditions on the table aliased `alias`, bound values only; empty when
    /// the filter is. The columns are written `+t.column`: the filter narrows what an R*Tree or the
    /// pixel index reads and never leads the plan (without statistics SQLite takes any equality for
    /// selective, and `status = 'active'` holds two thirds of the listings).
    /// Throws ``RGISError/Code/invalidValue`` for a filter on a layer other than listings.
    func sql(alias t: String = "t", layer: QueryLayer) throws -> SQL {
        guard !isEmpty else { return "" }
        guard layer == .listings else {
            throw RGISError(.invalidValue, "listing filters apply to the listings layer only, not \(layer.rawValue)", at: "parameter layer")
        }
        var conditions: [SQL] = []
        func add(_ column: String, _ op: String, _ value: (some DatabaseValueConvertible)?) {
            guard let value else { return }
            conditions.append("+\(sql: t).\(sql: column) \(sql: op) \(value)")
        }
        add("list_price", ">=", priceMin)
        add("list_price", "<=", priceMax)
        add("bedrooms", ">=", bedroomsMin)
        add("living_area_m2", ">=", livingAreaMinM2)
        add("living_area_m2", "<=", livingAreaMaxM2)
        add("year_built", ">=", yearBuiltMin)
        add("year_built", "<=", yearBuiltMax)
        add("list_date", ">=", listedSince?.text)
        if !propertyTypes.isEmpty { conditions.append("+\(sql: t).property_type IN (\(SpatialSQL.list(propertyTypes.map(\.rawValue))))") }
        if !statuses.isEmpty { conditions.append("+\(sql: t).status IN (\(SpatialSQL.list(statuses.map(\.rawValue))))") }
        return conditions.map { c -> SQL in " AND \(c)" }.joined()
    }
}
