import Foundation
import GRDB
import RGISCore
import RGISGeodesy
import RGISQuery
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// SpatiaLite's reach table (``DemandReach``, `demand_reach`) on real shapes: London's 33 boroughs
/// (large, concave, some with the centroid near an edge) and circles of 400 m around its 742
/// cycle-hire stations, all as search areas. That the reverse match over it equals containment at
/// every station is stated on every backend in the conformance suite (`MatchingConformance`).
@Suite("Demand reach table: bands and inner discs")
struct DemandReachTests {
    @Test("every vertex lies within its row's band of reach (PROJ's geodesic), and inner discs lie inside the area")
    func reachesAreSafe() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try Self.london(in: dir)
        let rows = try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.lon, r.lat, k.high_m, AsGeoJSON(d.geom), r.inside_sq, r.lon_scale,
                       ST_Contains(d.geom, ST_Buffer(MakePoint(r.lon, r.lat, 4326), 0)) AS centre_inside
                FROM demand_reach r JOIN demand_reach_bands k ON k.band = r.band JOIN demands d ON d.fid = r.fid
                """)
        }
        #expect(rows.count == 33 + 742)
        var tightest = Double.infinity
        for row in rows {
            let centre = Position(lon: row[0], lat: row[1])
            let geometry = try Geometry(geoJSON: JSONValue.parse(Array((row[3] as String).utf8)))
            let farthest = Self.vertices(geometry).map { Geodesic.distanceMetres(centre, $0) }.max() ?? 0
            let top: Double = row[2]
            #expect(farthest < top, "a vertex \(farthest) m away, band top \(top) m")
            tightest = min(tightest, top / farthest)
        }
        #expect(tightest < 1.35, "bands of 1.3: the reach is not grossly overstated")
        // Points just inside each inner disc (four directions) are inside the area by GEOS.
        let outsideInner = try db.read { db in
            try Int.fetchOne(db, sql: """
                WITH d4(dx, dy) AS (VALUES (1, 0), (-1, 0), (0, 1), (0, -1))
                SELECT count(*) FROM demand_reach r CROSS JOIN d4 JOIN demands d ON d.fid = r.fid
                WHERE r.inside_sq > 0
                  AND ST_Contains(d.geom, MakePoint(r.lon + d4.dx * Sqrt(r.inside_sq) * 0.999 / r.lon_scale, r.lat + d4.dy * Sqrt(r.inside_sq) * 0.999, 4326)) = 0
                """)!
        }
        #expect(outsideInner == 0)
    }

    /// Boroughs and circles as demands, stations as listings.
    static func london(in dir: TemporaryDirectory) throws -> RGISDatabase {
        let db = try dir.database()
        try db.loadShared("london/boroughs.geojson", into: .demands, idField: "GSS_CODE")
        try db.loadShared("london/cycle_hire.geojson", into: .demands, radiusMetres: 400)
        try db.loadShared("london/cycle_hire.geojson", into: .listings)
        return db
    }

    static func vertices(_ geometry: Geometry) -> [Position] {
        switch geometry {
        case .polygon(let rings): rings.flatMap { $0 }
        case .multiPolygon(let polygons): polygons.flatMap { $0.flatMap { $0 } }
        default: []
        }
    }
}
