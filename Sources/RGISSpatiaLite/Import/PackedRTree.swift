import Foundation
import GRDB
import RGISCore
import RGISStore

/// Builds a whole two-dimensional R*Tree at once, packed by Sort-Tile-Recursive, and writes its nodes
/// straight into the shadow tables of SQLite's rtree module (`%_node`, `%_rowid`, `%_parent`) in the
/// module's own format. Inserting a million boxes one by one costs the module about 17 s (each insert
/// chooses a subtree, splits and reinserts); a packed tree is a sort and a write of its nodes, and
/// answers searches at least as well (its nodes are full and barely overlap). The module keeps the tree
/// as usual afterwards, and `rtreecheck` (``DatabaseCheck``) checks its structure.
///
/// The format (SQLite's `rtree.c`): node 1 is the root; every node is a blob of the root's length,
/// a 16-bit big-endian depth (the root's height above the leaves; 0 elsewhere), a 16-bit cell count,
/// then cells of a 64-bit big-endian rowid (a child's node number in inner nodes) and the box as
/// big-endian 32-bit floats `xmin, xmax, ymin, ymax`, rounded outwards.
struct PackedRTree {
    struct Entry {
        var id: Int64
        var box: (Float, Float, Float, Float)
    }

    let index: String
    /// Bytes of a node, as the module chose them when the table was made.
    let nodeBytes: Int
    var cellsPerNode: Int { (nodeBytes - 4) / 24 }

    /// The rtree `index` if it has the shape written here (pkid and two dimensions, no auxiliary
    /// columns), else nil.
    init?(_ db: Database, index: String) throws {
        let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [index]) ?? ""
        let columns = try Int.fetchOne(db, sql: "SELECT count(*) FROM pragma_table_info(?)", arguments: ["\(index)_rowid"]) ?? 0
        guard sql.replacingOccurrences(of: " ", with: "").lowercased().hasSuffix("usingrtree(pkid,xmin,xmax,ymin,ymax)"), columns == 2,
              let nodeBytes = try Int.fetchOne(db, sql: "SELECT length(data) FROM \"\(index)_node\" WHERE nodeno = 1"),
              (nodeBytes - 4) / 24 >= 4 else { return nil }
        self.index = index
        self.nodeBytes = nodeBytes
    }

    /// A box in the module's 32-bit floats, rounded outwards so that it holds the exact one.
    static func entry(id: Int64, minX: Double, maxX: Double, minY: Double, maxY: Double) -> Entry {
        func down(_ d: Double) -> Float { let f = Float(d); return Double(f) > d ? f.nextDown : f }
        func up(_ d: Double) -> Float { let f = Float(d); return Double(f) < d ? f.nextUp : f }
        return Entry(id: id, box: (down(minX), up(maxX), down(minY), up(maxY)))
    }

    /// Replaces the tree's content with `entries`.
    func write(_ db: Database, _ entries: consuming [Entry]) throws {
        try db.execute(sql: "DELETE FROM \"\(index)_node\"; DELETE FROM \"\(index)_rowid\"; DELETE FROM \"\(index)_parent\"")
        let node = try db.makeStatement(sql: "INSERT INTO \"\(index)_node\" (nodeno, data) VALUES (?, ?)")
        let parent = try db.makeStatement(sql: "INSERT INTO \"\(index)_parent\" (nodeno, parentnode) VALUES (?, ?)")
        let rowid = try db.makeStatement(sql: "INSERT INTO \"\(index)_rowid\" (rowid, nodeno) VALUES (?, ?)")
        let (nodeBinder, parents, rowids) = (ParameterBinder(node), ParameterBinder(parent), ParameterBinder(rowid))

        // Levels from the leaves up, each level's nodes the entries of the next; numbers from 2, the
        // root taking 1 at the end.
        var level = entries
        var nextNumber: Int64 = 2
        var depth = 0
        while true {
            let nodes = Self.tile(&level, cellsPerNode)
            let isRoot = nodes.count == 1
            var above: [Entry] = []
            above.reserveCapacity(nodes.count)
            for cells in nodes {
                let number = isRoot ? 1 : nextNumber
                if !isRoot { nextNumber += 1 }
                nodeBinder.startRow()
                nodeBinder.bind(1, integer: number)
                nodeBinder.bind(2, blob: blob(level[cells], depth: isRoot ? depth : 0))
                try node.execute()
                // A million leaf cells: bound straight, not through GRDB's arguments.
                let (links, statement) = depth == 0 ? (rowids, rowid) : (parents, parent)
                for cell in level[cells] {
                    links.startRow()
                    links.bind(1, integer: cell.id)
                    links.bind(2, integer: number)
                    try statement.execute()
                }
                above.append(Entry(id: number, box: Self.union(level[cells])))
            }
            if isRoot { break }
            level = above
            depth += 1
        }
    }

    private func blob(_ cells: ArraySlice<Entry>, depth: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: nodeBytes)
        func put16(_ v: Int, at i: Int) { bytes[i] = UInt8(v >> 8 & 0xFF); bytes[i + 1] = UInt8(v & 0xFF) }
        func put(_ v: UInt64, bytes n: Int, at i: Int) { for k in 0..<n { bytes[i + k] = UInt8(v >> (8 * (n - 1 - k)) & 0xFF) } }
        put16(depth, at: 0)
        put16(cells.count, at: 2)
        var at = 4
        for cell in cells {
            put(UInt64(bitPattern: cell.id), bytes: 8, at: at)
            put(UInt64(cell.box.0.bitPattern), bytes: 4, at: at + 8)
            put(UInt64(cell.box.1.bitPattern), bytes: 4, at: at + 12)
            put(UInt64(cell.box.2.bitPattern), bytes: 4, at: at + 16)
            put(UInt64(cell.box.3.bitPattern), bytes: 4, at: at + 20)
            at += 24
        }
        return Data(bytes)
    }

    private static func union(_ cells: ArraySlice<Entry>) -> (Float, Float, Float, Float) {
        var b = (Float.infinity, -Float.infinity, Float.infinity, -Float.infinity)
        for c in cells { b = (min(b.0, c.box.0), max(b.1, c.box.1), min(b.2, c.box.2), max(b.3, c.box.3)) }
        return b
    }

    /// Sort-Tile-Recursive: the entries by the centres' x into √(nodes) vertical slices, each slice by
    /// y, cut into nodes of `capacity` cells (sorted in place, the nodes as ranges of `entries`, so
    /// that a million boxes take their 24 MB once). Always at least one node (an empty root).
    static func tile(_ entries: inout [Entry], _ capacity: Int) -> [Range<Int>] {
        guard entries.count > capacity else { return [0..<entries.count] }
        let nodes = (entries.count + capacity - 1) / capacity
        let slices = Int(Double(nodes).squareRoot().rounded(.up))
        let perSlice = slices * capacity
        entries.sort { $0.box.0 + $0.box.1 < $1.box.0 + $1.box.1 }
        var out: [Range<Int>] = []
        out.reserveCapacity(nodes)
        for start in stride(from: 0, to: entries.count, by: perSlice) {
            let slice = start..<min(start + perSlice, entries.count)
            entries[slice].sort { $0.box.2 + $0.box.3 < $1.box.2 + $1.box.3 }
            for i in stride(from: slice.lowerBound, to: slice.upperBound, by: capacity) {
                out.append(i..<min(i + capacity, slice.upperBound))
            }
        }
        return out
    }
}
