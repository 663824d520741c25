import GRDB
import RGISCore

extension ListingFilter {
    /// The filter as `AND`ed conditions on the table aliased `alias`, with bound values only.
    func sql(alias t: String = "t", layer: QueryLayer) throws -> (sql: String, values: [any DatabaseValueConvertible]) {
        guard !isEmpty else { return ("", []) }
        guard layer == .listings else {
            throw RGISError(.invalidValue, "listing filters apply to the listings layer only, not \(layer.rawValue)", at: "parameter layer")
        }
        var conditions: [String] = []
        var values: [any DatabaseValueConvertible] = []
        func add(_ condition: String, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            conditions.append(condition)
            values.append(value)
        }
        add("\(t).list_price >= ?", priceMin)
        add("\(t).list_price <= ?", priceMax)
        add("\(t).bedrooms >= ?", bedroomsMin)
        add("\(t).living_area_m2 >= ?", livingAreaMinM2)
        add("\(t).living_area_m2 <= ?", livingAreaMaxM2)
        add("\(t).year_built >= ?", yearBuiltMin)
        add("\(t).year_built <= ?", yearBuiltMax)
        add("\(t).list_date >= ?", listedSince?.text)
        if !propertyTypes.isEmpty {
            conditions.append("\(t).property_type IN (\(propertyTypes.map { _ in "?" }.joined(separator: ", ")))")
            values += propertyTypes.map(\.rawValue)
        }
        if !statuses.isEmpty {
            conditions.append("\(t).status IN (\(statuses.map { _ in "?" }.joined(separator: ", ")))")
            values += statuses.map(\.rawValue)
        }
        return (conditions.map { " AND \($0)" }.joined(), values)
    }
}
