import GRDB
import RGISCore
import RGISStore

/// Monthly series kept per district between requests, and what tells whether they still hold.
///
/// Every district has a stamp (`series_stamps`, 0 where no row) that the writes move (triggers): a
/// listing or demand written in it (its dates, status, prices, budget or placement), a price or status
/// change event of one of its rows, the district itself inserted or deleted. The series computed for a
/// district are kept in `kept_series` with the stamp read in the same snapshot as their rows; they are
/// current while the two agree. A write moves only the stamps of the districts it touches, so the kept
/// series of every other district stay current (where the market version would drop them all).
///
/// The figures are opaque here: the query module encodes and reads them.
enum SeriesStamps {
    /// What a listing's and a demand's series read; a write of anything else moves no stamp.
    static let columns: [Layer: [String]] = [
        .listings: ["list_date", "close_date", "close_price", "status", "list_price", "living_area_m2"],
        .demands: ["created_at", "status", "budget_max"],
    ]

    static func trigger(_ table: String, _ event: String) -> String { "\(table)_series_stamp_\(event)" }

    /// Migration v10.
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE series_stamps (district_fid INTEGER PRIMARY KEY, stamp INTEGER NOT NULL);
            CREATE TABLE kept_series (district_fid INTEGER PRIMARY KEY, stamp INTEGER NOT NULL, figures TEXT NOT NULL);
            """)
        for layer in DistrictPlacement.layers { try db.execute(sql: rowTriggers(layer)) }
        try db.execute(sql: otherTriggers)
    }

    /// Moves the stamps of the districts an SQL query lists (column `fid`, NULLs skipped).
    private static func bump(_ fids: String) -> String {
        """
        INSERT INTO series_stamps (district_fid, stamp) SELECT fid, 1 FROM (\(fids)) WHERE fid IS NOT NULL
            ON CONFLICT (district_fid) DO UPDATE SET stamp = stamp + 1;
        """
    }

    /// The districts a row is placed in, as a query (`r`: NEW or OLD).
    private static func placement(_ r: String) -> String {
        DistrictLevel.allCases.map { "SELECT \(r).\(DistrictPlacement.column($0)) AS fid" }.joined(separator: " UNION ")
    }

    private static func rowTriggers(_ layer: Layer) -> String {
        let t = layer.table
        let read = columns[layer]! + DistrictLevel.allCases.map(DistrictPlacement.column)
        let changed = read.map { "OLD.\($0) IS NOT NEW.\($0)" }.joined(separator: " OR ")
        return """
            CREATE TRIGGER \(trigger(t, "insert")) AFTER INSERT ON \(t) BEGIN
                \(bump(placement("NEW")))
            END;
            CREATE TRIGGER \(trigger(t, "update")) AFTER UPDATE OF \(read.joined(separator: ", ")) ON \(t) WHEN \(changed) BEGIN
                \(bump(placement("OLD") + " UNION " + placement("NEW")))
            END;
            CREATE TRIGGER \(trigger(t, "delete")) AFTER DELETE ON \(t) BEGIN
                \(bump(placement("OLD")))
            END;
            """
    }

    /// A change event's record's districts (`e`: NEW or OLD).
    private static func recordPlacement(_ e: String) -> String {
        DistrictPlacement.layers.flatMap { layer in
            DistrictLevel.allCases.map {
                "SELECT \(DistrictPlacement.column($0)) AS fid FROM \(layer.table) WHERE \(e).layer = '\(layer.table)' AND id = \(e).record_id"
            }
        }.joined(separator: " UNION ")
    }

    private static var otherTriggers: String {
        let market = "IN ('price_change', 'status_change')"
        return """
            CREATE TRIGGER events_series_stamp_insert AFTER INSERT ON events WHEN NEW.kind \(market) BEGIN
                \(bump(recordPlacement("NEW")))
            END;
            CREATE TRIGGER events_series_stamp_delete AFTER DELETE ON events WHEN OLD.kind \(market) BEGIN
                \(bump(recordPlacement("OLD")))
            END;
            CREATE TRIGGER districts_series_stamp_insert AFTER INSERT ON districts BEGIN
                \(bump("SELECT NEW.fid AS fid"))
            END;
            CREATE TRIGGER districts_series_stamp_update AFTER UPDATE OF fid, level ON districts BEGIN
                \(bump("SELECT OLD.fid AS fid UNION SELECT NEW.fid"))
            END;
            CREATE TRIGGER districts_series_stamp_delete AFTER DELETE ON districts BEGIN
                \(bump("SELECT OLD.fid AS fid"))
            END;
            """
    }

    /// Moves every district's stamp once (a bulk write that dropped the row triggers).
    static func bumpAll(_ db: Database) throws {
        try db.execute(sql: bump("SELECT fid FROM districts"))
    }

    /// Runs a bulk write of a layer's rows with its row triggers dropped, then moves every stamp once,
    /// where the triggers exist (not before migration v10, nor inside a bulk import that dropped them).
    static func suspending(_ db: Database, layer: Layer, _ body: () throws -> Void) throws {
        let names = ["insert", "update", "delete"].map { trigger(layer.table, $0) }
        let triggers = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?)",
                                        arguments: StatementArguments(names)).map { (name: $0[0] as String, sql: $0[1] as String) }
        for t in triggers { try db.execute(sql: "DROP TRIGGER \"\(t.name)\"") }
        try body()
        for t in triggers { try db.execute(sql: t.sql) }
        if !triggers.isEmpty { try bumpAll(db) }
    }
}
