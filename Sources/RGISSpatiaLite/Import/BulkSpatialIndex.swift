import GRDB
import RGISCore
import RGISStore

/// Fills a layer's R*Tree once after a bulk insert instead of row by row.
///
/// SpatiaLite keeps the index with per-row triggers (`gii_…` calls `RTreeAlign` for each insert, `tmi_…`
/// stamps `geometry_columns_time`, `ggi_…` checks type and SRID), which costs about 0.2 ms a row. Inside
/// the import's transaction the three insert triggers are dropped, the new rows' type and SRID are
/// checked and their boxes go into the R*Tree in one statement each at the end, and the triggers are
/// re-created from their own stored SQL. Being in the same transaction, a failed or killed import
/// rolls all of this back with the rows.
struct BulkSpatialIndex {
    private let db: Database
    private let table: String
    /// SpatiaLite's geometry type code the column takes (1 POINT, 6 MULTIPOLYGON).
    private let geometryCode: Int
    let firstNewFid: Int64
    private let triggers: [(name: String, sql: String)]
    /// The table's own indexes (not unique ones: they check the rows as they come), dropped for an import into an empty table and
    /// built once at the end: sorting a million keys once is faster than inserting them one by one
    /// (and again when the rows are placed in their districts).
    private let indexes: [(name: String, sql: String)]
    /// The layer whose rows are placed in districts (listings, demands), else nil.
    private let layer: Layer?
    /// Listings are written placed in their districts and with their map pixel (``LayerWriter``), so
    /// neither is filled here.
    let writerPlacesRows: Bool
    /// The table held no rows before the import.
    let intoEmptyTable: Bool

    init(db: Database, layer: Layer) throws {
        try self.init(db: db, table: layer.table, geometryCode: layer.storedGeometry == .point ? 1 : 6)
    }

    init(db: Database, table: String, geometryCode: Int) throws {
        self.db = db
        self.table = table
        self.geometryCode = geometryCode
        firstNewFid = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(fid), 0) + 1 FROM \(table)")) ?? 1
        layer = Layer.allCases.first { $0.table == table && DistrictPlacement.layers.contains($0) }
        // The spatial index's triggers, and the placement in districts where the layer has one.
        // The market version and the series stamps move once at the end instead of once a row (and once a placed row).
        let names = ["gii_\(table)_geom", "tmi_\(table)_geom", "ggi_\(table)_geom", "\(table)_place_insert", ListingPixels.insertTrigger,
                     MarketVersion.trigger(table, "insert"), MarketVersion.trigger(table, "update"),
                     SeriesStamps.trigger(table, "insert"), SeriesStamps.trigger(table, "update")]
            + (table == Layer.listings.table ? ListingCells.triggerNames : [])
        triggers = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (\(names.map { _ in "?" }.joined(separator: ", ")))",
                                    arguments: StatementArguments(names)).map { ($0[0], $0[1]) }
        guard triggers.contains(where: { $0.name == names[0] }) else {
            throw RGISError(.database, "the spatial index trigger \(names[0]) is missing; run rgis check")
        }
        for trigger in triggers { try db.execute(sql: "DROP TRIGGER \"\(trigger.name)\"") }
        let dropped = Set(triggers.map(\.name))
        writerPlacesRows = table == Layer.listings.table && dropped.isSuperset(of: [DistrictPlacement.insertTrigger(.listings), ListingPixels.insertTrigger])
        let empty = try !(Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM \(table)") ?? false)
        intoEmptyTable = empty
        indexes = !empty ? [] : try Row.fetchAll(db, sql: """
            SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'
            """, arguments: [table]).map { ($0[0], $0[1]) }
        for index in indexes { try db.execute(sql: "DROP INDEX \"\(index.name)\"") }
    }

    /// The new rows' boxes into the R*Tree: the whole tree packed anew when the new rows are at least
    /// as many as the old (``PackedRTree``), else one insert each. `newBoxes`, when the writer kept
    /// them for every new row, spare reading them back from the geometries.
    private func fillSpatialIndex(newBoxes: consuming [PackedRTree.Entry]) throws {
        let index = "idx_\(table)_geom"
        let old = try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(index)_rowid\"") ?? 0
        let newRows = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE fid >= ?", arguments: [firstNewFid]) ?? 0
        let given = newBoxes.count == newRows
        let new = given ? newRows : try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE fid >= ? AND geom IS NOT NULL", arguments: [firstNewFid]) ?? 0
        let boxes = "fid, MbrMinX(geom), MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom)"
        guard new >= old, let tree = try PackedRTree(db, index: index) else {
            try db.execute(sql: "INSERT INTO \(index) (pkid, xmin, xmax, ymin, ymax) SELECT \(boxes) FROM \(table) WHERE fid >= ?",
                           arguments: [firstNewFid])
            return
        }
        var entries: [PackedRTree.Entry] = given ? consume newBoxes : []
        entries.reserveCapacity(old + new)
        let rows = try Row.fetchCursor(db, sql: "SELECT \(boxes) FROM \(table) WHERE geom IS NOT NULL AND fid < ?",
                                       arguments: [given ? firstNewFid : Int64.max])
        while let row = try rows.next() {
            entries.append(PackedRTree.entry(id: row[0], minX: row[1], maxX: row[2], minY: row[3], maxY: row[4]))
        }
        try tree.write(db, entries)
    }

    /// `newBoxes`: the new rows' boxes, if the writer kept them; `geometriesChecked`: the writer made
    /// every new geometry of the column's type and SRID itself.
    /// `newCells`: the new rows counted into their map cells, if the writer placed them.
    func finish(newBoxes: consuming [PackedRTree.Entry] = [], geometriesChecked: Bool = false, newCells: consuming CountedCells? = nil) throws {
        // What the dropped ggi_ trigger checked row by row, in one pass.
        let wrong = geometriesChecked ? 0 : try Int.fetchOne(db, sql: """
            SELECT count(*) FROM \(table) WHERE fid >= ? AND GeometryConstraints(geom, ?, 4326) <> 1
            """, arguments: [firstNewFid, geometryCode]) ?? 0
        guard wrong == 0 else {
            throw RGISError(.database, "\(wrong) new geometries have the wrong type or SRID for \(table); nothing was written")
        }
        // The packed R*Tree's boxes, the placement's grouping and the index builds take memory beside
        // the page cache (48 MB during an import), and the sorts sort in memory up to its size before
        // they spill to a temporary file: a smaller cache keeps the import's memory bounded.
        let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
        try db.execute(sql: "PRAGMA cache_size = -16384")
        // The index builds' sorts may use a helper thread.
        try db.execute(sql: "PRAGMA threads = 2")
        defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize); PRAGMA threads = 0") }
        // Cells the writer counted are merged first, so that their memory is let go before the R*Tree's is taken.
        let cellsKept = triggers.contains(where: { $0.name == ListingCells.updateTrigger })
        var cellsCounted = false
        if cellsKept, writerPlacesRows, let counted = newCells, counted.exact {
            try ListingCells.add(db, fromFid: firstNewFid, counted: counted)
            cellsCounted = true
        }
        newCells = nil
        try fillSpatialIndex(newBoxes: consume newBoxes)
        if let layer, !writerPlacesRows, triggers.contains(where: { $0.name == DistrictPlacement.insertTrigger(layer) }) {
            try DistrictPlacement.place(db, layer: layer, fromFid: firstNewFid, newRows: true)
        }
        if !writerPlacesRows, triggers.contains(where: { $0.name == ListingPixels.insertTrigger }) { try ListingPixels.fill(db, fromFid: firstNewFid) }
        for index in indexes { try db.execute(sql: index.sql) }
        if cellsKept, !cellsCounted { try ListingCells.add(db, fromFid: firstNewFid) }
        if triggers.contains(where: { $0.name == MarketVersion.trigger(table, "insert") }) { try MarketVersion.bump(db) }
        if triggers.contains(where: { $0.name == SeriesStamps.trigger(table, "insert") }) { try SeriesStamps.bumpAll(db) }
        for trigger in triggers { try db.execute(sql: trigger.sql) }
    }
}
