import RGISCore
import RGISStore

/// Demand by client segment per district, with small-cell and complementary withholding.
extension QueryEngine {
    /// Clients with an active demand per district and segment value (a client counts in each district
    /// where it has one). Counts of 1 to 4 clients are withheld, and more beside them (``Suppression``)
    /// so that none can be recomputed from what is shown: across a table's rows and columns, across
    /// the levels (a district's counts beside its subdistricts'), and across the four segment fields
    /// (a district's total is the same in each, so it is shown or withheld in all four alike).
    public func segments(level: DistrictLevel, by: ClientSegment) async throws -> DemandSegments {
        let all = try await figureCache.value("segments", version: try await features.marketChangeToken()) {
            try await computeAllSegments()
        }
        guard let table = all.first(where: { $0.level == level && $0.by == by }) else {
            throw RGISError(.notFound, "no segments table for \(level.rawValue) by \(by.rawValue)")
        }
        return table
    }

    /// Every level × segment field, withheld together.
    func computeAllSegments() async throws -> [DemandSegments] {
        // The tables as counted: a row per district, a column per segment value.
        struct Counted {
            var level: DistrictLevel
            var by: ClientSegment
            var segments: [String]
            var districts: [MarketHistory.District]
            var table: [[Int]]
        }
        var counted: [Counted] = []
        var parents: [String: String] = [:]
        for level in DistrictLevel.allCases {
            for district in try await features.districts(level: level) {
                if let parent = district.properties["parent_id"]?.stringValue { parents[district.id] = parent }
            }
            for by in ClientSegment.allCases {
                let counts = try await features.segmentCounts(level: level, by: by)
                // A value recorded as the word "unknown" is counted with the values not recorded.
                var values = Set<String>()
                var unknown = false
                for cell in counts.cells {
                    if let s = cell.segment, s != DemandSegments.unknown { values.insert(s) } else { unknown = true }
                }
                let segments = Self.order(Array(values), by) + (unknown ? [DemandSegments.unknown] : [])
                let column = Dictionary(uniqueKeysWithValues: segments.enumerated().map { ($1, $0) })
                let rowOf = Dictionary(counts.districts.enumerated().map { ($1.fid, $0) }, uniquingKeysWith: { a, _ in a })
                var table = Array(repeating: Array(repeating: 0, count: segments.count), count: counts.districts.count)
                for cell in counts.cells {
                    guard let r = rowOf[cell.district], let c = column[cell.segment ?? DemandSegments.unknown] else { continue }
                    table[r][c] += cell.clients
                }
                counted.append(Counted(level: level, by: by, segments: segments, districts: counts.districts, table: table))
            }
        }

        // One system of counts: per table, its cells, each row's total and the column sums; the sums
        // of rows, columns and children; the totals shared by the four fields' tables of a level.
        var system = Suppression()
        var cellIndex: [[[Int]]] = []
        var totalIndex: [String: Int] = [:]   // "level|district id" → the shared total
        var allIndex: [DistrictLevel: Int] = [:]
        var columnSums: [[Int]] = []
        for t in counted {
            var rows: [[Int]] = []
            for (r, district) in t.districts.enumerated() {
                let cells = t.table[r].map { system.count($0) }
                let key = "\(t.level.rawValue)|\(district.id)"
                let total = totalIndex[key] ?? system.count(t.table[r].reduce(0, +))
                totalIndex[key] = total
                system.sum(total, of: cells)
                rows.append(cells)
            }
            let all = allIndex[t.level] ?? system.count(t.table.reduce(0) { $0 + $1.reduce(0, +) })
            allIndex[t.level] = all
            let sums = t.segments.indices.map { c in system.count(t.table.reduce(0) { $0 + $1[c] }) }
            for c in t.segments.indices { system.sum(sums[c], of: rows.map { $0[c] }) }
            system.sum(all, of: t.districts.map { totalIndex["\(t.level.rawValue)|\($0.id)"]! })
            system.sum(all, of: sums)
            cellIndex.append(rows)
            columnSums.append(sums)
        }
        // A district's cells beside its children's, segment by segment, and its total beside theirs.
        for (i, child) in counted.enumerated() {
            guard let parentLevel = DistrictLevel.allCases.firstIndex(of: child.level).flatMap({ $0 > 0 ? DistrictLevel.allCases[$0 - 1] : nil }),
                  let p = counted.firstIndex(where: { $0.level == parentLevel && $0.by == child.by }) else { continue }
            let parent = counted[p]
            for (pr, district) in parent.districts.enumerated() {
                let children = child.districts.indices.filter { parents[child.districts[$0].id] == district.id }
                guard !children.isEmpty else { continue }
                for (pc, segment) in parent.segments.enumerated() {
                    guard let cc = child.segments.firstIndex(of: segment) else { continue }
                    system.sum(cellIndex[p][pr][pc], of: children.map { cellIndex[i][$0][cc] })
                }
                if child.by == .ageBand {
                    system.sum(totalIndex["\(parent.level.rawValue)|\(district.id)"]!,
                               of: children.map { totalIndex["\(child.level.rawValue)|\(child.districts[$0].id)"]! })
                }
            }
        }
        let withheld = system.withhold().withheld

        return counted.enumerated().map { i, t in
            func row(cells: [Int], total: Int, id: String, name: String?) -> DemandSegments.Row {
                DemandSegments.Row(id: id, name: name, cells: cells.map { withheld[$0] ? nil : system.values[$0] },
                                   total: withheld[total] ? nil : system.values[total])
            }
            return DemandSegments(level: t.level, by: t.by, segments: t.segments,
                                  districts: t.districts.enumerated().map { r, d in
                                      row(cells: cellIndex[i][r], total: totalIndex["\(t.level.rawValue)|\(d.id)"]!, id: d.id, name: d.name)
                                  },
                                  allDistricts: row(cells: columnSums[i], total: allIndex[t.level]!, id: "all", name: "All districts"))
        }
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
