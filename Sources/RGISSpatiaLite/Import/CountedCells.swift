import RGISCore
import RGISStore

/// New listings counted into their finest map cells (``ListingCells/finest``) as a bulk import writes
/// them, so that ``ListingCells/add(_:fromFid:counted:)`` need not group a million rows again after
/// they are written (a sort of every row: a fifth of the import's time after the rows).
///
/// The counts are what `listing_cells` would hold: per cell, status and type, the number of rows, the
/// sums of their pixels, the lowest and highest price and the highest storage key. They stay exact
/// only while each value is stored as it is given (a text status and type, a numeric price); any
/// other value stops the counting, and the cells are then grouped from the stored rows as before.
struct CountedCells {
    /// What one cell holds. A price of NaN is none (SQL's min and max over no price are NULL).
    struct Count {
        var n: Int64, sumX: Int64, sumY: Int64, priceMin: Double, priceMax: Double, fidMax: Int64

        mutating func add(_ other: Count) {
            n += other.n
            sumX += other.sumX
            sumY += other.sumY
            // min and max return their non-NaN argument: a missing price does not hide a present one.
            priceMin = Double.minimum(priceMin, other.priceMin)
            priceMax = Double.maximum(priceMax, other.priceMax)
            fidMax = max(fidMax, other.fidMax)
        }
    }

    struct Cell {
        let level: Int, cx: Int64, cy: Int64, status: String, propertyType: String
        let count: Count
        var priceMin: Double? { count.priceMin.isNaN ? nil : count.priceMin }
        var priceMax: Double? { count.priceMax.isNaN ? nil : count.priceMax }
    }

    /// False once a row could not be counted exactly.
    private(set) var exact = true
    /// The finest level's cells, by ``key(cx:cy:status:type:)``.
    private var finest: [UInt64: Count] = [:]
    /// Each distinct status and type, numbered for the cell's key.
    private var labelNumbers: [String: UInt64] = [:]
    private var labels: [String] = []
    private static let labelBits: UInt64 = 15, cellBits: UInt64 = 17
    private static let labelMask = UInt64(1) << labelBits - 1, cellMask = UInt64(1) << cellBits - 1

    /// One stored row: its pixel (`map_x`, `map_y`), status, type, price and storage key.
    mutating func add(x: Int64, y: Int64, status: FieldValue?, propertyType: FieldValue?, price: FieldValue?, fid: Int64) {
        guard exact else { return }
        let shift = Int64(ListingCells.shift(ListingCells.finest))
        guard let s = label(status), let t = label(propertyType), let price = Self.number(price),
              x >= 0, y >= 0, x >> shift <= Self.cellMask, y >> shift <= Self.cellMask else {
            stop()
            return
        }
        let row = Count(n: 1, sumX: x, sumY: y, priceMin: price, priceMax: price, fidMax: fid)
        finest[Self.key(cx: UInt64(x >> shift), cy: UInt64(y >> shift), status: s, type: t), default: .zero].add(row)
    }

    /// Each counted cell at every level of `ListingCells.levels`, from the finest (counted) to the
    /// coarsest (each from the four below it); within a level by column and row, the order of the
    /// table's key, so that they are written to neighbouring pages rather than all over it.
    func forEachCell(_ body: (Cell) throws -> Void) rethrows {
        var cells = finest
        for level in ListingCells.levels.reversed() {
            var coarser: [UInt64: Count] = [:]
            for key in cells.keys.sorted() {
                guard let count = cells[key] else { continue }
                let (cx, cy, s, t) = Self.parts(key)
                try body(Cell(level: level, cx: Int64(cx), cy: Int64(cy), status: labels[Int(s)], propertyType: labels[Int(t)], count: count))
                if level > ListingCells.levels.lowerBound {
                    coarser[Self.key(cx: cx >> 1, cy: cy >> 1, status: s, type: t), default: .zero].add(count)
                }
            }
            cells = coarser
        }
    }

    /// Stops counting; the cells are then grouped from the rows.
    mutating func stop() {
        exact = false
        finest = [:]
    }

    private static func key(cx: UInt64, cy: UInt64, status: UInt64, type: UInt64) -> UInt64 {
        cx << (2 * labelBits + cellBits) | cy << (2 * labelBits) | status << labelBits | type
    }

    private static func parts(_ key: UInt64) -> (cx: UInt64, cy: UInt64, status: UInt64, type: UInt64) {
        (key >> (2 * labelBits + cellBits) & cellMask, key >> (2 * labelBits) & cellMask, key >> labelBits & labelMask, key & labelMask)
    }

    /// A status or type as the cells key it: absent as '' (`IFNULL(…, '')`); nil for a value a TEXT
    /// column would store otherwise than as given.
    private mutating func label(_ value: FieldValue?) -> UInt64? {
        let text: String
        switch value {
        case nil: text = ""
        case .text(let s)?: text = s
        case .integer, .real: return nil
        }
        if let number = labelNumbers[text] { return number }
        guard labels.count <= Self.labelMask else { return nil }
        labels.append(text)
        labelNumbers[text] = UInt64(labels.count - 1)
        return UInt64(labels.count - 1)
    }

    /// A price as the REAL column stores it, NaN when absent; nil for text (or a NaN given).
    private static func number(_ value: FieldValue?) -> Double? {
        switch value {
        case nil: .nan
        case .integer(let i)?: Double(i)
        case .real(let d)?: d.isNaN ? nil : d
        case .text: nil
        }
    }
}

private extension CountedCells.Count {
    /// Nothing counted yet: the start of a sum.
    static let zero = Self(n: 0, sumX: 0, sumY: 0, priceMin: .nan, priceMax: .nan, fidMax: .min)
}
