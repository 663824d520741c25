import Foundation

/// Calendar arithmetic on dates, done on year, month and day (proleptic Gregorian), never on text.
extension ISODate {
    /// The calendar day (`YYYY-MM-DD`) of this date.
    public var day: (year: Int, month: Int, day: Int) {
        let t = Array(text.utf8)
        func number(_ r: Range<Int>) -> Int { r.reduce(0) { $0 * 10 + Int(t[$1] - 0x30) } }
        return (number(0..<4), number(5..<7), number(8..<10))
    }

    /// A calendar day; nil when it does not exist (31 April) or the year is outside 1…9999.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year) else { return nil }
        func pad(_ n: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(n).count)) + String(n) }
        self.init(parsing: "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))")
    }

    /// The same day `months` months away; a day past the target month's end becomes its last day
    /// (31 March − 1 month = 28 or 29 February).
    public func addingMonths(_ months: Int) -> ISODate {
        let (y, m, d) = day
        let index = y * 12 + (m - 1) + months
        let year = index / 12, month = index % 12 + 1
        let clamped = min(d, ISODate.daysIn(month: month, year: year))
        return ISODate(year: year, month: month, day: clamped) ?? self
    }

    /// The same day `years` years away; 29 February becomes 28 February in a common year.
    public func addingYears(_ years: Int) -> ISODate { addingMonths(12 * years) }

    /// Today in UTC.
    public static func today(_ now: Date = Date()) -> ISODate {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: now)
        return ISODate(year: c.year!, month: c.month!, day: c.day!)!
    }
}
