import RGISCore
import RGISStore

/// Demand by client segment per district, with small-cell and complementary withholding.
extension QueryEngine {
    /// Clients with an active demand per district and segment value (a client counts in each district
    /// where it has one). Cells and totals of 1 to 4 clients are withheld; then, until none is left,
    /// every row (a district's cells and its total) and every column (a segment over the districts
    /// and its sum) with exactly one withheld cell has its smallest other non-zero cell withheld too
    /// (a zero if no other is left), so that no withheld cell is a total minus the cells shown.
    public func segments(level: DistrictLevel, by: ClientSegment) async throws -> DemandSegments {
        try await figureCache.value("segments|\(level.rawValue)|\(by.rawValue)", version: try await features.marketVersion()) {
            try await computeSegments(level: level, by: by)
        }
    }

    func computeSegments(level: DistrictLevel, by: ClientSegment) async throws -> DemandSegments {
        let counts = try await features.segmentCounts(level: level, by: by)
        var values = Set<String>()
        var unknown = false
        for cell in counts.cells { if let s = cell.segment { values.insert(s) } else { unknown = true } }
        let segments = Self.order(Array(values), by) + (unknown ? [DemandSegments.unknown] : [])
        let column = Dictionary(uniqueKeysWithValues: segments.enumerated().map { ($1, $0) })
        let rowOf = Dictionary(uniqueKeysWithValues: counts.districts.enumerated().map { ($1.fid, $0) })

        // The table: a row per district and the sums' row last; a column per segment and the total last.
        let width = segments.count + 1, height = counts.districts.count + 1
        var table = Array(repeating: Array(repeating: 0, count: width), count: height)
        for cell in counts.cells {
            guard let r = rowOf[cell.district], let c = column[cell.segment ?? DemandSegments.unknown] else { continue }
            table[r][c] += cell.clients
        }
        for r in 0..<(height - 1) { table[r][width - 1] = table[r][0..<(width - 1)].reduce(0, +) }
        for c in 0..<width { table[height - 1][c] = (0..<(height - 1)).reduce(0) { $0 + table[$1][c] } }
        let withheld = Self.withhold(table)

        func row(_ r: Int, id: String, name: String?) -> DemandSegments.Row {
            DemandSegments.Row(id: id, name: name, cells: (0..<(width - 1)).map { withheld[r][$0] ? nil : table[r][$0] },
                               total: withheld[r][width - 1] ? nil : table[r][width - 1])
        }
        return DemandSegments(level: level, by: by, segments: segments,
                              districts: counts.districts.enumerated().map { row($0, id: $1.id, name: $1.name) },
                              allDistricts: row(height - 1, id: "all", name: "All districts"))
    }

    /// Which cells of a table with its sums (last row and column) are withheld.
    static func withhold(_ table: [[Int]]) -> [[Bool]] {
        let minimum = IndicatorOptions.minimumRecords
        var withheld = table.map { $0.map { $0 > 0 && $0 < minimum } }
        let height = table.count, width = table.first?.count ?? 0
        let lines: [[(Int, Int)]] = (0..<height).map { r in (0..<width).map { (r, $0) } } + (0..<width).map { c in (0..<height).map { ($0, c) } }
        var changed = true
        while changed {
            changed = false
            for line in lines where line.filter({ withheld[$0.0][$0.1] }).count == 1 {
                let open = line.filter { !withheld[$0.0][$0.1] }
                let pick = open.filter { table[$0.0][$0.1] > 0 }.min { table[$0.0][$0.1] < table[$1.0][$1.1] } ?? open.first
                guard let pick else { continue }
                withheld[pick.0][pick.1] = true
                changed = true
            }
        }
        return withheld
    }

    /// Segment values in their natural order where there is one (lifecycle stages, age bands), else by name.
    static func order(_ values: [String], _ by: ClientSegment) -> [String] {
        let natural: [String] = by == .lifecycleStage
            ? ["initial_contact", "viewing", "negotiation", "purchase", "after_sale", "lost"] : []
        return values.sorted { a, b in
            let i = natural.firstIndex(of: a) ?? Int.max, j = natural.firstIndex(of: b) ?? Int.max
            return i != j ? i < j : a < b
        }
    }
}
