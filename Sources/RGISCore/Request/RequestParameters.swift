/// The parameters of one request as text, by their HTTP names (`price_min`, `radius_m`): what both the
/// CLI (from its options) and the server (from the query string) hand to the query values' constructors,
/// so that each value is parsed and checked in one place.
///
/// Typed reads throw ``RGISError/Code/malformedInput`` naming the parameter when the text is not of the
/// type; range rules belong to the value being built.
public struct RequestParameters: Sendable, Equatable {
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    public subscript(_ name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// Sets a parameter from a typed CLI option, leaving it out when nil.
    public mutating func set(_ name: String, _ value: (some CustomStringConvertible)?) {
        values[name] = value.map(\.description)
    }

    public func double(_ name: String) throws -> Double? {
        guard let text = values[name] else { return nil }
        guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
            throw RGISError(.malformedInput, "\(name) must be a number, found '\(text)'", at: "parameter \(name)")
        }
        return v
    }

    public func int(_ name: String) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw RGISError(.malformedInput, "\(name) must be a whole number, found '\(text)'", at: "parameter \(name)")
        }
        return v
    }

    public func date(_ name: String) throws -> ISODate? {
        guard let text = values[name] else { return nil }
        guard let date = ISODate(parsing: text), date.text.count == 10 else {
            throw RGISError(.malformedInput, "\(name) '\(text)' is not a date (YYYY-MM-DD)", at: "parameter \(name)")
        }
        return date
    }

    public func bool(_ name: String) throws -> Bool? {
        switch values[name] {
        case nil: return nil
        case "true": return true
        case "false": return false
        case let other?: throw RGISError(.malformedInput, "\(name) must be true or false, found '\(other)'", at: "parameter \(name)")
        }
    }

    public func required<T>(_ name: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(name) else {
            throw RGISError(.malformedInput, "parameter \(name) is required", at: "parameter \(name)")
        }
        return value
    }
}

// MARK: - The query values, each built from the parameters in one place

extension ListingFilter {
    /// `price_min`, `price_max`, `bedrooms`, `type`, `status`, `area_min`, `area_max`, `year_min`,
    /// `year_max`, `listed_since`; validated.
    public init(_ p: RequestParameters) throws {
        self.init()
        priceMin = try p.double("price_min")
        priceMax = try p.double("price_max")
        bedroomsMin = try p.int("bedrooms")
        propertyTypes = try p["type"].map(Self.propertyTypes(parsing:)) ?? []
        statuses = try p["status"].map(Self.statuses(parsing:)) ?? []
        livingAreaMinM2 = try p.double("area_min")
        livingAreaMaxM2 = try p.double("area_max")
        yearBuiltMin = try p.int("year_min")
        yearBuiltMax = try p.int("year_max")
        listedSince = try p.date("listed_since")
        try validate()
    }

    /// The parameter names this filter reads.
    public static let parameterNames = ["price_min", "price_max", "bedrooms", "type", "status", "area_min", "area_max",
                                        "year_min", "year_max", "listed_since"]
}

extension Centre {
    /// `lon` and `lat`, both required.
    public init(_ p: RequestParameters) throws {
        try self.init(lon: try p.required("lon", p.double), lat: try p.required("lat", p.double))
    }
}

extension Limit {
    /// `name` (default `limit`), or `default` when absent.
    public init(_ p: RequestParameters, _ name: String = "limit", default fallback: Int) throws {
        try self.init(try p.int(name) ?? fallback, parameter: name)
    }
}

extension QueryLayer {
    /// `layer`, default listings.
    public init(_ p: RequestParameters) throws {
        guard let text = p["layer"] else {
            self = .listings
            return
        }
        guard let layer = QueryLayer(rawValue: text.lowercased()) else {
            throw RGISError(.invalidValue, "layer '\(text)' cannot be searched; use listings, parcels or buildings", at: "parameter layer")
        }
        self = layer
    }
}

extension PageCursor {
    /// `cursor`, when given.
    public static func from(_ p: RequestParameters) throws -> PageCursor? {
        try p["cursor"].map(PageCursor.init(parsing:))
    }
}

extension RadiusQuery {
    /// `lon`, `lat`, `radius_m`, `layer`, `limit` (default 100), `cursor` and the listing filter.
    public init(_ p: RequestParameters) throws {
        self.init(centre: try Centre(p), radius: try RadiusMetres(try p.required("radius_m", p.double)), limit: try Limit(p, default: 100))
        layer = try QueryLayer(p)
        filter = try ListingFilter(p)
        after = try PageCursor.from(p)
    }
}

extension NearestQuery {
    /// `lon`, `lat`, `k` (default 10), `layer` and the listing filter.
    public init(_ p: RequestParameters) throws {
        self.init(centre: try Centre(p), k: try Limit(p, "k", default: 10))
        layer = try QueryLayer(p)
        filter = try ListingFilter(p)
    }
}

extension PolygonQuery {
    /// The area, and `within` (default false), `layer`, `limit` (default 100), `cursor` and the listing filter.
    public init(area: SearchArea, _ p: RequestParameters) throws {
        self.init(area: area, limit: try Limit(p, default: 100))
        predicate = try p.bool("within") == true ? .within : .intersects
        layer = try QueryLayer(p)
        filter = try ListingFilter(p)
        after = try PageCursor.from(p)
    }
}

extension BBoxQuery {
    /// `bbox` (required), `layer`, `limit` (default 100), `cursor` and the listing filter.
    public init(_ p: RequestParameters) throws {
        self.init(bbox: try BBox(parsing: try p.required("bbox") { p[$0] }), limit: try Limit(p, default: 100))
        layer = try QueryLayer(p)
        filter = try ListingFilter(p)
        after = try PageCursor.from(p)
    }
}

extension IndicatorOptions {
    /// `level` (default district), `as_of` (default `today`), `since` (default one calendar year
    /// before `as_of`: 29 February goes back to 28 February) and `long_unsold_days` (default 180).
    public init(_ p: RequestParameters, today: ISODate) throws {
        let asOf = try p.date("as_of") ?? today
        try self.init(level: try IndicatorOptions.level(parsing: p["level"] ?? "district"), asOf: asOf,
                      periodStart: try p.date("since") ?? asOf.addingYears(-1),
                      unsoldThresholdDays: try p.int("long_unsold_days") ?? IndicatorOptions.longUnsoldDays)
    }
}

extension SeriesOptions {
    /// `level` (default district), `district` (an id, default every district of the level), `to`
    /// (`YYYY-MM`, default the month of `today`) and `from` (default 23 months before `to`: two years).
    public init(_ p: RequestParameters, today: ISODate) throws {
        let to = try SeriesOptions.month(p["to"], parameter: "to") ?? YearMonth(today)
        try self.init(level: try IndicatorOptions.level(parsing: p["level"] ?? "district"), district: p["district"],
                      from: try SeriesOptions.month(p["from"], parameter: "from") ?? to.adding(1 - SeriesOptions.defaultMonths), to: to)
    }
}

extension ClientSegment {
    /// `by`, required.
    public init(_ p: RequestParameters) throws {
        guard let by = p["by"] else { throw RGISError(.malformedInput, "by is required: \(ClientSegment.allCases.map(\.rawValue).joined(separator: ", "))", at: "parameter by") }
        self = try ClientSegment.parsing(by)
    }
}
