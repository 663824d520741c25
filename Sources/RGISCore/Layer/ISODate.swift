import Foundation

/// An ISO 8601 calendar date, optionally with a time, checked field by field (no time zone database).
public struct ISODate: Hashable, Sendable, Comparable {
    /// The normalised text: `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm:ss` plus the zone as given.
    public let text: String

    public init?(parsing raw: String) {
        let s = raw.trimmingSpaces
        let chars = Array(s.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= chars.count else { return nil }
            var v = 0
            for i in range {
                guard chars[i] >= 0x30, chars[i] <= 0x39 else { return nil }
                v = v * 10 + Int(chars[i] - 0x30)
            }
            return v
        }
        guard chars.count >= 10, chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-"),
              let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
              (1...12).contains(month), day >= 1, day <= ISODate.daysIn(month: month, year: year)
        else { return nil }
        if chars.count == 10 {
            text = s
            return
        }
        guard chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: " "),
              let hour = digits(11..<13), chars.count >= 16, chars[13] == UInt8(ascii: ":"),
              let minute = digits(14..<16), hour < 24, minute < 60
        else { return nil }
        var rest = chars[16...]
        if rest.first == UInt8(ascii: ":") {
            guard let second = digits(17..<19), second < 61 else { return nil }
            rest = chars[19...]
            if rest.first == UInt8(ascii: ".") {
                rest = rest.dropFirst().drop { $0 >= 0x30 && $0 <= 0x39 }
            }
        }
        let zone = String(decoding: rest, as: UTF8.self)
        guard zone.isEmpty || zone == "Z" || zone.range(of: #"^[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil
        else { return nil }
        text = String(s.prefix(10)) + "T" + String(decoding: chars[11...], as: UTF8.self)
    }

    public static func < (a: ISODate, b: ISODate) -> Bool { a.text < b.text }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
