import GRDB
import RGISCore
import RGISStore

/// SQL pieces that route a spatial predicate through a layer's R*Tree. Queries compose them as GRDB
/// `SQL` literals, so every value is bound and no caller input is ever spliced into SQL text.
enum SpatialSQL {
    /// `alias.fid IN (SELECT pkid FROM idx_<table>_geom WHERE <box overlaps>) [UNION …]`: the candidates
    /// whose stored box meets one of `boxes`. SQLite answers it from the R*Tree, never a table scan.
    static func candidates(_ layer: Layer, alias: String = "t", boxes: [BBox.Part]) -> SQL {
        candidates(table: layer.table, alias: alias, boxes: boxes)
    }

    /// The same for any table with a SpatiaLite R*Tree on its `geom` column (the archive's versions).
    static func candidates(table: String, alias: String = "t", boxes: [BBox.Part]) -> SQL {
        let selects: [SQL] = boxes.map { b in
            "SELECT pkid FROM \(sql: rtree(table)) WHERE xmax >= \(b.west) AND xmin <= \(b.east) AND ymax >= \(b.south) AND ymin <= \(b.north)"
        }
        return "\(sql: alias).fid IN (\(selects.joined(separator: " UNION ALL ")))"
    }

    /// The R*Tree SpatiaLite keeps for a table's `geom` column.
    static func rtree(_ table: String) -> String { "idx_\(table)_geom" }

    /// `Intersects(alias.geom, box) OR …` for each part of a bbox: the exact test after the R*Tree.
    static func intersectsAny(_ parts: [BBox.Part], alias: String = "t") -> SQL {
        let tests: [SQL] = parts.map { b in "Intersects(\(sql: alias).geom, BuildMbr(\(b.west), \(b.south), \(b.east), \(b.north), 4326))" }
        return "(\(tests.joined(separator: " OR ")))"
    }

    /// `?, ?, …` for a list of values, bound.
    static func list(_ values: [some DatabaseValueConvertible]) -> SQL {
        values.map { v -> SQL in "\(v)" }.joined(separator: ", ")
    }
}

extension StoredFeature {
    /// ``columns(_:alias:)`` as an SQL literal.
    static func selection(_ layer: Layer, alias: String = "t") -> SQL { SQL(sql: columns(layer, alias: alias)) }
    /// ``pointColumns(alias:)`` as an SQL literal.
    static func pointSelection(alias: String = "t") -> SQL { SQL(sql: pointColumns(alias: alias)) }
}

extension Database {
    func rows(_ sql: SQL, cached: Bool = false) throws -> [Row] { try Row.fetchAll(self, SQLRequest<Row>(literal: sql, cached: cached)) }
    /// `cached`: the statement is prepared once per connection (for fixed-shape statements on hot paths).
    func row(_ sql: SQL, cached: Bool = false) throws -> Row? { try Row.fetchOne(self, SQLRequest<Row>(literal: sql, cached: cached)) }
    func rowCursor(_ sql: SQL) throws -> RowCursor { try Row.fetchCursor(self, SQLRequest<Row>(literal: sql)) }
    func value<T: DatabaseValueConvertible & StatementColumnConvertible>(_ sql: SQL, as _: T.Type = T.self, cached: Bool = false) throws -> T? {
        try T.fetchOne(self, SQLRequest<T>(literal: sql, cached: cached))
    }
    func values<T: DatabaseValueConvertible & StatementColumnConvertible>(_ sql: SQL, as _: T.Type = T.self) throws -> [T] {
        try T.fetchAll(self, SQLRequest<T>(literal: sql))
    }
    /// The `detail` column of SQLite's plan for a statement, one entry per step.
    func queryPlan(_ sql: SQL) throws -> [String] {
        try rows("EXPLAIN QUERY PLAN \(sql)").map { $0["detail"] as String }
    }
}
