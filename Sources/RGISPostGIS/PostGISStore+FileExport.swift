import PostgresNIO
import RGISCore
import RGISFiles
import RGISStore

/// A layer written through GDAL (GeoPackage, zipped Shapefile, FlatGeobuf, XLSX) as the SpatiaLite
/// file writes it: the same columns and types, rows in fid order, paged inside one snapshot, the file
/// put in place whole.
extension PostGISStore {
    public func exportFile(layer: Layer, bbox: BBox?, format: ExportFormat, to path: String) async throws -> Int {
        guard format.gdalDriver != nil else { throw RGISError(.invalidValue, "\(format.rawValue) is written to standard output, not through GDAL", at: "format") }
        return try await AtomicFile.write(to: path, ending: format.fileExtension) { partial in
            try await read { session in
                func filtered(_ q: inout SQLText) {
                    guard let bbox else { return }
                    q.sql(" AND ")
                    q.intersectsAny(bbox.parts)
                }
                // The other source properties with the JSON types of their values, named as SQLite's json_each names them.
                var keys = SQLText("""
                    SELECT k.key COLLATE "C", array_agg(DISTINCT CASE jsonb_typeof(k.value)
                        WHEN 'number' THEN CASE WHEN k.value::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
                        WHEN 'string' THEN 'text' WHEN 'boolean' THEN k.value::text ELSE jsonb_typeof(k.value) END)
                    FROM \(layer.table) t, jsonb_each(t.extra::jsonb) k WHERE jsonb_typeof(t.extra::jsonb) = 'object'
                    """)
                filtered(&keys)
                keys.sql(" GROUP BY 1 ORDER BY 1")
                let reserved = Set(layer.fields.map(\.name) + FeatureFile.reservedNames(layer, format) + ["id"])
                let others = try await session.rows(keys).compactMap { row -> (name: String, kind: OGRFeatureWriter.PropertyKind)? in
                    let name = try row[0].decode(String.self)
                    return reserved.contains(name) ? nil : (name, OGRFeatureWriter.PropertyKind(jsonTypes: try row[1].decode([String].self)))
                }
                let writer = try OGRFeatureWriter(path: partial, format: format, layer: layer, otherProperties: others)
                let wkbColumn = FeatureRows.count(layer)
                var after = Int64.min
                while true {
                    var q = SQLText("SELECT \(FeatureRows.columns(layer)), ST_AsBinary(t.geom) FROM \(layer.table) t WHERE t.fid > ")
                    q.bind(after)
                    filtered(&q)
                    q.sql(" ORDER BY t.fid LIMIT 5000")
                    let rows = try await session.rows(q)
                    guard !rows.isEmpty else { break }
                    try translating {
                        for row in rows {
                            let feature = try FeatureRows.feature(row, layer: layer)
                            after = feature.fid
                            guard let wkb = try row[wkbColumn].decode(ByteBuffer?.self) else { continue }
                            try writer.add(id: feature.id, wkb: Array(buffer: wkb), properties: feature.properties)
                        }
                    }
                }
                try writer.finish()
                return writer.count
            }
        }
    }
}
