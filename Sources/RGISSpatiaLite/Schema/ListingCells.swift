import GRDB
import RGISCore
import RGISStore

/// The listings counted per map cell, status and type at every level from 2 to 17 (`listing_cells`):
/// how many, the sums of their pixels (for the cell's centre) and the lowest and highest price and
/// storage key. A level-`l` cell is `map_x >> (32 − l)`, `map_y >> (32 − l)`; level 17 is about 300 m
/// at the equator. The map's clusters and the listing tiles below zoom 15 read these counts for the
/// cells wholly inside the asked box, and listings only in a thin frame at its edge, so a view of the
/// whole region reads thousands of rows instead of every listing in it.
///
/// Kept exact by triggers on the listings: a row's contribution leaves its old cells and joins its new
/// ones. A removal that took a cell's lowest or highest price or its highest key marks the cell, and
/// the same trigger reads that level-17 cell's listings again, then each coarser cell from its four
/// children. A bulk import drops the update trigger (its pixels are filled by one statement) and adds
/// its new rows' counts once, grouped (``add(_:fromFid:)``).
enum ListingCells {
    static let levels = 2...17
    static let finest = 17
    static let updateTrigger = "listing_cells_update"
    static let triggerNames = ["listing_cells_insert", updateTrigger, "listing_cells_delete"]

    static func shift(_ level: Int) -> Int { ListingPixels.bits - level }

    /// Migration v12: the table, its second order (by row, for the bands along a box's top and bottom),
    /// every stored listing counted, the triggers.
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE listing_cells (
                level INTEGER NOT NULL, cx INTEGER NOT NULL, cy INTEGER NOT NULL,
                status TEXT NOT NULL, property_type TEXT NOT NULL,
                n INTEGER NOT NULL, sum_x INTEGER NOT NULL, sum_y INTEGER NOT NULL,
                price_min REAL, price_max REAL, fid_max INTEGER, stale INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (level, cx, cy, status, property_type)) WITHOUT ROWID;
            \(byRow)
            """)
        try add(db, fromFid: 0)
        try db.execute(sql: triggers)
    }

    /// The second order of the cells, by row.
    private static let byRow = "CREATE INDEX listing_cells_by_row ON listing_cells(level, cy, cx, status, property_type, n, sum_x, sum_y, price_min, price_max, fid_max);"

    /// Counts the listings from `fromFid` on into the cells: level 17 grouped from the rows, each
    /// coarser level from the one below it, then merged into the stored counts. A bulk import that
    /// `counted` its rows as it wrote them has every level already: its cells are merged one by one.
    static func add(_ db: Database, fromFid: Int64, counted: CountedCells? = nil) throws {
        if let counted, counted.exact {
            // Into no cells yet, the second order is sorted once afterwards rather than kept cell by cell.
            let empty = try !(Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM listing_cells)") ?? true)
            if empty { try db.execute(sql: "DROP INDEX listing_cells_by_row") }
            let insert = try db.makeStatement(sql: "INSERT INTO listing_cells (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \(merged)")
            let binder = ParameterBinder(insert)
            try counted.forEachCell { cell in
                binder.startRow()
                binder.bind(1, integer: Int64(cell.level))
                binder.bind(2, integer: cell.cx)
                binder.bind(3, integer: cell.cy)
                binder.bind(4, text: cell.status)
                binder.bind(5, text: cell.propertyType)
                binder.bind(6, integer: cell.count.n)
                binder.bind(7, integer: cell.count.sumX)
                binder.bind(8, integer: cell.count.sumY)
                binder.bind(9, real: cell.priceMin)
                binder.bind(10, real: cell.priceMax)
                binder.bind(11, integer: cell.count.fidMax)
                try insert.execute()
            }
            if empty { try db.execute(sql: byRow) }
            return
        }
        let s = shift(finest)
        try db.execute(sql: """
            CREATE TEMP TABLE new_listing_cells AS
                SELECT \(finest) AS level, map_x >> \(s) AS cx, map_y >> \(s) AS cy, IFNULL(status, '') AS status,
                       IFNULL(property_type, '') AS property_type, count(*) AS n, sum(map_x) AS sum_x, sum(map_y) AS sum_y,
                       min(list_price) AS price_min, max(list_price) AS price_max, max(fid) AS fid_max
                FROM listings WHERE fid >= ? AND map_x IS NOT NULL GROUP BY 2, 3, 4, 5
            """, arguments: [fromFid])
        defer { try? db.execute(sql: "DROP TABLE IF EXISTS temp.new_listing_cells") }
        for level in levels.reversed().dropFirst() {
            try db.execute(sql: """
                INSERT INTO new_listing_cells
                SELECT \(level), cx >> 1, cy >> 1, status, property_type, sum(n), sum(sum_x), sum(sum_y), min(price_min), max(price_max), max(fid_max)
                FROM new_listing_cells WHERE level = \(level + 1) GROUP BY 2, 3, 4, 5
                """)
        }
        try db.execute(sql: "INSERT INTO listing_cells (\(columns)) SELECT \(columns) FROM new_listing_cells WHERE true \(merged)")
    }

    private static let columns = "level, cx, cy, status, property_type, n, sum_x, sum_y, price_min, price_max, fid_max"

    /// A new cell's counts added to the stored ones where the cell is already there.
    private static var merged: String {
        """
        ON CONFLICT (level, cx, cy, status, property_type) DO UPDATE SET
            n = n + excluded.n, sum_x = sum_x + excluded.sum_x, sum_y = sum_y + excluded.sum_y,
            \(lowest("price_min", "excluded.price_min")), \(highest("price_max", "excluded.price_max")),
            fid_max = max(IFNULL(fid_max, 0), IFNULL(excluded.fid_max, 0))
        """
    }

    /// `column = the lower of column and value`, NULL meaning none (SQLite's `min(a, NULL)` is NULL).
    private static func lowest(_ column: String, _ value: String) -> String {
        "\(column) = CASE WHEN \(column) IS NULL THEN \(value) WHEN \(value) IS NULL THEN \(column) ELSE min(\(column), \(value)) END"
    }

    private static func highest(_ column: String, _ value: String) -> String {
        "\(column) = CASE WHEN \(column) IS NULL THEN \(value) WHEN \(value) IS NULL THEN \(column) ELSE max(\(column), \(value)) END"
    }

    /// The cell of row `r` (NEW or OLD) at a level, as conditions on the table's key.
    private static func cell(_ r: String, _ level: Int) -> String {
        "level = \(level) AND cx = \(r).map_x >> \(shift(level)) AND cy = \(r).map_y >> \(shift(level)) AND status = IFNULL(\(r).status, '') AND property_type = IFNULL(\(r).property_type, '')"
    }

    /// OLD leaves its cells; a cell whose lowest or highest price or highest key it held is marked.
    private static var remove: String {
        levels.map { level in
            """
            UPDATE listing_cells SET n = n - 1, sum_x = sum_x - OLD.map_x, sum_y = sum_y - OLD.map_y,
                stale = stale OR OLD.fid >= IFNULL(fid_max, 0)
                    OR IFNULL(OLD.list_price IS NOT NULL AND (OLD.list_price <= price_min OR OLD.list_price >= price_max), 1)
                WHERE \(cell("OLD", level));
            """
        }.joined(separator: "\n")
    }

    /// NEW joins its cells (one statement for every level).
    private static var insert: String {
        """
        INSERT INTO listing_cells (level, cx, cy, status, property_type, n, sum_x, sum_y, price_min, price_max, fid_max)
            SELECT level, NEW.map_x >> (\(ListingPixels.bits) - level), NEW.map_y >> (\(ListingPixels.bits) - level), IFNULL(NEW.status, ''),
                   IFNULL(NEW.property_type, ''), 1, NEW.map_x, NEW.map_y, NEW.list_price, NEW.list_price, NEW.fid
            FROM (\(levels.map { "SELECT \($0) AS level" }.joined(separator: " UNION ALL "))) WHERE true
            ON CONFLICT (level, cx, cy, status, property_type) DO UPDATE SET
                n = n + 1, sum_x = sum_x + excluded.sum_x, sum_y = sum_y + excluded.sum_y,
                \(lowest("price_min", "excluded.price_min")), \(highest("price_max", "excluded.price_max")),
                fid_max = max(IFNULL(fid_max, 0), excluded.fid_max);
        """
    }

    /// The marked cells on OLD's path read again: level 17 from its listings (one index range of
    /// columns, a cell wide), each coarser level from its four children.
    private static var refresh: String {
        let s = shift(finest)
        let finestCell = """
            UPDATE listing_cells SET (price_min, price_max, fid_max, stale) = (
                SELECT min(l.list_price), max(l.list_price), max(l.fid), 0 FROM listings l INDEXED BY listings_map
                WHERE l.map_x BETWEEN listing_cells.cx << \(s) AND ((listing_cells.cx + 1) << \(s)) - 1
                  AND l.map_y BETWEEN listing_cells.cy << \(s) AND ((listing_cells.cy + 1) << \(s)) - 1
                  AND IFNULL(l.status, '') = listing_cells.status AND IFNULL(l.property_type, '') = listing_cells.property_type)
            WHERE \(cell("OLD", finest)) AND stale;
            """
        let coarser = levels.reversed().dropFirst().map { level in
            """
            UPDATE listing_cells SET (price_min, price_max, fid_max, stale) = (
                SELECT min(c.price_min), max(c.price_max), max(c.fid_max), 0 FROM listing_cells c
                WHERE c.level = \(level + 1) AND c.cx IN (2 * listing_cells.cx, 2 * listing_cells.cx + 1)
                  AND c.cy IN (2 * listing_cells.cy, 2 * listing_cells.cy + 1)
                  AND c.status = listing_cells.status AND c.property_type = listing_cells.property_type AND c.n > 0)
            WHERE \(cell("OLD", level)) AND stale;
            """
        }
        return ([finestCell] + coarser).joined(separator: "\n")
    }

    static var triggers: String {
        let columns = ["map_x", "map_y", "status", "property_type", "list_price"]
        let changed = columns.map { "OLD.\($0) IS NOT NEW.\($0)" }.joined(separator: " OR ")
        return """
            CREATE TRIGGER listing_cells_insert AFTER INSERT ON listings WHEN NEW.map_x IS NOT NULL BEGIN
                \(insert)
            END;
            CREATE TRIGGER \(updateTrigger) AFTER UPDATE OF \(columns.joined(separator: ", ")) ON listings WHEN \(changed) BEGIN
                \(remove.replacingOccurrences(of: "WHERE level", with: "WHERE OLD.map_x IS NOT NULL AND level"))
                \(insert.replacingOccurrences(of: "WHERE true", with: "WHERE NEW.map_x IS NOT NULL"))
                \(refresh)
            END;
            CREATE TRIGGER listing_cells_delete AFTER DELETE ON listings WHEN OLD.map_x IS NOT NULL BEGIN
                \(remove)
                \(refresh)
            END;
            """
    }

    /// Cells whose counts differ from the listings they hold (`rgis check`): level 17 against the rows
    /// grouped afresh, each coarser level against the sums of its children.
    static func differences(_ db: Database) throws -> Int {
        let s = shift(finest)
        let stored = "SELECT cx, cy, status, property_type, n, sum_x, sum_y, price_min, price_max, fid_max FROM listing_cells WHERE n > 0 AND level = "
        let rows = """
            SELECT map_x >> \(s), map_y >> \(s), IFNULL(status, ''), IFNULL(property_type, ''), count(*), sum(map_x), sum(map_y),
                   min(list_price), max(list_price), max(fid)
            FROM listings WHERE map_x IS NOT NULL GROUP BY 1, 2, 3, 4
            """
        var total = try count(db, rows, stored + "\(finest)")
        for level in levels.reversed().dropFirst() {
            let children = """
                SELECT cx >> 1, cy >> 1, status, property_type, sum(n), sum(sum_x), sum(sum_y), min(price_min), max(price_max), max(fid_max)
                FROM listing_cells WHERE n > 0 AND level = \(level + 1) GROUP BY 1, 2, 3, 4
                """
            total += try count(db, children, stored + "\(level)")
        }
        return total
    }

    private static func count(_ db: Database, _ a: String, _ b: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM (\(a) EXCEPT \(b))) + (SELECT count(*) FROM (\(b) EXCEPT \(a)))") ?? 0
    }
}
