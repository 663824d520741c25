import RGISCore

/// Small-number withholding for counts published in tables that add up — a row's cells to its total,
/// a column to its sum, a district's children to the district — so that no withheld count can be
/// recomputed from the counts shown beside it.
///
/// Counts of 1 to ``IndicatorOptions/minimumRecords`` − 1 are withheld (primary). Then, until nothing
/// changes: every sum with exactly one withheld count gets a second one, its smallest open non-zero
/// count (never a zero: counts are not negative, so a withheld zero beside a total of zero is known),
/// since a total minus the rest would otherwise give it away;
/// and when every sum has none or two and more, the sums are solved together as a linear system
/// (Gaussian elimination over the withheld counts), and a withheld count the system still determines
/// (two sums that share it, say) gets a second withheld count in one of its sums. A sum may be a bound
/// rather than an equality (a client with demand in two subdistricts counts once in their district):
/// it is treated as an equality, which only withholds more.
struct Suppression {
    private(set) var values: [Int] = []
    /// Each sum: the total first, then its parts.
    private(set) var sums: [[Int]] = []

    /// Adds a count; returns its index.
    mutating func count(_ value: Int) -> Int {
        values.append(value)
        return values.count - 1
    }

    /// States that `total` is the sum of `parts`.
    mutating func sum(_ total: Int, of parts: [Int]) {
        guard !parts.isEmpty else { return }
        sums.append([total] + parts)
    }

    /// The outcome: which counts are withheld, and the fixed counts that would have had to be
    /// withheld (their state is decided elsewhere: the caller withholds them there and asks again).
    struct Outcome {
        var withheld: [Bool]
        var fixedButNeeded: Set<Int>
    }

    /// - Parameters:
    ///   - also: counts to withhold besides the small ones.
    ///   - fixed: counts whose state is decided elsewhere (true: withheld), never chosen here.
    func withhold(minimum: Int = IndicatorOptions.minimumRecords, also: Set<Int> = [], fixed: [Int: Bool] = [:]) -> Outcome {
        var withheld = values.map { $0 > 0 && $0 < minimum }
        for i in also { withheld[i] = true }
        for (i, state) in fixed { withheld[i] = state }
        var needed = Set<Int>()
        let sumsOf = Dictionary(grouping: sums.indices.flatMap { s in sums[s].map { ($0, s) } }, by: \.0).mapValues { $0.map(\.1) }

        /// Withholds the smallest open non-zero count of a sum; false when none is open.
        func second(in sum: [Int]) -> Bool {
            let open = sum.filter { !withheld[$0] && fixed[$0] == nil }
            guard let pick = open.filter({ values[$0] > 0 }).min(by: { values[$0] < values[$1] }) else {
                needed.formUnion(sum.filter { !withheld[$0] && fixed[$0] != nil })
                return false
            }
            withheld[pick] = true
            return true
        }

        var changed = true
        while changed {
            changed = false
            for sum in sums where sum.count(where: { withheld[$0] }) == 1 {
                if second(in: sum) { changed = true }
            }
            if changed { continue }
            for cell in determined(withheld) {
                for s in sumsOf[cell] ?? [] where second(in: sums[s]) {
                    changed = true
                    break
                }
                if changed { break }
            }
        }
        return Outcome(withheld: withheld, fixedButNeeded: needed)
    }

    /// The withheld counts that the sums, with every other count known, still determine: those whose
    /// unit vector lies in the row space of the sums restricted to the withheld counts.
    func determined(_ withheld: [Bool]) -> [Int] {
        let unknowns = withheld.indices.filter { withheld[$0] }
        guard !unknowns.isEmpty else { return [] }
        let column = Dictionary(uniqueKeysWithValues: unknowns.enumerated().map { ($1, $0) })
        var rows: [[Double]] = sums.compactMap { sum in
            var row = [Double](repeating: 0, count: unknowns.count)
            var any = false
            for (k, cell) in sum.enumerated() {
                guard let c = column[cell] else { continue }
                row[c] += k == 0 ? -1 : 1
                any = true
            }
            return any ? row : nil
        }
        // Reduced row echelon form.
        var pivots: [(row: Int, column: Int)] = []
        var r = 0
        for c in 0..<unknowns.count where r < rows.count {
            guard let p = (r..<rows.count).max(by: { abs(rows[$0][c]) < abs(rows[$1][c]) }), abs(rows[p][c]) > 1e-9 else { continue }
            rows.swapAt(r, p)
            let scale = rows[r][c]
            for j in c..<unknowns.count { rows[r][j] /= scale }
            for i in 0..<rows.count where i != r && abs(rows[i][c]) > 1e-9 {
                let factor = rows[i][c]
                for j in c..<unknowns.count { rows[i][j] -= factor * rows[r][j] }
            }
            pivots.append((r, c))
            r += 1
        }
        return pivots.filter { pivot in
            rows[pivot.row].indices.allSatisfy { $0 == pivot.column || abs(rows[pivot.row][$0]) < 1e-9 }
        }.map { unknowns[$0.column] }
    }
}
