import Foundation

/// Valid time: the day something became or stopped being true on the ground (`YYYY-MM-DD`).
/// Intervals are half-open, `[valid_from, valid_to)`: a parcel split on 2021-05-01 is gone on that day.
public struct ValidDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let text: String

    public init(parsing raw: String, field: String = "date") throws {
        guard let date = ISODate(parsing: raw), date.text.count == 10 else {
            throw RGISError(.malformedInput, "\(field) '\(raw)' is not a date (YYYY-MM-DD)", at: "parameter \(field)")
        }
        text = date.text
    }

    public var description: String { text }
    public static func < (a: ValidDate, b: ValidDate) -> Bool { a.text < b.text }
}

/// Record time: when the register learned something, to the second in UTC (`YYYY-MM-DDThh:mm:ssZ`).
/// A plain date given as a record time means the start of that day, and as a "known at" time its end,
/// so that what was recorded on a day is known on that day.
public struct RecordTime: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let text: String

    public enum DayMeaning: Sendable { case startOfDay, endOfDay }

    public init(parsing raw: String, field: String, day: DayMeaning) throws {
        let s = raw.trimmingCharacters(in: .whitespaces)
        if let date = ISODate(parsing: s), date.text.count == 10 {
            self.init(text: date.text + (day == .startOfDay ? "T00:00:00Z" : "T23:59:59Z"))
            return
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var parsed = formatter.date(from: s)
        if parsed == nil {
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            parsed = formatter.date(from: s)
        }
        guard let parsed else {
            throw RGISError(.malformedInput, """
                \(field) '\(raw)' is not a date (YYYY-MM-DD) or a time with a zone (YYYY-MM-DDThh:mm:ssZ)
                """, at: "parameter \(field)")
        }
        self.init(parsed)
    }

    public init(_ date: Date) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        self.init(text: formatter.string(from: date))
    }

    private init(text: String) {
        self.text = text
    }

    public static var now: RecordTime { RecordTime(Date()) }
    public var description: String { text }
    public static func < (a: RecordTime, b: RecordTime) -> Bool { a.text < b.text }
}
