import GRDB
import RGISCore
import RGISStore

extension RGISDatabase {
    public func info() throws -> DatabaseInfo {
        try read { db in
            // Counts and extents as the store keeps them (`rgis check` compares the counts with the tables).
            let statistics = try LayerStatisticsTable.read(db)
            let layers = try Layer.allCases.map { layer in
                let kept = statistics.first { $0.layer == layer }
                let count = kept?.count ?? 0
                let extent = kept?.extent
                let meta = try Row.fetchOne(db, sql: """
                    SELECT srid, geometry_type, spatial_index_enabled FROM geometry_columns
                    WHERE f_table_name = ? AND f_geometry_column = 'geom'
                    """, arguments: [layer.table])
                let typeCode: Int = meta?[1] ?? 0
                return LayerInfo(
                    layer: layer, count: count, extent: extent, srid: SRID(meta?[0] ?? 0),
                    geometryType: typeCode == 1 ? "POINT" : typeCode == 6 ? "MULTIPOLYGON" : "type \(typeCode)",
                    spatialIndex: (meta?[2] as Int?) == 1
                )
            }
            let version = try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid DESC LIMIT 1") ?? "none"
            let pageCount = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return DatabaseInfo(
                path: path, schemaVersion: version, layers: layers,
                clients: try Int.fetchOne(db, sql: "SELECT count(*) FROM clients") ?? 0,
                events: try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
                fileBytes: pageCount * pageSize
            )
        }
    }
}
