import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISStore

extension RGISDatabase {
    /// Imports a GeoJSON FeatureCollection or a CSV file into one layer, in one transaction.
    ///
    /// Either every row is stored or none is: the first bad feature aborts the import and rolls it
    /// back, unless `skipInvalid` is set, in which case bad features are listed in the report. A process
    /// killed mid-way leaves the database as it was (SQLite's journal). The file is streamed: memory does
    /// not grow with its size.
    ///
    /// - Parameter path: a file, or `-` for standard input, read by ``FeatureFiles``.
    public func importFeatures(
        from path: String,
        options: ImportOptions,
        progress: ((ImportProgress) -> Void)? = nil
    ) throws -> ImportReport {
        try refuseOwnFile(path, as: "import from")
        return try importFeatures(from: try FeatureFiles.open(path, options: options), options: options, progress: progress)
    }

    /// Imports what `input` reads; stops it when done (also on failure).
    public func importFeatures(
        from input: FeatureInput,
        options: ImportOptions,
        progress: ((ImportProgress) -> Void)? = nil
    ) throws -> ImportReport {
        defer { input.stop() }
        let name = input.name
        if let path = input.path { try refuseOwnFile(path, as: "import from") }
        let totalBytes = input.totalBytes
        var options = options
        options.sourceSRID = input.sourceSRID
        let source = input
        do {
            let start = Date()
            try files.checkAttached()
            var report = try translatingErrors {
                try pool.writeWithoutTransaction { [files] db in
                    // A larger page cache while importing: fewer dirty pages spill to the WAL mid-transaction.
                    let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
                    try db.execute(sql: "PRAGMA cache_size = -49152")
                    defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") }
                    var report = ImportReport()
                    try db.inTransaction(.immediate) {
                        try self.checkSRID(db, options.sourceSRID)
                        // Without --upsert every row is new, so the spatial index can be filled once at the end.
                        let bulk = options.upsert ? nil : try BulkSpatialIndex(db: db, layer: options.layer)
                        var writer = try LayerWriter(db: db, options: options, placing: bulk?.writerPlacesRows ?? false, collectingBoxes: bulk != nil)
                        while let row = try source.next() {
                            report.rowsRead += 1
                            do {
                                let record = try row.record.get()
                                switch try writer.write(record) {
                                case .inserted: report.inserted += 1
                                case .updated: report.updated += 1
                                }
                            } catch let error as RGISError {
                                guard options.skipInvalid else { throw error.located(row.location) }
                                report.reject(row.location, error.reason)
                            }
                            if report.rowsRead % 2000 == 0 {
                                progress?(ImportProgress(rowsRead: report.rowsRead, bytesRead: source.bytesRead, totalBytes: totalBytes))
                            }
                        }
                        if report.rowsRead == 0 {
                            throw RGISError(.invalidValue, "holds no features; nothing was imported")
                        }
                        try bulk?.finish(newBoxes: writer.takeNewBoxes(), geometriesChecked: writer.madeEveryPoint && options.layer == .listings,
                                          newCells: writer.takeNewCells())
                        // Every listing and demand is placed again in the districts as they now are.
                        if options.layer == .districts { try DistrictPlacement.placeAll(db) }
                        if let bulk, options.layer == .listings || options.layer == .demands {
                            // One moment for the whole import, worked out once: the column's default would format it per row.
                            // Into an empty table, in id order: the events' index on the id is then written in order
                            // (read from the table's own index on it); else in file order, from the new rows alone.
                            try db.execute(sql: """
                                INSERT INTO events (layer, record_id, kind, at)
                                SELECT ?, id, 'new', (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) FROM \(options.layer.table)
                                WHERE fid >= ? ORDER BY \(bulk.intoEmptyTable ? "id" : "fid")
                                """, arguments: [options.layer.table, bulk.firstNewFid])
                        }
                        try files.checkAttached()
                        return .commit
                    }
                    return report
                }
            }
            report.seconds = Date().timeIntervalSince(start)
            report.source = input.description
            progress?(ImportProgress(rowsRead: report.rowsRead, bytesRead: source.bytesRead, totalBytes: totalBytes))
            return report
        } catch let error as RGISError {
            throw error.located(name)
        }
    }

    private func checkSRID(_ db: Database, _ srid: SRID) throws {
        let known = try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM spatial_ref_sys WHERE srid = ?", arguments: [srid.code]) ?? false
        guard known else { throw RGISError(.invalidValue, "--srid \(srid.code) is not a known EPSG code") }
    }
}
