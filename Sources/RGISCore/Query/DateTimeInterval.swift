/// OGC API `datetime`: an instant (`2024-05-01`, `2024-05-01T12:00:00Z`) or an interval with open ends
/// (`2024-01-01/2024-06-30`, `../2024-06-30`, `2024-01-01/..`).
public struct DateTimeInterval: Sendable, Equatable {
    /// Nil: open.
    public let start: ISODate?
    public let end: ISODate?

    public init(parsing text: String) throws {
        let bad = { (what: String) in
            RGISError(.malformedInput, "datetime '\(text)': \(what); use an RFC 3339 date or date-time, or an interval start/end with .. for an open end", at: "parameter datetime")
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        func instant(_ s: String) throws -> ISODate? {
            if s == ".." || s.isEmpty { return nil }
            guard let d = ISODate(parsing: s) else { throw bad("'\(s)' is not a date") }
            return d
        }
        switch parts.count {
        case 1:
            guard let d = try instant(parts[0]) else { throw bad("an instant cannot be open") }
            start = d
            end = d
        case 2:
            start = try instant(parts[0])
            end = try instant(parts[1])
            if start == nil && end == nil { throw bad("both ends are open") }
            if let s = start, let e = end, s.text.prefix(10) > e.text.prefix(10) { throw bad("the start is after the end") }
        default:
            throw bad("more than one '/'")
        }
    }

    /// The first day (inclusive) and last day (inclusive) as `YYYY-MM-DD`, for date columns.
    public var dayRange: (from: String?, to: String?) {
        (start.map { String($0.text.prefix(10)) }, end.map { String($0.text.prefix(10)) })
    }
}
