import GRDB
import RGISCore
import RGISStore

extension RGISDatabase {
    /// Writes a layer as CSV (RFC 4180, a header line, CRLF) for spreadsheets, row by row through
    /// `write`: `id`, `lon` and `lat` for points or `wkt` for polygons, the layer's fields, then every
    /// source property kept in `extra` (the union over the rows, in name order; empty where a row
    /// lacks it). Nested values are written as JSON text. Storage order; a bbox as in the GeoJSON export.
    /// - Returns: the number of rows written.
    @discardableResult
    public func exportCSV(layer: Layer, bbox: BBox? = nil, write: (String) throws -> Void) throws -> Int {
        try translatingErrors {
            try pool.read { db in
                let filter = Self.boxFilter(layer, bbox)
                let fields = layer.fields.map(\.name)
                let points = layer.storedGeometry == .point
                let geometryColumns = points ? ["lon", "lat"] : ["wkt"]
                let extras = try Self.otherPropertyNames(db, layer, filter: filter, besides: geometryColumns)
                try write((["id"] + geometryColumns + fields + extras).map(CSVText.field).joined(separator: ",") + "\r\n")
                let geometry: SQL = points ? "X(t.geom), Y(t.geom)" : "AsWKT(t.geom, 9)"
                let rows = try db.rowCursor("SELECT \(StoredFeature.selection(layer)), \(geometry) FROM \(sql: layer.table) t\(filter) ORDER BY t.fid")
                let base = StoredFeature.columnCount(layer)
                var count = 0
                var buffer = ""
                let text = CSVText.cell
                while let row = try rows.next() {
                    let feature = StoredFeature(row: row, layer: layer)
                    var cells = [CSVText.field(feature.id)]
                    if points {
                        cells += [text((row[base] as Double?).map(JSONValue.double)), text((row[base + 1] as Double?).map(JSONValue.double))]
                    } else {
                        cells.append(CSVText.field((row[base] as String?) ?? ""))
                    }
                    cells += (fields + extras).map { text(feature.properties[$0]) }
                    buffer += cells.joined(separator: ",") + "\r\n"
                    count += 1
                    if buffer.utf8.count > 1 << 16 {
                        try write(buffer)
                        buffer = ""
                    }
                }
                try write(buffer)
                return count
            }
        }
    }
}
