/// What the district indicators cover.
public struct IndicatorOptions: Sendable {
    /// Figures computed from fewer records than this are withheld (null, and named in `suppressed`).
    public static let minimumRecords = 5
    /// Active listings on the market longer than this count as long unsold, the vacancy signal.
    public static let longUnsoldDays = 180

    public var level: DistrictLevel = .district
    /// The day the figures are for (days on market are counted to it).
    public var asOf: ISODate
    /// Closed sales are counted from this day to ``asOf``.
    public var periodStart: ISODate

    public init(level: DistrictLevel = .district, asOf: ISODate, periodStart: ISODate) throws {
        guard periodStart <= asOf else {
            throw RGISError(.invalidValue, "the period starts (\(periodStart.text)) after it ends (\(asOf.text))", at: "parameter since")
        }
        self.level = level
        self.asOf = asOf
        self.periodStart = periodStart
    }

    /// Reads a district level, naming the valid ones.
    public static func level(parsing text: String) throws -> DistrictLevel {
        guard let level = DistrictLevel(rawValue: text.lowercased()) else {
            throw RGISError(.invalidValue, "unknown level '\(text)'; levels are \(DistrictLevel.allCases.map(\.rawValue).joined(separator: ", "))", at: "parameter level")
        }
        return level
    }
}

/// The median of some values (the mean of the middle two for an even count), nil when empty.
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
