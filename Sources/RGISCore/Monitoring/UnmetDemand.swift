/// What the unmet-demand table covers: a level's districts, and the bands its cells are cut by.
///
/// A cell is wanted type × bedrooms × size band × budget band. A demand is counted in one cell: its
/// first wanted type ("any" when it names none), its least bedrooms ("4+" from four), the band of its
/// least living area and the band of its top budget ("any" where it gives none). A listing is counted
/// in the cell of its own type, bedrooms, living area and list price ("unknown" where it has none).
public struct UnmetDemandOptions: Sendable, Hashable {
    /// The default band edges: living area in m², price in the market's currency.
    public static let defaultSizeEdgesM2: [Double] = [40, 60, 80, 120]
    public static let defaultBudgetEdges: [Double] = [200_000, 400_000, 700_000, 1_000_000]
    /// The default number of unmet cells named per district.
    public static let defaultTop = 5

    public var level: DistrictLevel
    /// Ascending band edges: n edges make n + 1 bands, `<e1`, `e1–e2`, …, `≥en`.
    public var sizeEdgesM2: [Double]
    public var budgetEdges: [Double]
    /// How many of a district's largest unmet cells `top_unmet` names.
    public var top: Int

    public init(level: DistrictLevel = .district, sizeEdgesM2: [Double] = defaultSizeEdgesM2,
                budgetEdges: [Double] = defaultBudgetEdges, top: Int = defaultTop) throws {
        try Self.check(sizeEdgesM2, parameter: "size_bands")
        try Self.check(budgetEdges, parameter: "budget_bands")
        guard (1...100).contains(top) else {
            throw RGISError(.invalidValue, "top must be 1–100, not \(top)", at: "parameter top")
        }
        self.level = level
        self.sizeEdgesM2 = sizeEdgesM2
        self.budgetEdges = budgetEdges
        self.top = top
    }

    /// `level` (default district) and `top` (default 5), with the bands of whoever runs the table.
    public init(_ p: RequestParameters, bands: UnmetBands) throws {
        try self.init(level: try IndicatorOptions.level(parsing: p["level"] ?? "district"), sizeEdgesM2: bands.sizeEdgesM2,
                      budgetEdges: bands.budgetEdges, top: try p.int("top") ?? Self.defaultTop)
    }

    static func edges(_ text: String?, parameter: String) throws -> [Double]? {
        guard let text else { return nil }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw RGISError(.invalidValue, "\(parameter) takes numbers separated by commas, not '\(part)'", at: "parameter \(parameter)")
            }
            return v
        }
    }

    static func check(_ edges: [Double], parameter: String) throws {
        guard (1...12).contains(edges.count) else {
            throw RGISError(.invalidValue, "\(parameter) takes 1 to 12 edges, not \(edges.count)", at: "parameter \(parameter)")
        }
        guard edges.allSatisfy({ $0.isFinite && $0 > 0 && $0 < 1e15 }), zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw RGISError(.invalidValue, "\(parameter) must be positive and strictly ascending", at: "parameter \(parameter)")
        }
        // Bands are named by their edges as written (one decimal): two edges written alike would merge two bands.
        let written = edges.map(MatchScore.number)
        guard Set(written).count == written.count else {
            throw RGISError(.invalidValue, "\(parameter): edges closer than 0.1 are written alike (\(written.joined(separator: ","))); use edges 0.1 or more apart",
                            at: "parameter \(parameter)")
        }
    }

    /// The band a value falls in: `<40`, `40-60`, `120+`; `missing` where there is no value.
    public static func band(_ value: Double?, edges: [Double], missing: String) -> String {
        guard let value else { return missing }
        guard let upper = edges.firstIndex(where: { value < $0 }) else { return "\(MatchScore.number(edges.last!))+" }
        return upper == 0 ? "<\(MatchScore.number(edges[0]))" : "\(MatchScore.number(edges[upper - 1]))-\(MatchScore.number(edges[upper]))"
    }

    /// Every band of some edges, in order (for tables that list them).
    public static func bands(_ edges: [Double]) -> [String] {
        ["<\(MatchScore.number(edges[0]))"] + zip(edges, edges.dropFirst()).map { "\(MatchScore.number($0))-\(MatchScore.number($1))" }
            + ["\(MatchScore.number(edges.last!))+"]
    }

    /// The cell a demand is counted in.
    public func cell(demand c: DemandCriteria) -> UnmetCell {
        UnmetCell(type: c.propertyTypes.first ?? "any", bedrooms: c.bedroomsMin.map(Self.bedrooms) ?? "any",
                  size: Self.band(c.areaMinM2, edges: sizeEdgesM2, missing: "any"),
                  budget: Self.band(c.budgetMax, edges: budgetEdges, missing: "any"))
    }

    /// The cell a listing is counted in.
    public func cell(listing l: ListingFacts) -> UnmetCell {
        UnmetCell(type: l.propertyType ?? "unknown", bedrooms: l.bedrooms.map(Self.bedrooms) ?? "unknown",
                  size: Self.band(l.livingAreaM2, edges: sizeEdgesM2, missing: "unknown"),
                  budget: Self.band(l.price, edges: budgetEdges, missing: "unknown"))
    }

    static func bedrooms(_ n: Int) -> String { n >= 4 ? "4+" : String(max(n, 0)) }
}

/// The band edges of an unmet-demand table, chosen once by whoever runs the table (a server's operator,
/// the CLI's user), never per request: tables of other bands side by side would give a withheld cell
/// away by difference.
public struct UnmetBands: Sendable, Hashable {
    public var sizeEdgesM2: [Double]
    public var budgetEdges: [Double]

    public init(sizeEdgesM2: [Double] = UnmetDemandOptions.defaultSizeEdgesM2, budgetEdges: [Double] = UnmetDemandOptions.defaultBudgetEdges) throws {
        try UnmetDemandOptions.check(sizeEdgesM2, parameter: "size_bands")
        try UnmetDemandOptions.check(budgetEdges, parameter: "budget_bands")
        self.sizeEdgesM2 = sizeEdgesM2
        self.budgetEdges = budgetEdges
    }

    public init() {
        sizeEdgesM2 = UnmetDemandOptions.defaultSizeEdgesM2
        budgetEdges = UnmetDemandOptions.defaultBudgetEdges
    }

    /// Edges as written on a command line (`40,60,80`), nil when not given.
    public init(size: String?, budget: String?) throws {
        try self.init(sizeEdgesM2: try UnmetDemandOptions.edges(size, parameter: "size_bands") ?? UnmetDemandOptions.defaultSizeEdgesM2,
                      budgetEdges: try UnmetDemandOptions.edges(budget, parameter: "budget_bands") ?? UnmetDemandOptions.defaultBudgetEdges)
    }
}

/// One cell of the unmet-demand table.
public struct UnmetCell: Sendable, Hashable, Comparable {
    public var type: String
    public var bedrooms: String
    public var size: String
    public var budget: String

    public init(type: String, bedrooms: String, size: String, budget: String) {
        self.type = type
        self.bedrooms = bedrooms
        self.size = size
        self.budget = budget
    }

    /// Type, then bedrooms, size and budget as numbers where they are (`<40` before `40-60`).
    public static func < (a: UnmetCell, b: UnmetCell) -> Bool {
        if a.type != b.type { return a.type < b.type }
        if a.bedrooms != b.bedrooms { return order(a.bedrooms) < order(b.bedrooms) }
        if a.size != b.size { return order(a.size) < order(b.size) }
        return order(a.budget) < order(b.budget)
    }

    /// A band's place: by its lower edge (`<x` first), then words.
    private static func order(_ band: String) -> (Int, Double, String) {
        if band.hasPrefix("<") { return (0, Double(band.dropFirst()) ?? 0, band) }
        if let low = Double(band.split(separator: "-").first.map(String.init)?.replacingOccurrences(of: "+", with: "") ?? "") { return (1, low, band) }
        return (2, 0, band)
    }
}

/// How well the active listings meet one demand, by the matching rule (``MatchScore``): a listing
/// *fits* inside the demand's search area, of a wanted type, with the bedrooms, at most 10 % over the
/// budget's top and within 10 % of the wanted area range. A demand is served by a full fit (within the
/// budget and the range themselves), served only by a near fit (every fit needs the 10 % stretch), or
/// unmet (no listing fits).
public enum FitGrade: Int, Sendable, Comparable {
    case unmet = 0, nearFitOnly = 1, served = 2

    public static func < (a: FitGrade, b: FitGrade) -> Bool { a.rawValue < b.rawValue }
}
