import Foundation
import GRDB
import RGISCore
import RGISQuery
import RGISSample
import RGISSpatiaLite
import RGISStore

// `rgis-bench archive [--copies N] [--runs N] [--geodata DIR] [--database FILE]`
//
// The Prague-Bubeneč register replicated N times side by side (each copy shifted east/north, ids
// prefixed `c<k>/`), with the scripted history of tools/archive_history.json replayed on every copy,
// then as-of reads timed: the whole register and a 300 m box, each against the same SQL without the
// R*Trees (a scan of the versions with the exact comparisons), which is what a plain table would do.

struct ArchiveBenchOptions {
    var copies = 100
    var runs = 200
    var geodata = "../shared/geodata"
    var history = "tools/archive_history.json"
    var database: String?

    init(_ arguments: [String]) {
        func value(_ name: String) -> String? { arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil } }
        copies = value("--copies").flatMap(Int.init) ?? copies
        runs = value("--runs").flatMap(Int.init) ?? runs
        geodata = value("--geodata") ?? geodata
        history = value("--history") ?? history
        database = value("--database")
    }
}

func archiveBenchmark(_ options: ArchiveBenchOptions) throws {
    let dx = 0.012, dy = 0.0085, perRow = 10
    func shift(_ k: Int) -> (Double, Double) { (Double(k % perRow) * dx, Double(k / perRow) * dy) }
    func shifted(_ value: JSONValue, _ k: Int) -> JSONValue {
        let (ox, oy) = shift(k)
        switch value {
        case .array(let items):
            if items.count == 2, let x = items[0].number, let y = items[1].number { return .array([.double(x + ox), .double(y + oy)]) }
            return .array(items.map { shifted($0, k) })
        default: return value
        }
    }
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("rgis-archive-bench-\(getpid())")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }

    // The replicated register as one GeoJSON file.
    let plots = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: options.geodata + "/prague-bubenec/plots.geojson"))))
    guard case .array(let features)? = plots["features"] else { fatalError("no features in plots.geojson") }
    var out = #"{"type":"FeatureCollection","features":["#
    for k in 0..<options.copies {
        for (i, feature) in features.enumerated() {
            guard case .object(var f) = feature, case .object(var properties)? = f["properties"], case .object(var geometry)? = f["geometry"] else { continue }
            properties["ID"] = .string("c\(k)/" + (properties["ID"]?.identifierText ?? ""))
            geometry["coordinates"] = shifted(geometry["coordinates"] ?? .null, k)
            f["properties"] = .object(properties)
            f["geometry"] = .object(geometry)
            out += (k == 0 && i == 0) ? "\n" : ",\n"
            JSONValue.object(f).write(to: &out)
        }
    }
    out += "\n]}\n"
    let registerFile = work.appendingPathComponent("register.geojson").path
    try out.write(toFile: registerFile, atomically: false, encoding: .utf8)

    let path = options.database ?? work.appendingPathComponent("archive.sqlite").path
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let database = try RGISDatabase.create(at: path)
    let archive = ArchiveRegister(database)
    let history = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: options.history))))
    guard case .array(let events)? = history["events"], let register = history["register"] else { fatalError("no events in \(options.history)") }

    func date(_ v: JSONValue?) throws -> ValidDate { try ValidDate(parsing: v?.identifierText ?? "") }
    func recorded(_ v: JSONValue?) throws -> RecordTime { try RecordTime(parsing: v?.identifierText ?? "", field: "recorded_at", day: .startOfDay) }
    var clock = DispatchTime.now().uptimeNanoseconds
    func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { clock = now }
        return Double(now - clock) / 1e9
    }
    _ = try archive.register(.parcels, fromFile: registerFile, idField: "ID",
                             record: ArchiveRecord(date: try date(register["date"]), recordedAt: try recorded(register["recorded_at"])))
    let registerSeconds = lap()

    // Every event on every copy, in record order (copies interleaved, so record time never goes back).
    var eventIDs = Array(repeating: [Int64](), count: options.copies)
    for event in events {
        for k in 0..<options.copies {
            let prefix = "c\(k)/"
            func id(_ v: JSONValue?) -> String { prefix + (v?.identifierText ?? "") }
            let record = ArchiveRecord(date: try date(event["date"]), recordedAt: try recorded(event["recorded_at"]), document: event["doc"]?.identifierText)
            let change: ArchiveChange
            switch event["op"]?.identifierText {
            case "transfer":
                var transfer = Transfer(parcel: id(event["parcel"]), to: event["to"]?.identifierText ?? "", share: try Share(parsing: event["share"]?.identifierText ?? "1"),
                                        type: try RightType(parsing: event["type"]?.identifierText ?? "ownership"))
                transfer.from = event["from"]?.identifierText
                change = try archive.transfer(transfer, record: record)
            case "split":
                guard case .array(let points)? = event["line"] else { fatalError("split without line") }
                let (ox, oy) = shift(k)
                let line = Geometry.lineString(points.map { point -> Position in
                    guard case .array(let xy) = point, xy.count == 2, let x = xy[0].number, let y = xy[1].number else { fatalError("bad line point") }
                    return Position(lon: x + ox, lat: y + oy)
                })
                change = try archive.split(parcel: id(event["parcel"]), line: line, record: record)
            case "merge":
                guard case .array(let parcels)? = event["parcels"] else { fatalError("merge without parcels") }
                let originalID = event["new_id"]?.identifierText ?? parcels.compactMap(\.identifierText).joined(separator: "+")
                change = try archive.merge(parcels: parcels.map(id), newID: prefix + originalID, record: record)
            case "correct":
                let target = eventIDs[k][Int(event["event_index"]?.number ?? 0)]
                change = try archive.correctTransfer(event: target, to: event["to"]?.identifierText ?? "", recordedAt: try recorded(event["recorded_at"]))
            default:
                fatalError("unknown op in history")
            }
            eventIDs[k].append(change.event)
        }
    }
    let replaySeconds = lap()

    let engine = QueryEngine(SpatiaLiteStore(database))
    let (versions, rights) = try database.read { db in
        (try Int.fetchOne(db, sql: "SELECT count(*) FROM archive_parcels")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM archive_rights")!)
    }
    guard case .array(let checks)? = history["checks"]?["asof"] else { fatalError("no checks") }
    let instants = try checks.filter { $0["bbox"] == nil }.map {
        (try DateTimeInterval(parsing: $0["date"]!.identifierText!), try RecordTime(parsing: $0["known_at"]!.identifierText!, field: "known_at", day: .endOfDay))
    }

    /// The as-of SQL alone (no rights, no GeoJSON), with or without the R*Trees, all pages.
    func sqlRows(_ query: ArchiveQuery, useIndexes: Bool) throws -> Int {
        try database.read { db in
            var q = query, count = 0
            while true {
                let rows = try Row.fetchAll(db, SQLRequest<Row>(literal: try SpatiaLiteStore.archiveSQL(db, q, useIndexes: useIndexes)))
                count += min(rows.count, q.limit.value)
                guard rows.count > q.limit.value else { return count }
                q.afterFid = rows[q.limit.value - 1][0]
            }
        }
    }
    /// The whole answer as the CLI and server give it: features with rights, every page.
    func answer(_ query: ArchiveQuery) throws -> Int {
        var q = query, count = 0
        while true {
            let asked = q
            let page = try blocking { try await engine.archive(asked) }
            count += page.features.count
            guard let next = page.next else { return count }
            q.afterFid = next.fid
        }
    }

    var rows: [(name: String, rows: Int, rgis: [Double], indexed: [Double], scan: [Double])] = []
    func measure(_ name: String, _ queries: [ArchiveQuery]) throws {
        var rgis: [Double] = [], indexed: [Double] = [], scan: [Double] = [], total = 0
        for query in queries {
            let (t, n) = try time { try answer(query) }
            let (u, m) = try time { try sqlRows(query, useIndexes: true) }
            let (v, o) = try time { try sqlRows(query, useIndexes: false) }
            precondition(n == m && m == o, "as-of results differ: \(n), \(m) with the indexes, \(o) without")
            rgis.append(t); indexed.append(u); scan.append(v); total += n
        }
        rows.append((name, total / max(queries.count, 1), rgis, indexed, scan))
    }
    // Most instants see nearly every parcel; one before the register's date, or known before it was recorded, sees none.
    let whole = try (0..<3).flatMap { _ in try instants.dropFirst().map { ArchiveQuery(valid: $0.0, knownAt: $0.1, limit: try Limit(Limit.maximum)) } }
    try measure("whole register (\(instants.count - 1) instants × 3)", whole)
    let early = try (0..<20).flatMap { _ in
        [ArchiveQuery(valid: instants[0].0, knownAt: instants[0].1, limit: try Limit(Limit.maximum)),
         ArchiveQuery(valid: try DateTimeInterval(parsing: "2015-06-01"), knownAt: try RecordTime(parsing: "2010-01-03", field: "known_at", day: .endOfDay),
                      limit: try Limit(Limit.maximum))]
    }
    try measure("whole register, before it was in force or recorded", early)
    var random = SplitMix64(seed: 7)
    let boxes = try (0..<options.runs).map { r -> ArchiveQuery in
        let k = Int(random.next() % UInt64(options.copies))
        let (ox, oy) = shift(k)
        let lon = 14.3984 + ox + Double(random.next() % 1000) / 1000 * 0.0085, lat = 50.0994 + oy + Double(random.next() % 1000) / 1000 * 0.0055
        var query = ArchiveQuery(valid: instants[r % instants.count].0, knownAt: instants[r % instants.count].1, limit: try Limit(Limit.maximum))
        query.bbox = try BBox(west: lon, south: lat, east: lon + 0.0042, north: lat + 0.0027)
        return query
    }
    try measure("300 × 300 m box (\(options.runs) boxes)", boxes)

    let plan = try database.read { db in
        var query = ArchiveQuery(valid: instants[0].0, knownAt: instants[0].1, limit: try Limit(100))
        query.bbox = try BBox(west: 14.40, south: 50.10, east: 14.404, north: 50.103)
        let sql = try SpatiaLiteStore.archiveSQL(db, query)
        return try Row.fetchAll(db, SQLRequest<Row>(literal: "EXPLAIN QUERY PLAN \(sql)")).map { $0["detail"] as String }
    }
    print("Archive: \(options.copies) copies of the Prague-Bubeneč register (\(features.count * options.copies) parcels), \(events.count * options.copies) events replayed; "
          + "\(versions) parcel versions, \(rights) rights rows. Register \(String(format: "%.1f", registerSeconds)) s, replay \(String(format: "%.1f", replaySeconds)) s "
          + "(\(String(format: "%.1f", Double(events.count * options.copies) / replaySeconds)) events/s).\n")
    print("| as-of query | rows (mean) | RGIS answer p50 ms | p99 ms | its SQL p50 ms | SQL without the R*Trees p50 ms | index speed-up (SQL p50) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows {
        print(String(format: "| %@ | %d | %.2f | %.2f | %.2f | %.2f | %.1f× |", r.name, r.rows, percentile(r.rgis, 0.5), percentile(r.rgis, 0.99),
                     percentile(r.indexed, 0.5), percentile(r.scan, 0.5), percentile(r.scan, 0.5) / percentile(r.indexed, 0.5)))
    }
    print("\nQuery plan of a box as-of read:\n" + plan.map { "    " + $0 }.joined(separator: "\n"))
}
