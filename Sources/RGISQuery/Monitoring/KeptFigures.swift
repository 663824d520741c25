import RGISCore

/// What a series request may reuse (``QueryEngine/series(_:reusing:)``).
public enum SeriesReuse: Sendable {
    /// Computed afresh from the rows; nothing kept.
    case none
    /// The kept series of districts whose stamp has not moved; the others computed and kept.
    case kept
    /// This engine's figures at the same market version, else as `.kept`.
    case all
}

/// A district's monthly figures as the store keeps them (``KeptSeries``): a header naming the figures
/// in order, then one line a month, `YYYY-MM`, the values (`n` null, `i` an integer, `d` a number as
/// Swift writes it, which reads back exactly) and the withheld figures, tab-separated. Figures kept
/// under another header (an older version's list) are not read: they are computed again.
enum KeptFigures {
    static let header = "rgis-series-1\t" + SeriesFigure.allCases.map(\.rawValue).joined(separator: ",")

    static func encode(_ months: [YearMonth: DistrictFigures]) -> String {
        var out = header
        for month in months.keys.sorted() {
            let f = months[month]!
            let values = SeriesFigure.allCases.map { figure -> String in
                switch f.values[figure.rawValue] {
                case .int(let i)?: return "i\(i)"
                case .double(let d)?: return "d\(d)"
                default: return "n"
                }
            }
            out += "\n\(month.text)\t\(values.joined(separator: ","))\t\(f.suppressed.sorted().joined(separator: ","))"
        }
        return out
    }

    static func decode(_ text: String) -> [YearMonth: DistrictFigures]? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        guard lines.popFirst().map(String.init) == header else { return nil }
        let figures = SeriesFigure.allCases
        var months: [YearMonth: DistrictFigures] = [:]
        for line in lines {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard parts.count == 3, let month = YearMonth(parsing: String(parts[0])) else { return nil }
            let tokens = parts[1].split(separator: ",")
            guard tokens.count == figures.count else { return nil }
            var f = DistrictFigures()
            for (figure, token) in zip(figures, tokens) {
                switch token.first {
                case "i": guard let i = Int64(token.dropFirst()) else { return nil }; f.values[figure.rawValue] = .int(i)
                case "d": guard let d = Double(token.dropFirst()) else { return nil }; f.values[figure.rawValue] = .double(d)
                default: f.values[figure.rawValue] = .null
                }
            }
            f.suppressed = Set(parts[2].split(separator: ",").map(String.init))
            months[month] = f
        }
        return months
    }
}
