/// What the district indicators cover.
public struct IndicatorOptions: Sendable {
    /// Figures computed from fewer records than this are withheld (null, and named in `suppressed`).
    public static let minimumRecords = 5
    /// Active listings on the market longer than this count as long unsold, the vacancy signal (the
    /// series' rule, and the indicators' default).
    public static let longUnsoldDays = 180
    /// The indicators' `long_unsold_days` may be 1 to this (ten years).
    public static let longestUnsoldDays = 3650

    public var level: DistrictLevel = .district
    /// The day the figures are for (days on market are counted to it).
    public var asOf: ISODate
    /// Closed sales are counted from this day to ``asOf``.
    public var periodStart: ISODate
    /// Active listings on the market more than this many days on ``asOf`` are long unsold.
    public var unsoldThresholdDays: Int

    public init(level: DistrictLevel = .district, asOf: ISODate, periodStart: ISODate, unsoldThresholdDays: Int = longUnsoldDays) throws {
        guard periodStart <= asOf else {
            throw RGISError(.invalidValue, "the period starts (\(periodStart.text)) after it ends (\(asOf.text))", at: "parameter since")
        }
        guard (1...Self.longestUnsoldDays).contains(unsoldThresholdDays) else {
            throw RGISError(.invalidValue, "long_unsold_days must be 1–\(Self.longestUnsoldDays), not \(unsoldThresholdDays)", at: "parameter long_unsold_days")
        }
        self.level = level
        self.asOf = asOf
        self.periodStart = periodStart
        self.unsoldThresholdDays = unsoldThresholdDays
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
/// Selected in linear time (a quickselect), not sorted: the series take one per district and month.
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    var a = values
    let mid = a.count / 2
    // Quickselect: afterwards a[mid] is the value a sort would put there, and everything before it is
    // no greater (so the lower middle of an even count is the largest of a[..<mid]).
    var lo = 0, hi = a.count - 1
    while lo < hi {
        let m = lo + (hi - lo) / 2
        // Median of three as the pivot, moved to hi.
        if a[m] < a[lo] { a.swapAt(m, lo) }
        if a[hi] < a[lo] { a.swapAt(hi, lo) }
        if a[m] < a[hi] { a.swapAt(m, hi) }
        let pivot = a[hi]
        var store = lo
        for i in lo..<hi where a[i] < pivot {
            a.swapAt(i, store)
            store += 1
        }
        a.swapAt(store, hi)
        if store == mid { break }
        if store < mid { lo = store + 1 } else { hi = store - 1 }
    }
    if a.count % 2 == 1 { return a[mid] }
    return (a[..<mid].max()! + a[mid]) / 2
}
