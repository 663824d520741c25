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

    /// Days from 1970-01-01 to this date's calendar day (negative before it).
    public var dayNumber: Int {
        let (y, m, d) = day
        return Self.dayNumber(year: y, month: m, day: d)
    }

    /// The day number of the calendar day a text starts with (`YYYY-MM-DD`, a time may follow), read
    /// without building a date (for long loops over stored dates); nil when it does not start with one.
    public static func dayNumber(prefixOf text: String) -> Int? {
        var digits = [Int](repeating: 0, count: 8)
        var i = 0, k = 0
        for b in text.utf8 {
            if i == 10 { break }
            if i == 4 || i == 7 {
                guard b == UInt8(ascii: "-") else { return nil }
            } else {
                guard b >= 0x30, b <= 0x39 else { return nil }
                digits[k] = Int(b - 0x30)
                k += 1
            }
            i += 1
        }
        guard i == 10 else { return nil }
        let y = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
        let m = digits[4] * 10 + digits[5], d = digits[6] * 10 + digits[7]
        guard (1...12).contains(m), d >= 1, d <= daysIn(month: m, year: y) else { return nil }
        return dayNumber(year: y, month: m, day: d)
    }

    /// Days from 1970-01-01 to a calendar day (proleptic Gregorian).
    public static func dayNumber(year y0: Int, month m: Int, day d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The calendar day `dayNumber` days from 1970-01-01; nil outside years 1…9999.
    public init?(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let d = dayOfYear - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yearOfEra + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// The calendar day `days` days away (the time of day, if any, is dropped).
    public func addingDays(_ days: Int) -> ISODate { ISODate(dayNumber: dayNumber + days) ?? self }

    /// Today in UTC.
    public static func today(_ now: Date = Date()) -> ISODate {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: now)
        return ISODate(year: c.year!, month: c.month!, day: c.day!)!
    }
}
