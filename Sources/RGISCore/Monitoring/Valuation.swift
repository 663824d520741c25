import Foundation

/// What a valuation by comparables is asked for: a stored listing, or a point with a type and a size.
public struct ValuationQuery: Sendable {
    public static let defaultRadiusMetres = 1000.0
    public static let maximumRadiusMetres = 5000.0
    public static let defaultMonths = 24

    /// The listing valued (it is never its own comparable), or nil for a point.
    public var listing: String?
    public var centre: Position?
    public var propertyType: PropertyType?
    public var livingAreaM2: Double?
    public var yearBuilt: Int?
    public var radiusMetres: Double
    /// Sales closed within this many months before ``asOf``.
    public var months: Int
    public var asOf: ISODate

    public init(listing: String? = nil, centre: Position? = nil, propertyType: PropertyType? = nil, livingAreaM2: Double? = nil, yearBuilt: Int? = nil,
                radiusMetres: Double = defaultRadiusMetres, months: Int = defaultMonths, asOf: ISODate) throws {
        guard (listing == nil) != (centre == nil) else {
            throw RGISError(.malformedInput, "give a listing, or lon and lat with area_m2 (and type, year_built)", at: listing == nil ? "parameter lon" : "parameter listing")
        }
        if centre != nil, livingAreaM2 == nil {
            throw RGISError(.malformedInput, "area_m2 is required with lon and lat", at: "parameter area_m2")
        }
        if let area = livingAreaM2, !(area.isFinite && area > 0 && area <= 100_000) {
            throw RGISError(.invalidValue, "area_m2 must be over 0 and at most 100000", at: "parameter area_m2")
        }
        guard radiusMetres.isFinite, (1...Self.maximumRadiusMetres).contains(radiusMetres) else {
            throw RGISError(.invalidValue, "radius_m must be 1–\(Int(Self.maximumRadiusMetres))", at: "parameter radius_m")
        }
        guard (1...120).contains(months) else { throw RGISError(.invalidValue, "months must be 1–120", at: "parameter months") }
        if let year = yearBuilt, !(1000...2200).contains(year) { throw RGISError(.invalidValue, "year_built must be 1000–2200", at: "parameter year_built") }
        self.listing = listing
        self.centre = centre
        self.propertyType = propertyType
        self.livingAreaM2 = livingAreaM2
        self.yearBuilt = yearBuilt
        self.radiusMetres = radiusMetres
        self.months = months
        self.asOf = asOf
    }

    /// `listing`, or `lon`, `lat`, `area_m2` with `type` and `year_built`; `radius_m` (default 1000),
    /// `months` (default 24), `as_of` (default today).
    public init(_ p: RequestParameters, today: ISODate) throws {
        let centre: Position? = p["lon"] != nil || p["lat"] != nil
            ? try Centre(lon: try p.required("lon", p.double), lat: try p.required("lat", p.double)).position : nil
        var type: PropertyType?
        if let text = p["type"] {
            guard let t = PropertyType(rawValue: text) else {
                throw RGISError(.invalidValue, "type must be one of \(PropertyType.allCases.map(\.rawValue).joined(separator: ", "))", at: "parameter type")
            }
            type = t
        }
        try self.init(listing: p["listing"], centre: centre, propertyType: type, livingAreaM2: try p.double("area_m2"), yearBuilt: try p.int("year_built"),
                      radiusMetres: try p.double("radius_m") ?? Self.defaultRadiusMetres, months: try p.int("months") ?? Self.defaultMonths,
                      asOf: try p.date("as_of") ?? today)
    }
}

/// The adjustments that bring a comparable sale to the subject, and the estimate from them.
///
/// A sale's price is brought to the valuation day by the subject district's median list price per m²
/// (the published monthly series: the month of the valuation over the month of the sale, each the
/// nearest earlier published month; 1 where either is missing), to the subject's size in proportion
/// to living area, and to its age by 0.5 % per year of difference in the year built (at most ±20 %,
/// none where either year is unknown). The estimate is the median of the adjusted prices, the range
/// their quartiles (linear between order statistics); at least ``minimumComparables`` sales, the
/// ``maximumComparables`` nearest.
public enum ComparableRules {
    public static let minimumComparables = 3
    public static let maximumComparables = 30
    public static let agePerYear = 0.005
    public static let ageCap = 0.20

    public struct Adjusted: Sendable, Equatable {
        public var time: Double
        public var size: Double
        public var age: Double
        public var price: Double
    }

    /// A sale of `price` brought to the subject.
    public static func adjust(price: Double, timeFactor: Double, areaM2: Double, subjectAreaM2: Double, yearBuilt: Int?, subjectYearBuilt: Int?) -> Adjusted {
        let timed = price * timeFactor
        let sized = timed * subjectAreaM2 / areaM2
        var ageFactor = 1.0
        if let a = yearBuilt, let b = subjectYearBuilt {
            ageFactor = 1 + min(ageCap, max(-ageCap, Double(b - a) * agePerYear))
        }
        let aged = sized * ageFactor
        return Adjusted(time: timed - price, size: sized - timed, age: aged - sized, price: aged)
    }

    /// The `q` quantile of sorted values, linear between order statistics (numpy's default).
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }
}
