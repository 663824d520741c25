import Foundation
import PostgresNIO
import RGISCore
import RGISGeodesy
import RGISStore

/// The operator's operations on a PostgreSQL store: import, info, check, text export.
extension PostGISStore {
    public func importFeatures(from input: FeatureInput, options: ImportOptions, progress: ((ImportProgress) -> Void)?) async throws -> ImportReport {
        defer { input.stop() }
        var options = options
        options.sourceSRID = input.sourceSRID
        let start = Date()
        let table = options.layer.table
        do {
            var report = options.upsert ? try await importReplacing(from: input, options: options, progress: progress) : try await transaction { session in
                var job = FeatureImport(options: options)
                try await Self.checkSRID(options.sourceSRID, session)
                try await session.run(SQLText(job.stagingTable()))
                // The input is read by this one task from start to end; the box only carries it across the call.
                let reading = OneReader(input: input, progress: progress)
                try await session.connection.copyFrom(table: "import_rows", columns: job.stagingColumns, logger: logger) { writer in
                    try await job.stream(reading.input, to: writer, progress: reading.progress)
                }
                if job.report.rowsRead == 0 { throw RGISError(.invalidValue, "holds no features; nothing was imported") }
                try await session.run(SQLText("CREATE TEMP TABLE import_shaped ON COMMIT DROP AS SELECT s.n, \(job.geometryExpression) AS geom FROM import_rows s"))
                var problems = try await job.problems(session)
                if let failure = job.readFailure {
                    problems.append((failure.n, failure.error.reason))
                    problems.sort { $0.n < $1.n }
                }
                if let first = problems.first, !options.skipInvalid || job.readFailure?.n == first.n {
                    let code: RGISError.Code = job.readFailure?.n == first.n ? job.readFailure!.error.code
                        : first.reason.hasPrefix("duplicate id") ? .conflict : .invalidValue
                    throw RGISError(code, first.reason, at: job.location(first.n))
                }
                if !problems.isEmpty {
                    for problem in problems { job.report.reject(job.location(problem.n), problem.reason) }
                    var drop = SQLText("DELETE FROM import_rows WHERE n = ANY(")
                    drop.bind(problems.map { Int32($0.n) })
                    drop.sql(")")
                    try await session.run(drop)
                }
                // Into an empty layer, the indexes (but those of the keys) are built once, after the load.
                let empty = try await session.int(SQLText("SELECT count(*) FROM (SELECT 1 FROM \(table) LIMIT 1) e")) == 0
                let rebuilt = empty ? try await Self.dropIndexes(of: table, session) : []
                let fields = options.layer.fields.map(\.name)
                let fieldList = fields.map { "s.\($0)" }.joined(separator: ", ")
                let area = options.layer == .parcels ? fieldList.replacingOccurrences(of: "s.area_m2", with: "COALESCE(s.area_m2, ST_Area(g.geom::geography)) AS area_m2") : fieldList
                // Numbered in file order: fids follow the file, and a generated id is the prefix and the fid.
                try await session.run(SQLText("""
                    CREATE TEMP TABLE import_numbered ON COMMIT DROP AS
                    SELECT nextval(pg_get_serial_sequence('\(table)', 'fid')) AS fid, o.* FROM (
                        SELECT s.n, s.id AS given_id, \(area), s.extra, g.geom\(options.layer == .listings ? ", " + FeatureImport.privateColumns.map { "s.\($0)" }.joined(separator: ", ") : "")
                        FROM import_rows s JOIN import_shaped g USING (n) ORDER BY s.n) o
                    """))
                let idExpression = "COALESCE(given_id, '\(options.layer.generatedIDPrefix)' || fid)"
                let placed = PostGISSchema.placedPoints.first { $0.table == table }
                if let placed { try await Self.placeImported(point: placed.point("geom"), session) }
                let placedColumns = placed == nil ? "" : DistrictLevel.allCases.map { ", \($0.rawValue)_fid" }.joined()
                let inserted = try await session.rows(SQLText("""
                    WITH i AS (INSERT INTO \(table) (fid, id, \(fields.joined(separator: ", ")), extra, geom\(placedColumns))
                        SELECT fid, \(idExpression), \(fields.joined(separator: ", ")), extra, geom\(placedColumns)
                        FROM import_numbered\(placed == nil ? "" : " LEFT JOIN import_placed USING (fid)") ORDER BY fid RETURNING 1)
                    SELECT count(*) FROM i
                    """))
                if placed != nil { try await session.run("SELECT set_config('rgis.placed', '', true)") }
                job.report.inserted = Int(try inserted.first?[0].decode(Int64.self) ?? 0)
                for definition in rebuilt { try await session.run(SQLText(definition)) }
                if options.layer == .listings || options.layer == .demands {
                    // One moment for the whole import.
                    try await session.run(SQLText("""
                        INSERT INTO events (layer, record_id, kind, at)
                        SELECT '\(table)', \(idExpression), 'new', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                        FROM import_numbered ORDER BY fid
                        """))
                }
                if options.layer == .listings {
                    let columns = FeatureImport.privateColumns.joined(separator: ", ")
                    try await session.run(SQLText("""
                        INSERT INTO listing_private (listing_id, \(columns))
                        SELECT \(idExpression), \(columns) FROM import_numbered
                        WHERE \(FeatureImport.privateColumns.map { "\($0) IS NOT NULL" }.joined(separator: " OR "))
                        """))
                }
                if !job.clients.isEmpty {
                    // As one JSON array of rows: a text[] cannot hold the NULLs of absent segment fields.
                    let rows = JSONValue.array(job.clients.map { c in
                        var row: [String: JSONValue] = ["id": .string(c.id), "agent": .string(c.agent)]
                        for (key, value) in [("age_band", c.ageBand), ("household", c.household), ("income_band", c.incomeBand), ("stage", c.lifecycleStage)] {
                            if let value { row[key] = .string(value) }
                        }
                        return .object(row)
                    })
                    var q = SQLText("""
                        INSERT INTO clients (id, agent, age_band, household, income_band, lifecycle_stage)
                        SELECT id, agent, age_band, household, income_band, COALESCE(stage, 'initial_contact')
                        FROM jsonb_to_recordset(
                        """)
                    q.bind(rows.jsonText, as: "jsonb")
                    q.sql(") AS c(id text, agent text, age_band text, household text, income_band text, stage text) ON CONFLICT (id) DO NOTHING")
                    try await session.run(q)
                }
                try await session.run(SQLText("ANALYZE \(table)"))
                return job.report
            }
            report.seconds = Date().timeIntervalSince(start)
            report.source = input.description
            progress?(ImportProgress(rowsRead: report.rowsRead, bytesRead: input.bytesRead, totalBytes: input.totalBytes))
            return report
        } catch let error as RGISError {
            throw error.located(input.name)
        }
    }

    /// Drops a table's indexes but those of its keys (primary, unique), answering the statements that
    /// build them again.
    private static func dropIndexes(of table: String, _ session: Session) async throws -> [String] {
        let rows = try await session.rows(SQLText("""
            SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = '\(table)'::regclass AND NOT i.indisprimary AND NOT i.indisunique ORDER BY c.relname
            """))
        var definitions: [String] = []
        for row in rows {
            let name = try row[0].decode(String.self), definition = try row[1].decode(String.self)
            try await session.run(SQLText("DROP INDEX \(name)"))
            definitions.append(definition)
        }
        return definitions
    }

    /// Places the rows of `import_numbered` in the districts of every level (`import_placed`: fid and the
    /// lowest fid of each level's districts covering the row's point, as `PostGISSchema.placementOnBorders` places), a district at a time through an
    /// index on the points, so each polygon is prepared once for all the points it holds instead of
    /// once a row; then tells the row trigger to keep what it is given, for this transaction.
    private static func placeImported(point: String, _ session: Session) async throws {
        try await session.run(SQLText("CREATE TEMP TABLE import_points ON COMMIT DROP AS SELECT fid, \(point) AS p FROM import_numbered"))
        try await session.run("CREATE INDEX ON import_points USING gist (p)")
        try await session.run("ANALYZE import_points")
        let levels = DistrictLevel.allCases.map { "min(d.fid) FILTER (WHERE d.level = '\($0.rawValue)') AS \($0.rawValue)_fid" }.joined(separator: ", ")
        try await session.run(SQLText("""
            CREATE TEMP TABLE import_placed ON COMMIT DROP AS
            SELECT o.fid, \(levels) FROM districts d JOIN import_points o ON ST_Covers(d.geom, o.p) GROUP BY o.fid
            """))
        try await session.run("SELECT set_config('rgis.placed', 'on', true)")
    }

    /// `--upsert`: row by row through ``FeatureWriter`` (a row replaces the stored one with its id and
    /// logs its changes, as a record write does), in one transaction. With `--skip-invalid` each row
    /// runs under a savepoint, so that a row the server refuses leaves the transaction usable.
    private func importReplacing(from input: FeatureInput, options: ImportOptions, progress: ((ImportProgress) -> Void)?) async throws -> ImportReport {
        try await transaction { session in
            try await Self.checkSRID(options.sourceSRID, session)
            let writer = FeatureWriter(session: session, options: options)
            var report = ImportReport()
            while let row = try input.next() {
                report.rowsRead += 1
                do {
                    let record = try row.record.get()
                    if options.skipInvalid { try await session.run("SAVEPOINT import_row") }
                    do {
                        let stored = try await writer.write(record)
                        if options.skipInvalid { try await session.run("RELEASE SAVEPOINT import_row") }
                        if stored.inserted { report.inserted += 1 } else { report.updated += 1 }
                    } catch {
                        if options.skipInvalid { try await session.run("ROLLBACK TO SAVEPOINT import_row") }
                        throw error
                    }
                } catch let error as RGISError {
                    guard options.skipInvalid else { throw error.located(row.location) }
                    report.reject(row.location, error.reason)
                }
                if report.rowsRead % 2000 == 0 {
                    progress?(ImportProgress(rowsRead: report.rowsRead, bytesRead: input.bytesRead, totalBytes: input.totalBytes))
                }
            }
            if report.rowsRead == 0 { throw RGISError(.invalidValue, "holds no features; nothing was imported") }
            return report
        }
    }

    /// `.invalidValue` unless PostGIS knows the source's EPSG code.
    private static func checkSRID(_ srid: SRID, _ session: Session) async throws {
        var q = SQLText("SELECT count(*) FROM spatial_ref_sys WHERE srid = ")
        q.bind(srid.code)
        guard try await session.int(q) > 0 else { throw RGISError(.invalidValue, "--srid \(srid.code) is not a known EPSG code") }
    }

    public func isOwnFile(_ path: String) -> Bool { false }

    public func info() async throws -> DatabaseInfo {
        try await read { session in
            var layers: [LayerInfo] = []
            for layer in Layer.allCases {
                let row = try await session.rows(SQLText("""
                    SELECT n, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT count(*), ST_Extent(geom)::box3d FROM \(layer.table)) x(n, e)
                    """))[0]
                let total = Int(try row[0].decode(Int64.self))
                let extent: BBox? = try row[1].decode(Double?.self).flatMap { west in
                    try BBox(west: west, south: try row[2].decode(Double.self), east: try row[3].decode(Double.self), north: try row[4].decode(Double.self))
                }
                layers.append(LayerInfo(layer: layer, count: total, extent: extent, srid: .wgs84,
                                        geometryType: layer.storedGeometry == .point ? "POINT" : "MULTIPOLYGON", spatialIndex: true))
            }
            let clients = try await session.int("SELECT count(*) FROM clients")
            let events = try await session.int("SELECT count(*) FROM events")
            let bytes = try await session.int("SELECT pg_database_size(current_database())")
            let version = try await session.rows("SELECT max(name) FROM rgis_migrations")[0][0].decode(String?.self) ?? "none"
            return DatabaseInfo(path: location, schemaVersion: version, layers: layers, clients: clients, events: events, fileBytes: bytes)
        }
    }

    /// From `layer_statistics` (p09-statistics): one grouped read of a few rows a layer, no table counted.
    /// Where a layer's rows pile up they are folded into one, in a transaction of their own.
    public func layerStatistics() async throws -> [LayerStatistics] {
        let rows = try await rows("""
            SELECT layer, sum(features)::bigint, min(min_x), min(min_y), max(max_x), max(max_y), count(*) FROM layer_statistics GROUP BY layer
            """)
        var byLayer: [Layer: LayerStatistics] = [:]
        var piled: [String] = []
        try translating {
            for row in rows {
                let name = try row[0].decode(String.self)
                guard let layer = Layer(rawValue: name) else { continue }
                let count = Int(try row[1].decode(Int64.self))
                var extent: BBox?
                if count > 0, let w = try row[2].decode(Double?.self), let s = try row[3].decode(Double?.self),
                   let e = try row[4].decode(Double?.self), let n = try row[5].decode(Double?.self) {
                    extent = try? BBox(west: w, south: s, east: e, north: n)
                }
                byLayer[layer] = LayerStatistics(layer: layer, count: count, extent: extent)
                if try row[6].decode(Int64.self) > 100 { piled.append(name) }
            }
        }
        for layer in piled {
            _ = try? await transaction { session in
                try await session.run(SQLText("""
                    WITH gone AS (DELETE FROM layer_statistics WHERE layer = ? RETURNING *)
                    INSERT INTO layer_statistics SELECT ?, sum(features), min(min_x), min(min_y), max(max_x), max(max_y) FROM gone
                    """, [layer, layer]))
            }
        }
        return Layer.allCases.map { byLayer[$0] ?? LayerStatistics(layer: $0, count: 0, extent: nil) }
    }

    public func check(maxPerLayer: Int) async throws -> [CheckProblem] {
        try await read { session in
            var problems: [CheckProblem] = []
            for layer in Layer.allCases {
                var q = SQLText("SELECT id, ST_IsValidReason(geom) FROM \(layer.table) WHERE NOT ST_IsValid(geom) OR ST_SRID(geom) <> 4326 ORDER BY fid LIMIT ")
                q.bind(Int64(maxPerLayer))
                for row in try await session.rows(q) {
                    problems.append(CheckProblem(scope: layer.rawValue, message: "\(try row[0].decode(String.self)): geometry is not valid: \(try row[1].decode(String.self))"))
                }
                // The kept statistics against the table, in the same snapshot.
                let kept = try await session.int(SQLText("SELECT COALESCE(sum(features), 0)::bigint FROM layer_statistics WHERE layer = ?", [layer.table]))
                let counted = try await session.int(SQLText("SELECT count(*) FROM \(layer.table)"))
                if kept != counted {
                    problems.append(CheckProblem(scope: layer.rawValue, message: "layer_statistics says \(kept) features, the table holds \(counted)"))
                }
            }
            // Each placed record against where the placement rule (p12) puts its point now.
            for (table, point) in PostGISSchema.placedPoints {
                let stored = DistrictLevel.allCases.map { "r.\($0.rawValue)_fid" }.joined(separator: ", ")
                let now = DistrictLevel.allCases.map { PostGISSchema.holder($0, point("r.geom"), by: "ST_Covers") }.joined(separator: ", ")
                let misplaced = try await session.int(SQLText("SELECT count(*) FROM \(table) r WHERE r.geom IS NOT NULL AND (\(stored)) IS DISTINCT FROM (\(now))"))
                if misplaced > 0 {
                    problems.append(CheckProblem(scope: table, message: "\(misplaced) records are not placed in the districts that hold them now; importing the districts again places every record"))
                }
            }
            return problems
        }
    }

    /// GeoJSON, or CSV as the SpatiaLite file writes it (RFC 4180, CRLF): `id`, `lon` and `lat` for
    /// points or `wkt` for polygons, the layer's fields, then every source property kept in `extra`
    /// (the union over the rows, in name order). Pages by fid inside one snapshot: memory stays flat
    /// whatever the layer's size.
    public func exportText(layer: Layer, bbox: BBox?, format: TextExportFormat, write: (String) throws -> Void) async throws -> Int {
        let points = layer.storedGeometry == .point
        let geometry = points ? ["lon", "lat"] : ["wkt"]
        return try await read { session in
            func filtered(_ q: inout SQLText) {
                guard let bbox else { return }
                q.sql(" AND ")
                q.intersectsAny(bbox.parts)
            }
            var extras: [String] = []
            if format == .csv {
                var keys = SQLText("SELECT DISTINCT k.key COLLATE \"C\" FROM \(layer.table) t, jsonb_object_keys(t.extra::jsonb) k(key) WHERE jsonb_typeof(t.extra::jsonb) = 'object'")
                filtered(&keys)
                keys.sql(" ORDER BY 1")
                let reserved = Set(layer.fields.map(\.name) + geometry + ["id"])
                extras = try await session.rows(keys).map { try $0[0].decode(String.self) }.filter { !reserved.contains($0) }
                try write((["id"] + geometry + layer.fields.map(\.name) + extras).map(CSVText.field).joined(separator: ",") + "\r\n")
            } else {
                try write(#"{"type":"FeatureCollection","features":["#)
            }
            let geometryColumns = format == .geojson ? "" : points ? ", ST_X(t.geom), ST_Y(t.geom)" : ", ST_AsText(t.geom, 9)"
            let base = FeatureRows.count(layer)
            var written = 0
            var after = Int64.min
            while true {
                var q = SQLText("SELECT \(FeatureRows.columns(layer))\(geometryColumns) FROM \(layer.table) t WHERE t.fid > ")
                q.bind(after)
                filtered(&q)
                q.sql(" ORDER BY t.fid LIMIT 5000")
                let rows = try await session.rows(q)
                if rows.isEmpty { break }
                var text = ""
                for row in rows {
                    let feature = try FeatureRows.feature(row, layer: layer)
                    switch format {
                    case .geojson:
                        text += written == 0 ? "\n" : ",\n"
                        feature.write(to: &text)
                    case .csv:
                        var cells = [CSVText.field(feature.id)]
                        if points {
                            cells += [CSVText.cell(try row[base].decode(Double?.self).map(JSONValue.double)),
                                      CSVText.cell(try row[base + 1].decode(Double?.self).map(JSONValue.double))]
                        } else {
                            cells.append(CSVText.field(try row[base].decode(String?.self) ?? ""))
                        }
                        cells += (layer.fields.map(\.name) + extras).map { CSVText.cell(feature.properties[$0]) }
                        text += cells.joined(separator: ",") + "\r\n"
                    }
                    written += 1
                    after = feature.fid
                }
                try write(text)
            }
            if format == .geojson { try write("\n]}\n") }
            return written
        }
    }

    public func localCRS() async throws -> CRSReference? {
        let rows = try await lookup("SELECT value FROM rgis_settings WHERE name = 'local_crs'")
        guard let text = try rows.first?[0].decode(String.self) else { return nil }
        return try CRSReference(parsing: text)
    }

    public func setLocalCRS(_ crs: CRSReference?) async throws {
        if let crs {
            guard case .epsg = crs, CRSTransform.isKnown(crs) else {
                throw RGISError(.invalidValue, "\(crs.projName) is not a CRS PROJ knows by an EPSG code", at: "local-crs")
            }
            var q = SQLText("INSERT INTO rgis_settings (name, value) VALUES ('local_crs', ")
            q.bind(crs.projName)
            q.sql(") ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            try await run(q)
        } else {
            try await run("DELETE FROM rgis_settings WHERE name = 'local_crs'")
        }
    }

    /// The primary's WAL insert position (a standby's replay position): it moves with every committed
    /// write, so equal tokens mean nothing was written; no writer updates a shared row for it. It also
    /// moves with writes the token does not cover, which only costs a cache its entry.
    public func ping() async throws { try await run("SELECT 1") }

    public func storageHealth() -> StorageHealth { StorageHealth(fault: nil, refusedWrites: 0) }
}

/// An import's input and progress callback, handed to the COPY that reads them (one task, in order).
private struct OneReader: @unchecked Sendable {
    let input: FeatureInput
    let progress: ((ImportProgress) -> Void)?
}
