import Foundation

/// A calendar month, `YYYY-MM`.
public struct YearMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init?(year: Int, month: Int) {
        guard (1...9999).contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// `YYYY-MM` exactly.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]) else { return nil }
        self.init(year: year, month: month)
    }

    /// The month a day falls in.
    public init(_ date: ISODate) {
        let (y, m, _) = date.day
        year = y
        month = m
    }

    public var text: String { ISODate(year: year, month: month, day: 1)!.text.prefix(7).description }
    public var description: String { text }
    public var firstDay: ISODate { ISODate(year: year, month: month, day: 1)! }
    public var lastDay: ISODate { ISODate(year: year, month: month, day: ISODate.daysIn(month: month, year: year))! }

    /// The month `n` months away.
    public func adding(_ n: Int) -> YearMonth {
        let index = year * 12 + (month - 1) + n
        return YearMonth(year: index / 12, month: index % 12 + 1) ?? self
    }

    /// Months from `a` to `b` (negative when `b` is earlier).
    public static func months(from a: YearMonth, to b: YearMonth) -> Int { (b.year - a.year) * 12 + (b.month - a.month) }

    public static func < (a: YearMonth, b: YearMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }
}

/// What a request for monthly district series covers.
public struct SeriesOptions: Sendable {
    /// Months shown when `from` is not given: two years to `to`.
    public static let defaultMonths = 24
    /// The longest range one request may ask for.
    public static let maximumMonths = 240

    public var level: DistrictLevel
    /// One district's id, or nil for every district of the level.
    public var district: String?
    public var from: YearMonth
    public var to: YearMonth

    public init(level: DistrictLevel, district: String? = nil, from: YearMonth, to: YearMonth) throws {
        guard from <= to else {
            throw RGISError(.invalidValue, "the series starts (\(from)) after it ends (\(to))", at: "parameter from")
        }
        guard YearMonth.months(from: from, to: to) < Self.maximumMonths else {
            throw RGISError(.invalidValue, "at most \(Self.maximumMonths) months at a time (\(from) to \(to) is \(YearMonth.months(from: from, to: to) + 1))", at: "parameter from")
        }
        self.level = level
        self.district = district
        self.from = from
        self.to = to
    }

    /// Every month shown, oldest first.
    public var months: [YearMonth] { (0...YearMonth.months(from: from, to: to)).map { from.adding($0) } }

    /// Reads a `YYYY-MM` parameter, naming it when it is not one.
    public static func month(_ text: String?, parameter: String) throws -> YearMonth? {
        guard let text else { return nil }
        guard let month = YearMonth(parsing: text) else {
            throw RGISError(.malformedInput, "'\(text)' is not a month; write YYYY-MM (2026-03)", at: "parameter \(parameter)")
        }
        return month
    }
}

/// The figures of a monthly series, in the order they are written (JSON and CSV columns).
public enum SeriesFigure: String, CaseIterable, Sendable {
    case newListings = "new_listings"
    case closedSales = "closed_sales"
    case activeInventory = "active_inventory"
    case medianListPricePerM2 = "median_list_price_per_m2"
    case medianClosePricePerM2 = "median_close_price_per_m2"
    case medianDaysOnMarket = "median_days_on_market"
    case priceCutShare = "price_cut_share"
    /// Active listings at month end listed more than 180 days before it, as a share of them.
    case longUnsoldShare = "long_unsold_share"
    case monthsOfSupply = "months_of_supply"
    case absorptionRate = "absorption_rate"
    case activeDemands = "active_demands"
    case newDemands = "new_demands"
    case medianBudget = "median_budget"
    case demandSupplyRatio = "demand_supply_ratio"
}

/// Monthly series of a level's districts, written as JSON or CSV.
public struct MarketSeries: Sendable {
    public struct Month: Sendable {
        public var month: YearMonth
        /// Every figure, null where undefined or withheld.
        public var values: [SeriesFigure: JSONValue]
        /// Each figure's change from the same month a year before, as a fraction of it (null where
        /// either is null or withheld, or the year before is zero).
        public var yearOverYear: [SeriesFigure: JSONValue]
        /// The withheld figures, and `yoy.<figure>` for withheld changes.
        public var suppressed: [String]
        public init(month: YearMonth, values: [SeriesFigure: JSONValue], yearOverYear: [SeriesFigure: JSONValue], suppressed: [String]) {
            self.month = month
            self.values = values
            self.yearOverYear = yearOverYear
            self.suppressed = suppressed
        }
    }

    public struct District: Sendable {
        public var id: String
        public var name: String?
        public var months: [Month]
        public init(id: String, name: String?, months: [Month]) { self.id = id; self.name = name; self.months = months }
    }

    public var level: DistrictLevel
    public var from: YearMonth
    public var to: YearMonth
    public var districts: [District]

    public init(level: DistrictLevel, from: YearMonth, to: YearMonth, districts: [District]) {
        self.level = level
        self.from = from
        self.to = to
        self.districts = districts
    }

    /// `{"level", "from", "to", "districts": [{"id", "name", "months": [{"month", <figures>, "yoy": {…}, "suppressed": […]}]}]}`.
    public var json: JSONValue {
        .object([
            "level": .string(level.rawValue), "from": .string(from.text), "to": .string(to.text),
            "districts": .array(districts.map { d in
                .object([
                    "id": .string(d.id), "name": d.name.map(JSONValue.string) ?? .null,
                    "months": .array(d.months.map { m in
                        var o: [String: JSONValue] = ["month": .string(m.month.text)]
                        for figure in SeriesFigure.allCases { o[figure.rawValue] = m.values[figure] ?? .null }
                        o["yoy"] = .object(Dictionary(uniqueKeysWithValues: SeriesFigure.allCases.map { ($0.rawValue, m.yearOverYear[$0] ?? .null) }))
                        o["suppressed"] = .array(m.suppressed.map(JSONValue.string))
                        return .object(o)
                    }),
                ])
            }),
        ])
    }

    /// One row per district and month: `district_id, district_name, month`, the figures, each
    /// figure's year-over-year change (`<figure>_yoy`) and the withheld names (`;`-separated). Empty
    /// cells are null or withheld.
    public var csv: String {
        let figures = SeriesFigure.allCases.map(\.rawValue)
        var out = (["district_id", "district_name", "month"] + figures + figures.map { $0 + "_yoy" } + ["suppressed"]).joined(separator: ",") + "\r\n"
        let cell = CSVText.cell
        for d in districts {
            for m in d.months {
                let row = [CSVText.field(d.id), CSVText.field(d.name ?? ""), m.month.text]
                    + SeriesFigure.allCases.map { cell(m.values[$0]) }
                    + SeriesFigure.allCases.map { cell(m.yearOverYear[$0]) }
                    + [CSVText.field(m.suppressed.joined(separator: ";"))]
                out += row.joined(separator: ",") + "\r\n"
            }
        }
        return out
    }
}

/// Writing CSV fields (RFC 4180): quoted when they hold a comma, quote or line break.
public enum CSVText {
    /// Characters that make a spreadsheet read a cell as a formula when they begin it.
    static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    /// Text as a cell: quoted where CSV needs it, and a text that a spreadsheet would take for a
    /// formula (`=HYPERLINK(…)`, `+1-2`, `@SUM(…)`) written after an apostrophe, which spreadsheets
    /// show as text; RGIS's own CSV import takes the apostrophe off again (``unneutralised(_:)``).
    public static func field(_ s: String) -> String {
        quoted(s.first.map(formulaStarts.contains) == true ? "'" + s : s)
    }

    /// A cell as written, with a neutralising apostrophe taken off.
    public static func unneutralised(_ s: String) -> String {
        guard s.hasPrefix("'"), let second = s.dropFirst().first, formulaStarts.contains(second) else { return s }
        return String(s.dropFirst())
    }

    private static func quoted(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A value as a cell: empty for none or null, text as it is, numbers as JSON writes them, anything
    /// nested as its JSON text.
    public static func cell(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return ""
        case .string(let s)?: return field(s)
        case let other?:
            // Numbers (a negative one begins with "-") and nested JSON are data, not text.
            var out = ""
            other.write(to: &out)
            return quoted(out)
        }
    }
}

/// The client field demand is broken down by (the segments the clients table records).
public enum ClientSegment: String, CaseIterable, Sendable {
    case ageBand = "age_band"
    case household
    case incomeBand = "income_band"
    case lifecycleStage = "lifecycle_stage"

    public static func parsing(_ text: String) throws -> ClientSegment {
        guard let segment = ClientSegment(rawValue: text) else {
            throw RGISError(.malformedInput, "unknown segment '\(text)'; segments are \(allCases.map(\.rawValue).joined(separator: ", "))", at: "parameter by")
        }
        return segment
    }
}

/// Clients with active demand per district and segment, small cells withheld (with complementary
/// cells, so that no withheld cell follows from a total).
public struct DemandSegments: Sendable {
    /// The label of clients whose field is not recorded.
    public static let unknown = "unknown"

    public struct Row: Sendable {
        public var id: String
        public var name: String?
        /// Clients in each segment (null where withheld), in ``DemandSegments/segments`` order.
        public var cells: [Int?]
        /// Clients with active demand in the district (null where withheld).
        public var total: Int?
        public init(id: String, name: String?, cells: [Int?], total: Int?) { self.id = id; self.name = name; self.cells = cells; self.total = total }
    }

    public var level: DistrictLevel
    public var by: ClientSegment
    public var segments: [String]
    public var districts: [Row]
    /// The districts' sums (a client with demand in two districts counts in each).
    public var allDistricts: Row

    public init(level: DistrictLevel, by: ClientSegment, segments: [String], districts: [Row], allDistricts: Row) {
        self.level = level
        self.by = by
        self.segments = segments
        self.districts = districts
        self.allDistricts = allDistricts
    }

    private func json(_ row: Row) -> JSONValue {
        var cells: [String: JSONValue] = [:]
        var suppressed: [JSONValue] = []
        for (segment, n) in zip(segments, row.cells) {
            cells[segment] = n.map { .int(Int64($0)) } ?? .null
            if n == nil { suppressed.append(.string(segment)) }
        }
        if row.total == nil { suppressed.append(.string("clients")) }
        return .object(["id": .string(row.id), "name": row.name.map(JSONValue.string) ?? .null,
                        "clients": row.total.map { .int(Int64($0)) } ?? .null, "segments": .object(cells), "suppressed": .array(suppressed)])
    }

    /// `{"level", "by", "segments": [...], "districts": [{"id", "name", "clients", "segments": {...}, "suppressed"}], "all_districts": {...}}`.
    public var json: JSONValue {
        .object(["level": .string(level.rawValue), "by": .string(by.rawValue), "segments": .array(segments.map(JSONValue.string)),
                 "districts": .array(districts.map(json)), "all_districts": json(allDistricts)])
    }

    /// A row per district and the all-districts row last: `district_id, district_name, clients`, a
    /// column per segment; withheld cells empty.
    public var csv: String {
        var out = (["district_id", "district_name", "clients"] + segments.map(CSVText.field)).joined(separator: ",") + "\r\n"
        for row in districts + [allDistricts] {
            out += ([CSVText.field(row.id), CSVText.field(row.name ?? ""), row.total.map(String.init) ?? ""]
                    + row.cells.map { $0.map(String.init) ?? "" }).joined(separator: ",") + "\r\n"
        }
        return out
    }
}
