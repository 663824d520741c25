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
                let fields = layer.fields
                let columns = (["id"] + fields.map(\.name) + ["extra", "AsGeoJSON(geom, 9)"]).joined(separator: ", ")
                var sql = "SELECT \(columns) FROM \(layer.table)"
                var arguments: StatementArguments = []
                if let bbox {
                    let boxes = bbox.parts
                    let rtree = boxes.map { _ in
                        "SELECT pkid FROM idx_\(layer.table)_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?"
                    }.joined(separator: " UNION ")
                    let exact = boxes.map { _ in "Intersects(geom, BuildMbr(?, ?, ?, ?, 4326))" }.joined(separator: " OR ")
                    sql += " WHERE fid IN (\(rtree)) AND (\(exact))"
                    for b in boxes { arguments += [b.west, b.east, b.south, b.north] }
                    for b in boxes { arguments += [b.west, b.south, b.east, b.north] }
                }
                sql += " ORDER BY fid"
                try write(#"{"type":"FeatureCollection","features":["#)
                var count = 0
                let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                var buffer = ""
                while let row = try rows.next() {
                    buffer += count == 0 ? "\n" : ",\n"
                    FeatureWriter.write(row: row, fields: fields, to: &buffer)
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

/// Turns a row of `id, fields…, extra, geojson` into a GeoJSON Feature.
enum FeatureWriter {
    static func write(row: Row, fields: [Field], to out: inout String) {
        var properties: [String: JSONValue] = [:]
        let extraIndex = fields.count + 1
        if let extra: String = row[extraIndex], case .object(let object)? = try? JSONValue.parse(Array(extra.utf8)) {
            properties = object
        }
        for (i, field) in fields.enumerated() {
            let value = row[i + 1] as DatabaseValue
            switch value.storage {
            case .null: continue
            case .int64(let v): properties[field.name] = .int(v)
            case .double(let v): properties[field.name] = .double(v)
            case .string(let v): properties[field.name] = .string(v)
            case .blob: continue
            }
        }
        let id: String = row[0]
        let geometry: String = row[extraIndex + 1] ?? "null"
        out += #"{"type":"Feature","id":"#
        JSONValue.writeString(id, to: &out)
        out += #","geometry":"#
        out += geometry
        out += #","properties":"#
        JSONValue.object(properties).write(to: &out)
        out += "}"
    }
}
