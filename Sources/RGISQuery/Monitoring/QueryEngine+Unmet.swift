import RGISCore
import RGISStore

/// Demand that the market cannot serve, per district and cell (``UnmetDemandOptions``).
extension QueryEngine {
    /// One Feature per district of a level (its polygon) with its active demands split by how the
    /// active listings meet them (``FitGrade``: served, near fit only, unmet), its active listings,
    /// each cell's demands, unmet demands and listings, and the largest unmet cells. A demand counts in
    /// the district its search area's centre is placed in, but it is served by any listing in its
    /// search area, across a border too: what its client would be offered.
    ///
    /// Counts of 1 to 4 are withheld, and more beside them (``Suppression``) so that none follows from
    /// what is shown: a district's cells beside its totals, its totals beside each other (served + near
    /// fit + unmet = active), and every count beside its subdistricts' across the levels. The totals
    /// the indicators also publish (active demands, active listings) are withheld exactly where the
    /// indicators withhold them, so that the two answers together reveal nothing either hides.
    public func unmetDemand(_ options: UnmetDemandOptions) async throws -> FeaturePage {
        let key = "unmet|\(options.sizeEdgesM2)|\(options.budgetEdges)|\(options.top)"
        let levels = try await figureCache.value(key, version: try await features.marketChangeToken()) {
            try await computeUnmetDemand(options)
        }
        return levels[DistrictLevel.allCases.firstIndex(of: options.level)!]
    }

    /// Every level's page, in ``DistrictLevel/allCases`` order.
    func computeUnmetDemand(_ options: UnmetDemandOptions) async throws -> [FeaturePage] {
        // Counted, level by level.
        var tables: [UnmetTable] = []
        for level in DistrictLevel.allCases {
            let shapes = try await features.districts(level: level)
            let inputs = try await features.unmetDemandInputs(level: level)
            tables.append(UnmetTable(shapes: shapes, inputs: inputs, options: options))
        }
        // The indicators' own withholding of the totals they publish too.
        let activeListingsShown = Self.withheldAcrossLevels(tables.map { $0.rows.map { ($0.id, $0.parent, $0.listings) } })
        let activeDemandsShown = Self.withheldAcrossLevels(tables.map { $0.rows.map { ($0.id, $0.parent, $0.demands) } })

        var system = Suppression()
        var fixed: [Int: Bool] = [:]
        var index: [[UnmetIndex]] = []
        for (l, table) in tables.enumerated() {
            index.append(table.rows.enumerated().map { r, row in
                var at = UnmetIndex(demands: system.count(row.demands), served: system.count(row.served),
                                    near: system.count(row.near), unmet: system.count(row.unmet), listings: system.count(row.listings))
                fixed[at.demands] = activeDemandsShown[l][r]
                fixed[at.listings] = activeListingsShown[l][r]
                system.sum(at.demands, of: [at.served, at.near, at.unmet])
                for cell in row.cells.keys.sorted() {
                    let c = row.cells[cell]!
                    at.cells[cell] = (system.count(c.demands), system.count(c.unmet), system.count(c.listings))
                }
                let cells = at.cells.keys.sorted().map { at.cells[$0]! }
                system.sum(at.demands, of: cells.map(\.demands))
                system.sum(at.unmet, of: cells.map(\.unmet))
                system.sum(at.listings, of: cells.map(\.listings))
                return at
            })
        }
        // A district's counts beside its children's, cell by cell (a cell a child has and its parent
        // lacks is a zero of the parent's, known to all).
        for level in 1..<tables.count {
            let parentRow = Dictionary(tables[level - 1].rows.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
            var children: [Int: [Int]] = [:]
            for (r, row) in tables[level].rows.enumerated() {
                if let parent = row.parent, let p = parentRow[parent] { children[p, default: []].append(r) }
            }
            for (p, rows) in children {
                let parent = index[level - 1][p], kids = rows.map { index[level][$0] }
                for path in [\UnmetIndex.demands, \.served, \.near, \.unmet, \.listings] {
                    system.sum(parent[keyPath: path], of: kids.map { $0[keyPath: path] })
                }
                for (cell, at) in parent.cells {
                    let parts = kids.compactMap { $0.cells[cell] }
                    system.sum(at.demands, of: parts.map(\.demands))
                    system.sum(at.unmet, of: parts.map(\.unmet))
                    system.sum(at.listings, of: parts.map(\.listings))
                }
            }
        }
        var outcome = system.withhold(fixed: fixed)
        if !outcome.fixedButNeeded.isEmpty {
            // A total the indicators show leaves one cell open beside it: withhold every cell of its sums.
            var also = Set(outcome.withheld.indices.filter { outcome.withheld[$0] })
            for sum in system.sums where sum.contains(where: outcome.fixedButNeeded.contains) { also.formUnion(sum) }
            outcome = system.withhold(also: also, fixed: fixed)
        }
        let withheld = outcome.withheld
        func shown(_ i: Int) -> Int? { withheld[i] ? nil : system.values[i] }

        return tables.enumerated().map { l, table in
            FeaturePage(features: table.rows.enumerated().map { r, row -> StoredFeature in
                let at = index[l][r]
                var feature = row.feature
                var figures = DistrictFigures()
                for (name, i) in [("active_demands", at.demands), ("served_demands", at.served), ("near_fit_demands", at.near),
                                  ("unmet_demands", at.unmet), ("active_listings", at.listings)] {
                    figures.count(name, system.values[i], withheld: withheld[i])
                }
                figures.ratio("unmet_share", "unmet_demands", over: "active_demands", digits: 3)
                for (name, value) in figures.values { feature.properties[name] = value }
                let cells = at.cells.keys.sorted().map { cell -> (UnmetCell, Int?, Int?, Int?) in
                    let i = at.cells[cell]!
                    return (cell, shown(i.demands), shown(i.unmet), shown(i.listings))
                }
                feature.properties["cells"] = .array(cells.map { Self.cellJSON($0.0, demands: $0.1, unmet: $0.2, listings: $0.3) })
                let top = cells.filter { ($0.2 ?? 0) > 0 }
                    .sorted { ($0.2!, $0.1 ?? 0) != ($1.2!, $1.1 ?? 0) ? ($0.2!, $0.1 ?? 0) > ($1.2!, $1.1 ?? 0) : $0.0 < $1.0 }
                    .prefix(options.top)
                feature.properties["top_unmet"] = .array(top.map { Self.cellJSON($0.0, demands: $0.1, unmet: $0.2, listings: $0.3) })
                feature.properties["suppressed"] = .array(figures.suppressed.sorted().map(JSONValue.string))
                return feature
            }, next: nil)
        }
    }

    static func cellJSON(_ cell: UnmetCell, demands: Int?, unmet: Int?, listings: Int?) -> JSONValue {
        .object(["type": .string(cell.type), "bedrooms": .string(cell.bedrooms), "size_m2": .string(cell.size), "budget": .string(cell.budget),
                 "demands": demands.map { .int(Int64($0)) } ?? .null, "unmet": unmet.map { .int(Int64($0)) } ?? .null,
                 "listings": listings.map { .int(Int64($0)) } ?? .null])
    }

    /// Per level and district, whether a count is withheld in a system of each district beside the sum
    /// of its children (the indicators' rule for their counts).
    static func withheldAcrossLevels(_ levels: [[(id: String, parent: String?, count: Int)]]) -> [[Bool]] {
        var system = Suppression()
        let cells = levels.map { $0.map { system.count($0.count) } }
        for level in 1..<max(levels.count, 1) {
            let parentRow = Dictionary(levels[level - 1].enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
            var children: [Int: [Int]] = [:]
            for (i, district) in levels[level].enumerated() {
                if let parent = district.parent, let row = parentRow[parent] { children[row, default: []].append(cells[level][i]) }
            }
            for (row, parts) in children { system.sum(cells[level - 1][row], of: parts) }
        }
        let outcome = system.withhold().withheld
        return cells.map { $0.map { outcome[$0] } }
    }

    /// The unmet-demand answer as CSV: per district a row of its totals (cell columns `all`), then a row
    /// per cell; withheld counts empty.
    public static func unmetDemandCSV(_ page: FeaturePage) -> String {
        var out = "id,name,level,type,bedrooms,size_m2,budget,active_demands,served_demands,near_fit_demands,unmet_demands,unmet_share,active_listings\r\n"
        let cell = CSVText.cell
        for f in page.features {
            let head = [CSVText.field(f.id), cell(f.properties["name"]), cell(f.properties["level"])]
            out += (head + ["all", "all", "all", "all"] + ["active_demands", "served_demands", "near_fit_demands", "unmet_demands", "unmet_share", "active_listings"]
                .map { cell(f.properties[$0]) }).joined(separator: ",") + "\r\n"
            for c in f.properties["cells"]?.arrayValue ?? [] {
                out += (head + ["type", "bedrooms", "size_m2", "budget"].map { cell(c[$0]) }
                        + [cell(c["demands"]), "", "", cell(c["unmet"]), "", cell(c["listings"])]).joined(separator: ",") + "\r\n"
            }
        }
        return out
    }
}

/// Where one district's counts sit in the suppression system.
struct UnmetIndex {
    var demands: Int, served: Int, near: Int, unmet: Int, listings: Int
    var cells: [UnmetCell: (demands: Int, unmet: Int, listings: Int)] = [:]
}

/// One level's districts as counted for the unmet-demand table.
struct UnmetTable {
    struct Row {
        var feature: StoredFeature
        var id: String
        var parent: String?
        var demands = 0, served = 0, near = 0, unmet = 0, listings = 0
        var cells: [UnmetCell: (demands: Int, unmet: Int, listings: Int)] = [:]
    }

    var rows: [Row]

    init(shapes: [StoredFeature], inputs: UnmetDemandInputs, options: UnmetDemandOptions) {
        rows = shapes.map { Row(feature: $0, id: $0.id, parent: $0.properties["parent_id"]?.stringValue) }
        let rowOf = Dictionary(shapes.enumerated().map { ($1.fid, $0) }, uniquingKeysWith: { a, _ in a })
        for demand in inputs.demands {
            guard let r = rowOf[demand.district] else { continue }
            let cell = options.cell(demand: demand.criteria)
            rows[r].demands += 1
            rows[r].cells[cell, default: (0, 0, 0)].demands += 1
            switch demand.grade {
            case .served: rows[r].served += 1
            case .nearFitOnly: rows[r].near += 1
            case .unmet:
                rows[r].unmet += 1
                rows[r].cells[cell, default: (0, 0, 0)].unmet += 1
            }
        }
        for listing in inputs.listings {
            guard let r = rowOf[listing.district] else { continue }
            rows[r].listings += 1
            rows[r].cells[options.cell(listing: listing.facts), default: (0, 0, 0)].listings += 1
        }
    }
}
