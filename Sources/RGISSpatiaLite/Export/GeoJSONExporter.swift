import GRDB
import RGISCore
import RGISStore

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
                var sql: SQL = "SELECT \(StoredFeature.selection(layer)) FROM \(sql: layer.table) t"
                if let bbox {
                    sql += " WHERE \(SpatialSQL.candidates(layer, boxes: bbox.parts)) AND \(SpatialSQL.intersectsAny(bbox.parts))"
                }
                sql += " ORDER BY t.fid"
                try write(#"{"type":"FeatureCollection","features":["#)
                var count = 0
                let rows = try db.rowCursor(sql)
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
