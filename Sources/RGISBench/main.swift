import Foundation
import GRDB
import RGISCore
import RGISQuery
import RGISSample
import RGISSpatiaLite
import RGISStore

// In-process timings of RGIS queries against the best raw SpatiaLite SQL for the same answer, on one
// database file. Every pair is checked to return the same features before its timing counts.
//
//   rgis-bench queries DB [--runs N] [--only radius|polygon|indicators|series|reverse|foresight] [--out results.json] [--peer-queries queries.json]
//   rgis-bench archive [--copies N] [--runs N]          (ArchiveBench.swift)
//
// --peer-queries writes the radius and polygon queries with RGIS's answers, for tools/bench to ask
// PostGIS the same questions and compare.

func percentile(_ xs: [Double], _ p: Double) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * p))]
}

func time(_ body: () throws -> Int) rethrows -> (Double, Int) {
    let start = DispatchTime.now().uptimeNanoseconds
    let n = try body()
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, n)
}

func value(_ arguments: [String], _ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

let arguments = CommandLine.arguments
switch arguments.count >= 2 ? arguments[1] : "" {
case "archive":
    try archiveBenchmark(ArchiveBenchOptions(Array(arguments.dropFirst(2))))
case "notify" where arguments.count >= 3:
    try await NotifyBenchmark(path: arguments[2], listings: value(arguments, "--listings").flatMap(Int.init) ?? 100_000).run(out: value(arguments, "--out"))
case "queries" where arguments.count >= 3:
    try QueryBenchmark(path: arguments[2], runs: value(arguments, "--runs").flatMap(Int.init) ?? 200, only: value(arguments, "--only")).run(
        out: value(arguments, "--out"), peerQueries: value(arguments, "--peer-queries"))
default:
    FileHandle.standardError.write(Data("usage: rgis-bench queries DB [--runs N] [--out FILE] [--peer-queries FILE] | rgis-bench notify DB [--listings N] [--out FILE] | rgis-bench archive [--copies N]\n".utf8))
    exit(2)
}

struct Measure {
    let name: String
    var rgis: [Double] = []
    var raw: [Double] = []
    var rows = 0
    var count = 0
    var disagreements: [String] = []
    /// Reverse matches whose best 50 settled before reading every fit.
    var settledEarly = 0

    init(_ name: String) { self.name = name }

    mutating func add(rgis t: Double, raw u: Double, rows n: Int) {
        rgis.append(t)
        raw.append(u)
        rows += n
        count += 1
    }

    var json: JSONValue {
        .object(["name": .string(name), "rows_mean": .int(Int64(rows / max(count, 1))), "runs": .int(Int64(count)),
                 "rgis_p50_ms": .double(percentile(rgis, 0.5)), "rgis_p99_ms": .double(percentile(rgis, 0.99)),
                 "raw_p50_ms": .double(percentile(raw, 0.5)), "raw_p99_ms": .double(percentile(raw, 0.99)),
                 "agree": .bool(disagreements.isEmpty), "disagreements": .array(disagreements.prefix(5).map(JSONValue.string)),
                 "settled_early": .int(Int64(settledEarly))])
    }
}

struct QueryBenchmark {
    let database: RGISDatabase
    let store: SpatiaLiteStore
    let engine: QueryEngine
    let runs: Int
    let extent: BBox
    let path: String
    /// One kind of measure only (radius, polygon, indicators, series, reverse), or all.
    let only: String?

    init(path: String, runs: Int, only: String? = nil) throws {
        self.path = path
        self.only = only
        database = try RGISDatabase.open(at: path)
        store = SpatiaLiteStore(database)
        engine = QueryEngine(store)
        self.runs = runs
        guard let extent = try database.info().layers.first(where: { $0.layer == .listings })?.extent else { fatalError("no listings in \(path)") }
        self.extent = extent
    }

    /// The best raw SQL for a radius answer sorted by distance: R*Tree prefilter, `PtDistWithin` to
    /// filter in metres, `ST_Distance(…, 1)` for the sort.
    func rawRadius(_ c: Position, _ r: Double, limit: Int) throws -> [Int64] {
        let b = SearchBox.around(c, radiusMetres: r)[0]
        return try database.read { db in
            try Int64.fetchAll(db, sql: """
                SELECT fid FROM (SELECT l.fid, ST_Distance(l.geom, MakePoint(?, ?, 4326), 1) AS d FROM listings l
                WHERE l.fid IN (SELECT pkid FROM idx_listings_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?)
                  AND PtDistWithin(l.geom, MakePoint(?, ?, 4326), ?, 1)
                ORDER BY d, l.fid LIMIT ?)
                """, arguments: [c.lon, c.lat, b.west, b.east, b.south, b.north, c.lon, c.lat, r, limit])
        }
    }

    func ids(_ page: FeaturePage) -> [Int64] { page.features.map(\.fid) }

    /// Equal sets; when a page was cut at `limit`, features tied within a millimetre at the cut may differ.
    func compare(_ name: String, _ ours: [Int64], _ raw: [Int64], limit: Int, into measure: inout Measure) {
        if Set(ours) == Set(raw) { return }
        if ours.count == limit, raw.count == limit, Set(ours.prefix(limit - 10)).isSubset(of: Set(raw)) { return }
        measure.disagreements.append("\(name): RGIS \(ours.count) rows, raw \(raw.count), \(Set(ours).symmetricDifference(raw).count) differ")
    }

    func run(out: String?, peerQueries: String?) throws {
        var random = SplitMix64(seed: 2026)
        let centres = (0..<runs).map { _ in
            Position(lon: random.uniform(extent.west...extent.east), lat: random.uniform(extent.south...extent.north))
        }
        var measures: [Measure] = []
        var peer: [JSONValue] = []
        let pageLimit = Limit.maximum

        func wants(_ kind: String) -> Bool { only == nil || only == kind }
        for radius in [1000.0, 5000.0] where wants("radius") {
            var m = Measure("radius \(Int(radius / 1000)) km, sorted by distance (first \(pageLimit))")
            for (i, c) in centres.enumerated() {
                var page: FeaturePage!
                let (t, n) = try time {
                    page = try blocking { try await engine.radius(RadiusQuery(centre: Centre(lon: c.lon, lat: c.lat), radius: RadiusMetres(radius), limit: Limit(pageLimit))) }
                    return page.features.count
                }
                var raw: [Int64] = []
                let (u, _) = try time { raw = try rawRadius(c, radius, limit: pageLimit); return raw.count }
                compare("centre \(i)", ids(page), raw, limit: pageLimit, into: &m)
                m.add(rgis: t, raw: u, rows: n)
                if i < 50 || radius == 1000 {
                    peer.append(.object(["measure": .string(m.name), "kind": .string("radius"), "lon": .double(c.lon), "lat": .double(c.lat),
                                         "radius_m": .double(radius), "limit": .int(Int64(pageLimit)), "rgis_ms": .double(t),
                                         "rgis_ids": .array(page.features.map { JSONValue.string($0.id) })]))
                }
            }
            measures.append(m)
        }

        var nearest = Measure("nearest 100 within 1 km (the agent's first page)")
        for (i, c) in centres.enumerated() where wants("radius") {
            var page: FeaturePage!
            let (t, n) = try time {
                page = try blocking { try await engine.radius(RadiusQuery(centre: Centre(lon: c.lon, lat: c.lat), radius: RadiusMetres(1000), limit: Limit(100))) }
                return page.features.count
            }
            var raw: [Int64] = []
            let (u, _) = try time { raw = try rawRadius(c, 1000, limit: 100); return raw.count }
            compare("centre \(i)", ids(page), raw, limit: 100, into: &nearest)
            nearest.add(rgis: t, raw: u, rows: n)
        }
        if wants("radius") { measures.append(nearest) }

        var polygons = Measure("drawn polygon, 50 vertices (about 900 × 700 m)")
        for (i, c) in centres.enumerated() where wants("polygon") {
            let d = 0.006
            let ring = (0..<50).map { k -> Position in
                let a = Double(k) / 50 * 2 * .pi
                let f = k % 2 == 0 ? 1 : 0.7
                return Position(lon: c.lon + d * cos(a) * f, lat: c.lat + d * 0.6 * sin(a) * f)
            }
            let polygon = Geometry.polygon([ring + [ring[0]]])
            var page: FeaturePage!
            let (t, n) = try time {
                page = try blocking { try await engine.polygon(PolygonQuery(area: SearchArea(polygon), limit: Limit(pageLimit))) }
                return page.features.count
            }
            let wkb = Data(polygon.wkb)
            var raw: [Int64] = []
            let (u, _) = try time {
                raw = try database.read { db in
                    try Int64.fetchAll(db, sql: """
                        SELECT l.fid FROM listings l WHERE l.fid IN (SELECT pkid FROM idx_listings_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?)
                        AND ST_Intersects(l.geom, GeomFromWKB(?, 4326)) ORDER BY l.fid LIMIT ?
                        """, arguments: [c.lon - d, c.lon + d, c.lat - d, c.lat + d, wkb, pageLimit])
                }
                return raw.count
            }
            compare("polygon \(i)", ids(page), raw, limit: pageLimit, into: &polygons)
            polygons.add(rgis: t, raw: u, rows: n)
            let wkt = "POLYGON((" + (ring + [ring[0]]).map { "\($0.lon) \($0.lat)" }.joined(separator: ",") + "))"
            peer.append(.object(["measure": .string(polygons.name), "kind": .string("polygon"), "wkt": .string(wkt), "rgis_ms": .double(t),
                                 "rgis_ids": .array(page.features.map { JSONValue.string($0.id) })]))
        }
        if wants("polygon") { measures.append(polygons) }

        if wants("indicators") { measures += try [indicators(.subdistrict), indicators(.district)] }
        if wants("series") { measures += try [series(kept: false), series(kept: true), alerts()] }
        if wants("reverse") { measures.append(try reverseMatch(centres: centres)) }
        // Asked for by name only: on a large region it reads every demand's fits.
        if only == "foresight" { measures += try foresight() }

        let info = try database.info()
        print("\(path): \(info.layers.map { "\($0.layer) \($0.count)" }.joined(separator: ", ")); \(runs) runs each\n")
        print("| query | rows (mean) | RGIS p50 ms | RGIS p99 ms | raw SQL p50 ms | raw SQL p99 ms | raw / RGIS (p50) | same answers |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for m in measures {
            print(String(format: "| %@ | %d | %.3f | %.3f | %.3f | %.3f | %.2f× | %@ |", m.name, m.rows / max(m.count, 1), percentile(m.rgis, 0.5),
                         percentile(m.rgis, 0.99), percentile(m.raw, 0.5), percentile(m.raw, 0.99), percentile(m.raw, 0.5) / percentile(m.rgis, 0.5),
                         m.disagreements.isEmpty ? "yes" : "NO: " + m.disagreements[0]))
        }
        if let reverse = measures.last, wants("reverse"), reverse.settledEarly > 0 {
            print("\nreverse match: \(reverse.settledEarly) of \(reverse.count) settled near the centres, before reading every fit")
        }
        if let out {
            let counts = JSONValue.object(Dictionary(uniqueKeysWithValues: info.layers.map { ($0.layer.rawValue, JSONValue.int(Int64($0.count))) }))
            try JSONValue.object(["database": .string(path), "layers": counts, "measures": .array(measures.map(\.json))]).jsonText
                .write(toFile: out, atomically: true, encoding: .utf8)
        }
        if let peerQueries { try JSONValue.array(peer).jsonText.write(toFile: peerQueries, atomically: true, encoding: .utf8) }
        if measures.contains(where: { !$0.disagreements.isEmpty }) {
            FileHandle.standardError.write(Data("rgis-bench: some answers differ from the raw SQL's (see the table)\n".utf8))
            exit(1)
        }
    }

    /// Every district's active listings of a level, against a raw spatial join + GROUP BY.
    func indicators(_ level: DistrictLevel) throws -> Measure {
        var m = Measure("district indicators, all \(level.rawValue)s")
        for _ in 0..<3 {
            var page: FeaturePage!
            let options = try IndicatorOptions(level: level, asOf: ISODate(parsing: "2026-11-23")!, periodStart: ISODate(parsing: "2025-11-23")!)
            // Computed afresh each time (what the first request after a write costs); kept, it is a lookup.
            let (t, n) = try time { page = try blocking { try await engine.indicators(options, reusing: false) }; return page.features.count }
            var raw: [String: Int] = [:]
            let (u, _) = try time {
                let rows = try database.read { db in
                    try Row.fetchAll(db, sql: """
                        SELECT d.id, count(l.fid), avg(l.list_price / l.living_area_m2)
                        FROM districts d CROSS JOIN idx_listings_geom r CROSS JOIN listings l
                        WHERE r.xmax >= MbrMinX(d.geom) AND r.xmin <= MbrMaxX(d.geom) AND r.ymax >= MbrMinY(d.geom) AND r.ymin <= MbrMaxY(d.geom)
                          AND l.fid = r.pkid AND ST_Contains(d.geom, l.geom)
                          AND d.level = ? AND l.status = 'active' GROUP BY d.id
                        """, arguments: [level.rawValue])
                }
                for row in rows { raw[row[0]] = row[1] }
                return rows.count
            }
            for f in page.features {
                guard let active = f.properties["active_listings"]?.number else { continue }
                if Int(active) != raw[f.id] ?? 0 { m.disagreements.append("\(f.id): RGIS \(Int(active)) active listings, raw \(raw[f.id] ?? 0)") }
            }
            m.add(rgis: t, raw: u, rows: n)
        }
        return m
    }

    /// A new listing at each centre against every demand: the demands whose area holds it and whose
    /// criteria it meets, against the same rules as raw SQL (R*Tree + `ST_Contains`).
    func reverseMatch(centres: [Position]) throws -> Measure {
        var m = Measure("reverse match: a new listing against all demands, best 50")
        var random = SplitMix64(seed: 7)
        for (i, c) in centres.enumerated() {
            let area = random.uniform(40...120), price = (area * random.uniform(2500...9000) / 1000).rounded() * 1000
            let bedrooms = max(0, Int(area / 32) - 1)
            let listing: JSONValue = .object(["type": .string("Feature"), "geometry": .object(["type": .string("Point"), "coordinates": .array([.double(c.lon), .double(c.lat)])]),
                                              "properties": .object(["list_price": .double(price), "living_area_m2": .double(area), "bedrooms": .int(Int64(bedrooms)),
                                                                     "property_type": .string("apartment")])])
            var page: FeaturePage!
            let (t, n) = try time { page = try blocking { try await engine.demands(matchingNewListing: listing) }; return page.features.count }
            var raw: [Int64] = []
            let (u, _) = try time {
                raw = try database.read { db in
                    try Int64.fetchAll(db, sql: """
                        SELECT d.fid FROM demands d
                        WHERE d.fid IN (SELECT pkid FROM idx_demands_geom WHERE xmin <= :x AND xmax >= :x AND ymin <= :y AND ymax >= :y)
                          AND ST_Contains(d.geom, MakePoint(:x, :y, 4326)) AND d.status = 'active'
                          AND (d.property_types IS NULL OR instr(',' || d.property_types || ',', ',' || :type || ',') > 0)
                          AND (d.bedrooms_min IS NULL OR :bedrooms >= d.bedrooms_min)
                          AND (d.budget_max IS NULL OR :price <= d.budget_max * 1.1)
                          AND (d.area_min_m2 IS NULL OR :area >= d.area_min_m2 * 0.9)
                          AND (d.area_max_m2 IS NULL OR :area <= d.area_max_m2 * 1.1)
                        """, arguments: ["x": c.lon, "y": c.lat, "price": price, "area": area, "bedrooms": bedrooms, "type": "apartment"])
                }
                return raw.count
            }
            // The best 50 are those of ranking every fit, which are among the raw answer, all counted.
            let facts = ListingFacts(price: price, livingAreaM2: area, bedrooms: bedrooms, propertyType: "apartment")
            let all = try blocking { QueryEngine.rank(try await store.demandsFitting(facts, at: c, reach: .everywhere), facts, at: c) }
            let rawIDs = Set(try database.read { db in try String.fetchAll(db, sql: "SELECT id FROM demands WHERE fid IN (\(raw.map(String.init).joined(separator: ",")))") })
            if all.count != raw.count { m.disagreements.append("listing \(i): RGIS fits \(all.count), raw \(raw.count)") }
            if let matched = page.numberMatched, matched != raw.count { m.disagreements.append("listing \(i): RGIS matched \(matched), raw \(raw.count)") }
            if page.numberMatched == nil { m.settledEarly += 1 }
            if page.features.map(\.id) != all.prefix(50).map(\.fit.id) || !Set(page.features.map(\.id)).isSubset(of: rawIDs) {
                m.disagreements.append("listing \(i): the best 50 are not those of ranking every fit")
            }
            m.add(rgis: t, raw: u, rows: n)
        }
        return m
    }
}

/// Waits for an async call from the benchmark's synchronous timing loops (never on the cooperative pool).
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, any Error>!
    Task {
        result = await Result(catching: { try await body() })
        done.signal()
    }
    done.wait()
    return try result.get()
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
