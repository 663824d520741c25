/// A typed filter on listings, shared by every query. Never raw SQL: the store binds each value.
public struct ListingFilter: Sendable, Equatable {
    public var priceMin: Double?
    public var priceMax: Double?
    public var bedroomsMin: Int?
    public var propertyTypes: [PropertyType] = []
    public var statuses: [ListingStatus] = []
    public var livingAreaMinM2: Double?
    public var livingAreaMaxM2: Double?
    public var yearBuiltMin: Int?
    public var yearBuiltMax: Int?
    /// Listed on or after this date.
    public var listedSince: ISODate?

    public init() {}

    public var isEmpty: Bool { self == ListingFilter() }

    /// Checks the ranges; the error names the parameters.
    public func validate() throws {
        func ordered<T: Comparable>(_ low: T?, _ high: T?, _ lowName: String, _ highName: String) throws {
            if let low, let high, low > high {
                throw RGISError(.invalidValue, "\(lowName) \(low) is greater than \(highName) \(high)", at: "parameter \(lowName)")
            }
        }
        for (name, value) in [("price_min", priceMin), ("price_max", priceMax), ("area_min", livingAreaMinM2), ("area_max", livingAreaMaxM2)] {
            if let value, !(value.isFinite && value >= 0) {
                throw RGISError(.invalidValue, "\(name) must be a number ≥ 0, found \(value)", at: "parameter \(name)")
            }
        }
        if let bedroomsMin, bedroomsMin < 0 {
            throw RGISError(.invalidValue, "bedrooms must be ≥ 0, found \(bedroomsMin)", at: "parameter bedrooms")
        }
        try ordered(priceMin, priceMax, "price_min", "price_max")
        try ordered(livingAreaMinM2, livingAreaMaxM2, "area_min", "area_max")
        try ordered(yearBuiltMin, yearBuiltMax, "year_min", "year_max")
    }

    /// Reads a comma-separated list of property types, naming an unknown one.
    public static func propertyTypes(parsing text: String) throws -> [PropertyType] {
        try text.split(separator: ",").map { item in
            let code = item.trimmingCharacters(in: .whitespaces).lowercased()
            guard let type = PropertyType(rawValue: code) else {
                throw RGISError(.invalidValue, "unknown property type '\(code)'; types are \(PropertyType.allCases.map(\.rawValue).joined(separator: ", "))", at: "parameter type")
            }
            return type
        }
    }

    /// Reads a comma-separated list of listing statuses, naming an unknown one.
    public static func statuses(parsing text: String) throws -> [ListingStatus] {
        try text.split(separator: ",").map { item in
            let code = item.trimmingCharacters(in: .whitespaces).lowercased()
            guard let status = ListingStatus(rawValue: code) else {
                throw RGISError(.invalidValue, "unknown status '\(code)'; statuses are \(ListingStatus.allCases.map(\.rawValue).joined(separator: ", "))", at: "parameter status")
            }
            return status
        }
    }
}
