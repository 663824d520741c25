import GRDB
import RGISCore
import RGISStore

extension RGISDatabase {
    /// Runs SQLite's integrity check, then per layer: geometry validity, SRID and type, and whether the
    /// R*Tree holds exactly the stored geometries' boxes. Returns every problem found (empty when sound).
    ///
    /// First, whether another process (a server) still writes to files of this database that were
    /// deleted or replaced under it: what it acknowledges is then in files no other process reads.
    public func check(maxPerLayer: Int = 20) throws -> [CheckProblem] {
        let detached = DatabaseFiles.detachedHolders(of: path).map { holder in
            CheckProblem(scope: "files", message: """
                process \(holder.pid) (\(holder.command)) writes to a \(holder.kind) of this database that was deleted: \
                what it has written since is not in this file and is lost when it stops; stop it and start it again
                """)
        }
        let own = fileFault.map { [CheckProblem(scope: "files", message: $0)] } ?? []
        return try own + detached + read { db in
            var problems: [CheckProblem] = []
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            if integrity != ["ok"] {
                problems += integrity.prefix(maxPerLayer).map { CheckProblem(scope: "integrity", message: $0) }
            }
            for layer in Layer.allCases {
                let table = layer.table
                let scope = layer.rawValue
                let registered = try Row.fetchOne(db, sql: "SELECT srid, spatial_index_enabled FROM geometry_columns WHERE f_table_name = ?", arguments: [table])
                guard let registered else {
                    problems.append(CheckProblem(scope: scope, message: "geometry column is not registered in geometry_columns"))
                    continue
                }
                if (registered[0] as Int) != 4326 {
                    problems.append(CheckProblem(scope: scope, message: "geometry column is registered with SRID \(registered[0] as Int), not 4326"))
                }
                if (registered[1] as Int) != 1 {
                    problems.append(CheckProblem(scope: scope, message: "spatial index is disabled"))
                }
                let wrongSRID = try String.fetchAll(db, sql: "SELECT id FROM \(table) WHERE ST_SRID(geom) <> 4326 LIMIT ?", arguments: [maxPerLayer])
                problems += wrongSRID.map { CheckProblem(scope: scope, message: "record \($0): geometry SRID is not 4326") }
                if layer.storedGeometry != .point {
                    let invalid = try Row.fetchAll(db, sql: """
                        SELECT id, IsValidReason(geom) FROM \(table) WHERE ST_IsValid(geom) <> 1 LIMIT ?
                        """, arguments: [maxPerLayer])
                    problems += invalid.map { CheckProblem(scope: scope, message: "record \($0[0] as String): invalid geometry: \(($0[1] as String?) ?? "unknown reason")") }
                }
                problems += try spatialIndexProblems(db, table: table).map { CheckProblem(scope: scope, message: $0) }
                let counted = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
                let kept = try LayerStatisticsTable.count(db, layer)
                if counted != kept {
                    problems.append(CheckProblem(scope: scope, message: "layer_statistics says \(kept) features, the table holds \(counted)"))
                }
            }
            for (layer, n) in try DistrictPlacement.misplaced(db) {
                problems.append(CheckProblem(scope: layer.rawValue, message: "\(n) records are not placed in the districts that hold them now; importing the districts again places every record"))
            }
            let unpixelled = try ListingPixels.misplaced(db)
            if unpixelled > 0 {
                problems.append(CheckProblem(scope: "listings", message: "\(unpixelled) listings' map pixels (map_x, map_y) are not where their points lie"))
            }
            let miscounted = try ListingCells.differences(db)
            if miscounted > 0 {
                problems.append(CheckProblem(scope: "listings", message: "\(miscounted) map cells (listing_cells) do not hold the counts of the listings in them"))
            }
            return problems
        }
    }

    /// Compares the R*Tree with the table: every geometry has exactly one entry whose box holds the
    /// geometry's own box (SQLite's R*Tree stores 32-bit floats rounded outwards, hence the tolerance).
    /// Done here rather than with `CheckSpatialIndex`, which writes statistics and so fails on a reader.
    private func spatialIndexProblems(_ db: Database, table: String) throws -> [String] {
        let index = "idx_\(table)_geom"
        let repair = "rebuild it with SELECT RecoverSpatialIndex('\(table)', 'geom')"
        var problems: [String] = []
        let missing = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM \(table) t WHERE t.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \(index) r WHERE r.pkid = t.fid)
            """) ?? 0
        if missing > 0 { problems.append("\(missing) geometries are missing from the spatial index \(index); \(repair)") }
        let orphans = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM \(index) r WHERE NOT EXISTS (SELECT 1 FROM \(table) t WHERE t.fid = r.pkid AND t.geom IS NOT NULL)
            """) ?? 0
        if orphans > 0 { problems.append("\(orphans) entries of the spatial index \(index) have no geometry; \(repair)") }
        // SpatiaLite's insert trigger can round a box edge inwards by an ulp (a point at 13.359375000000002°
        // got 13.359375); a nanodegree is far below anything a query tells apart.
        let wrongBoxes = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM \(table) t JOIN \(index) r ON r.pkid = t.fid
            WHERE r.xmin > MbrMinX(t.geom) + 1e-9 OR r.xmax < MbrMaxX(t.geom) - 1e-9 OR r.ymin > MbrMinY(t.geom) + 1e-9 OR r.ymax < MbrMaxY(t.geom) - 1e-9
               OR MbrMinX(t.geom) - r.xmin > 1e-4 OR r.xmax - MbrMaxX(t.geom) > 1e-4
               OR MbrMinY(t.geom) - r.ymin > 1e-4 OR r.ymax - MbrMaxY(t.geom) > 1e-4
            """) ?? 0
        if wrongBoxes > 0 { problems.append("\(wrongBoxes) entries of the spatial index \(index) do not match their geometry's box; \(repair)") }
        // The tree itself: every node's box holds its children's, every entry is found from the root.
        let structure = try String.fetchOne(db, sql: "SELECT rtreecheck(?)", arguments: [index]) ?? "no answer"
        if structure != "ok" { problems.append("the spatial index \(index) is not a sound R*Tree (\(structure.prefix(300))); \(repair)") }
        return problems
    }
}
