import GRDB
import RGISCore

extension RGISDatabase {
    /// Writes a layer as an RFC 7946 FeatureCollection, feature by feature, through `write`.
    ///
    /// Features are in storage order, each with its stored id, its typed fields and the source properties
    /// kept in `extra`. A bbox selects through the R*Tree, then exactly with `Intersects`.
    /// - Returns: the number of features written.
    @discardableResult
    public func exportGeoJSON(layer: Layer, bbox: BBox? = nil, write: (String) throws -> Void) throws -> Int {
        try translatingErrors {
            try pool.read { db in
                var sql = "SELECT \(StoredFeature.columns(layer)) FROM \(layer.table) t"
                var arguments: StatementArguments = []
                if let bbox {
                    let candidates = SpatialSQL.candidates(layer, boxes: bbox.parts)
                    let exact = bbox.parts.map { _ in "Intersects(t.geom, BuildMbr(?, ?, ?, ?, 4326))" }.joined(separator: " OR ")
                    sql += " WHERE \(candidates.sql) AND (\(exact))"
                    arguments = StatementArguments(candidates.values)
                    for b in bbox.parts { arguments += [b.west, b.south, b.east, b.north] }
                }
                sql += " ORDER BY t.fid"
                try write(#"{"type":"FeatureCollection","features":["#)
                var count = 0
                let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                var buffer = ""
                while let row = try rows.next() {
                    buffer += count == 0 ? "\n" : ",\n"
                    StoredFeature(row: row, layer: layer).write(to: &buffer)
                    count += 1
                    if buffer.utf8.count > 1 << 16 {
                        try write(buffer)
                        buffer = ""
                    }
                }
                try write(buffer + "\n]}\n")
                return count
            }
        }
    }
}
