import Foundation
import GRDB
import RGISCore
import RGISQuery
import RGISStore

// In-process timings of RGIS queries against the raw SpatiaLite SQL they wrap, on one database file.
// Usage: rgis-bench DB [--runs N]   (listings must hold points; centres are drawn from their extent)
//        rgis-bench archive [--copies N] [--runs N]   (as-of reads on a replicated register; see ArchiveBench.swift)

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * p))]
}

struct Measure {
    let name: String
    let rgis: [Double]
    let raw: [Double]
    let rows: Int
}

func time(_ body: () throws -> Int) rethrows -> (Double, Int) {
    let start = DispatchTime.now().uptimeNanoseconds
    let n = try body()
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, n)
}

let arguments = CommandLine.arguments
if arguments.count >= 2, arguments[1] == "archive" {
    try archiveBenchmark(ArchiveBenchOptions(Array(arguments.dropFirst(2))))
    exit(0)
}
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: rgis-bench DB [--runs N]\n".utf8))
    exit(2)
}
let runs = arguments.firstIndex(of: "--runs").flatMap { Int(arguments[$0 + 1]) } ?? 200
let database = try RGISDatabase.open(at: arguments[1])
let engine = QueryEngine(database)
let info = try database.info()
guard let extent = info.layers.first(where: { $0.layer == .listings })?.extent else { fatalError("no listings") }
var random = SystemRandomNumberGenerator()
let centres = (0..<runs).map { _ in
    try! Centre(lon: Double.random(in: extent.west...extent.east, using: &random),
                lat: Double.random(in: extent.south...extent.north, using: &random))
}

func rawRadius(_ c: Position, _ r: Double, limit: Int?) throws -> Int {
    let boxes = SearchBox.around(c, radiusMetres: r)
    let b = boxes[0]
    return try database.read { db in
        let rows = try Row.fetchAll(db, sql: """
            SELECT l.fid, ST_Distance(l.geom, MakePoint(?, ?, 4326), 1) AS d FROM listings l
            WHERE l.fid IN (SELECT pkid FROM idx_listings_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?)
              AND PtDistWithin(l.geom, MakePoint(?, ?, 4326), ?, 1)
            ORDER BY d \(limit.map { "LIMIT \($0)" } ?? "")
            """, arguments: [c.lon, c.lat, b.west, b.east, b.south, b.north, c.lon, c.lat, r])
        return rows.count
    }
}

var results: [Measure] = []
for radius in [1000.0, 5000.0] {
    var ours: [Double] = [], raw: [Double] = [], rows = 0
    for c in centres {
        let (t, n) = try time { try engine.radius(RadiusQuery(centre: c, radius: RadiusMetres(radius), limit: Limit(10_000))).features.count }
        let (u, m) = try time { try rawRadius(c.position, radius, limit: nil) }
        precondition(n == m || n == 10_000, "radius result sizes differ: \(n) vs \(m)")
        ours.append(t); raw.append(u); rows += n
    }
    results.append(Measure(name: "radius \(Int(radius)) m, full result by distance", rgis: ours, raw: raw, rows: rows / runs))
}
do {
    var ours: [Double] = [], raw: [Double] = [], rows = 0
    for c in centres {
        let (t, n) = try time { try engine.nearest(NearestQuery(centre: c, k: Limit(100))).features.count }
        let (u, _) = try time { try rawRadius(c.position, 20_000, limit: 100) }
        ours.append(t); raw.append(u); rows += n
    }
    results.append(Measure(name: "nearest 100", rgis: ours, raw: raw, rows: rows / runs))
}
do {
    var ours: [Double] = [], raw: [Double] = [], rows = 0
    for c in centres {
        let d = 0.004
        let ring = (0..<50).map { i -> Position in
            let a = Double(i) / 50 * 2 * .pi
            return Position(lon: c.position.lon + d * cos(a) * (i % 2 == 0 ? 1 : 0.7), lat: c.position.lat + d * 0.6 * sin(a) * (i % 2 == 0 ? 1 : 0.7))
        }
        let polygon = Geometry.polygon([ring + [ring[0]]])
        let (t, n) = try time { try engine.polygon(PolygonQuery(area: SearchArea(polygon), limit: Limit(10_000))).features.count }
        let wkb = Data(polygon.wkb)
        let (u, m) = try time {
            try database.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT l.fid FROM listings l WHERE l.fid IN (SELECT pkid FROM idx_listings_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?)
                    AND ST_Intersects(l.geom, GeomFromWKB(?, 4326))
                    """, arguments: [c.position.lon - d, c.position.lon + d, c.position.lat - d, c.position.lat + d, wkb]).count
            }
        }
        precondition(n == m, "polygon result sizes differ: \(n) vs \(m)")
        ours.append(t); raw.append(u); rows += n
    }
    results.append(Measure(name: "polygon, 50 vertices", rgis: ours, raw: raw, rows: rows / runs))
}

print("\(arguments[1]): \(info.layers.map { "\($0.layer) \($0.count)" }.joined(separator: ", ")); \(runs) runs each\n")
print("| query | rows (mean) | RGIS p50 ms | RGIS p99 ms | raw SQL p50 ms | raw SQL p99 ms | RGIS / raw (p50) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for m in results {
    let ratio = percentile(m.rgis, 0.5) / percentile(m.raw, 0.5)
    print(String(format: "| %@ | %d | %.3f | %.3f | %.3f | %.3f | %.2f |", m.name, m.rows, percentile(m.rgis, 0.5), percentile(m.rgis, 0.99),
                 percentile(m.raw, 0.5), percentile(m.raw, 0.99), ratio))
}
