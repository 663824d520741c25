import GRDB
import RGISCore

/// SQL pieces that route a spatial predicate through a layer's R*Tree. Queries compose them; they
/// bind every value, so no caller input is ever spliced into SQL.
public enum SpatialSQL {
    /// `alias.fid IN (SELECT pkid FROM idx_<table>_geom WHERE <box overlaps>) [UNION …]`: the candidates
    /// whose stored box meets one of `boxes`. SQLite answers it from the R*Tree, never a table scan.
    public static func candidates(_ layer: Layer, alias: String = "t", boxes: [BBox.Part]) -> (sql: String, values: [Double]) {
        candidates(table: layer.table, alias: alias, boxes: boxes)
    }

    /// The same for any table with a SpatiaLite R*Tree on its `geom` column (the archive's versions).
    public static func candidates(table: String, alias: String = "t", boxes: [BBox.Part]) -> (sql: String, values: [Double]) {
        let select = "SELECT pkid FROM idx_\(table)_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?"
        let values = boxes.flatMap { [$0.west, $0.east, $0.south, $0.north] }
        return ("\(alias).fid IN (\(boxes.map { _ in select }.joined(separator: " UNION ALL ")))", values)
    }
}
