import Foundation
import GRDB
import RGISCore

extension RGISDatabase {
    /// Imports a GeoJSON FeatureCollection or a CSV file into one layer, in one transaction.
    ///
    /// Either every row is stored or none is: the first bad feature aborts the import and rolls it
    /// back, unless `skipInvalid` is set, in which case bad features are listed in the report. A process
    /// killed mid-way leaves the database as it was (SQLite's journal). The file is streamed: memory does
    /// not grow with its size.
    ///
    /// - Parameter path: a file, or `-` for standard input.
    public func importFeatures(
        from path: String,
        options: ImportOptions,
        progress: ((ImportProgress) -> Void)? = nil
    ) throws -> ImportReport {
        let name = path == "-" ? "<stdin>" : path
        try refuseOwnFile(path, as: "import from")
        let handle: FileHandle
        var totalBytes: Int?
        // A FileGDB is a directory, which GDAL reads whole.
        var geodatabase = false
        if path == "-" {
            handle = .standardInput
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw RGISError(.notFound, "no such file", at: name)
            }
            geodatabase = isDirectory.boolValue && (path as NSString).pathExtension.lowercased() == "gdb"
            guard !isDirectory.boolValue || geodatabase else { throw RGISError(.io, "is a directory, not a file", at: name) }
            guard let opened = geodatabase ? FileHandle(forReadingAtPath: "/dev/null") : FileHandle(forReadingAtPath: path) else {
                throw RGISError(.io, "cannot be opened for reading", at: name)
            }
            handle = opened
            totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        }
        defer { if path != "-" { try? handle.close() } }

        var stream = ByteStream(fileChunks(handle))
        let head = (try? stream.peek(upTo: 8192)) ?? []
        // What the content says it is (whatever the name says): anything but GeoJSON and CSV goes to GDAL.
        let seen = geodatabase ? "a FileGDB directory" : SourceFormat.foreignFormat(head)
        let format = options.format ?? (seen != nil ? .gdal : SourceFormat.detect(path: path, firstByte: head.first))
        if format == .gdal && path == "-" {
            throw RGISError(.invalidValue, "is \(seen ?? "not GeoJSON or CSV"); GDAL reads files by path: give the file instead of standard input", at: name)
        }
        var options = options
        let fallbackSRID = options.sourceSRID
        // GDAL transforms to EPSG:4326 itself, from the file's CRS (else --srid).
        if format == .gdal { options.sourceSRID = .wgs84 }
        let builder = options.recordBuilder
        do {
            let file: any FeatureSource = switch format {
            case .geojson: GeoJSONFeatureSource(stream, builder: builder)
            case .csv: try CSVFeatureSource(stream, builder: builder, delimiter: SourceFormat.sniffDelimiter(head), decimalComma: options.decimalComma)
            case .gdal: try OGRFeatureSource(path: path, head: head, sourceLayer: options.sourceLayer, fallbackSRID: fallbackSRID, builder: builder, seen: seen)
            }
            let described = (file as? OGRFeatureSource)?.description
            var source = PrefetchedSource(file)
            defer { source.stop() }
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
            report.source = described
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
