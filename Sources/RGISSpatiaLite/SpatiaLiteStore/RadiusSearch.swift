import Foundation
import GRDB
import RGISCore
import RGISGeodesy
import RGISStore

/// One radius search carried out by a chosen ``RadiusStrategy``, in one read.
struct RadiusSearch {
    let query: RadiusQuery
    var centre: Position { query.centre.position }
    var radiusMetres: Double { query.radius.value }
    var limit: Int { query.limit.value }
    var boxes: [BBox.Part] { SearchBox.around(centre, radiusMetres: radiusMetres) }
    /// Rows are read by key in slices: SQLite binds at most 32,766 values in one statement.
    static let slice = 10_000

    func run(_ db: Database, _ strategy: RadiusStrategy) throws -> FeaturePage {
        switch strategy {
        case .pointsInIndex: try pointsInIndex(db)
        case .pointCandidates: try pointCandidates(db)
        case .exactDistance: try exactDistance(db)
        }
    }

    /// The statements each strategy runs (with placeholder keys where it reads rows by key), for plans.
    func statements(_ strategy: RadiusStrategy) throws -> [SQL] {
        switch strategy {
        case .pointsInIndex: [indexEntriesSQL(), Self.rowsByKeySQL(layer: query.layer.layer, [1, 2], points: true)]
        case .pointCandidates: [try candidatesSQL(), Self.rowsByKeySQL(layer: query.layer.layer, [1, 2], points: true)]
        case .exactDistance: [try exactDistanceSQL()]
        }
    }

    /// Whether a row at `(d, fid)` comes after the cursor.
    private func isAfterCursor(_ d: Double, _ fid: Int64) -> Bool {
        guard let after = query.after, let afterD = after.distanceMetres else { return true }
        return d > afterD || (d == afterD && fid > after.fid)
    }

    private func withDistance(_ feature: StoredFeature, _ d: Double) -> StoredFeature {
        var feature = feature
        feature.properties["distance_m"] = .double((d * 1000).rounded() / 1000)
        return feature
    }

    // MARK: Points in the index

    func indexEntriesSQL() -> SQL {
        let selects: [SQL] = boxes.map { b in
            "SELECT pkid, xmin, xmax, ymin, ymax FROM \(sql: SpatialSQL.rtree(query.layer.layer.table)) WHERE xmax >= \(b.west) AND xmin <= \(b.east) AND ymax >= \(b.south) AND ymin <= \(b.north)"
        }
        return selects.joined(separator: " UNION ALL ")
    }

    /// Each candidate's box in the R*Tree holds its point to within a few centimetres (SQLite stores the
    /// bounds as 32-bit floats, rounded outwards), which bounds its distance from both sides. Points
    /// surely inside or outside need no table row; only the page's rows, and the few whose bounds
    /// straddle the rim or the page's cut, are read, and their exact distances decide.
    private func pointsInIndex(_ db: Database) throws -> FeaturePage {
        // Metres per degree are at most 111.7 km (latitude, at the poles) and 111.32 km (longitude, at
        // the equator): half the box's diagonal in degrees times this bounds how far the point can be
        // from the box's centre.
        let metresPerDegree = 111_700.0
        let afterD = query.after?.distanceMetres ?? -1
        var candidates: [(low: Double, high: Double, fid: Int64)] = []
        let rows = try db.rowCursor(indexEntriesSQL())
        while let row = try rows.next() {
            let xmin: Double = row[1], xmax: Double = row[2], ymin: Double = row[3], ymax: Double = row[4]
            let d = Geodesic.distanceMetres(centre, Position(lon: (xmin + xmax) / 2, lat: (ymin + ymax) / 2))
            let slack = ((xmax - xmin) * (xmax - xmin) + (ymax - ymin) * (ymax - ymin)).squareRoot() / 2 * metresPerDegree + 1e-6
            guard d - slack <= radiusMetres, d + slack >= afterD else { continue }
            candidates.append((d - slack, d + slack, row[0]))
        }
        // `cut`: the `limit`-th smallest highest possible distance among the candidates surely on this
        // page's side of the rim and of the cursor. At least `limit` results lie within it, so the page
        // is among the candidates whose lowest possible distance is within it, and the others lie beyond.
        var cut = Double.infinity
        let sure = candidates.filter { $0.high <= radiusMetres && $0.low > afterD }.map(\.high).sorted()
        if sure.count >= limit { cut = sure[limit - 1] }
        let needed = candidates.filter { $0.low <= cut }
        guard !needed.isEmpty else { return FeaturePage(features: [], next: nil) }
        var hits: [(d: Double, feature: StoredFeature)] = []
        var beyondCut = false
        for feature in try Self.points(db, layer: query.layer.layer, needed.map(\.fid)) {
            let d = Geodesic.distanceMetres(centre, feature.position)
            guard d <= radiusMetres, isAfterCursor(d, feature.feature.fid) else { continue }
            // Beyond the cut a row may come after unread ones: it belongs to a later page.
            guard d <= cut else {
                beyondCut = true
                continue
            }
            hits.append((d, feature.feature))
        }
        hits.sort { ($0.d, $0.feature.fid) < ($1.d, $1.feature.fid) }
        let more = hits.count > limit || beyondCut || needed.count < candidates.count
        let page = hits.prefix(limit)
        let next = more ? page.last.map { PageCursor(distanceMetres: $0.d, fid: $0.feature.fid) } : nil
        return FeaturePage(features: page.map { withDistance($0.feature, $0.d) }, next: next)
    }

    // MARK: Point candidates with a filter

    func candidatesSQL() throws -> SQL {
        let table = query.layer.layer.table
        return """
            SELECT t.fid, X(t.geom), Y(t.geom) FROM \(sql: table) t
            WHERE \(SpatialSQL.candidates(query.layer.layer, boxes: boxes))\(try query.filter.sql(layer: query.layer))
            """
    }

    /// The R*Tree and the filter give candidates with their coordinates, PROJ's geodesic gives each
    /// distance, and only the page's rows are read whole.
    private func pointCandidates(_ db: Database) throws -> FeaturePage {
        var hits: [(d: Double, fid: Int64)] = []
        let rows = try db.rowCursor(try candidatesSQL())
        while let row = try rows.next() {
            let fid: Int64 = row[0]
            let d = Geodesic.distanceMetres(centre, Position(lon: row[1], lat: row[2]))
            guard d <= radiusMetres, isAfterCursor(d, fid) else { continue }
            hits.append((d, fid))
        }
        hits.sort { ($0.d, $0.fid) < ($1.d, $1.fid) }
        let pageHits = Array(hits.prefix(limit))
        var byFid: [Int64: StoredFeature] = [:]
        for point in try Self.points(db, layer: query.layer.layer, pageHits.map(\.fid)) { byFid[point.feature.fid] = point.feature }
        let features = pageHits.compactMap { hit in byFid[hit.fid].map { withDistance($0, hit.d) } }
        let next = hits.count > limit ? pageHits.last.map { PageCursor(distanceMetres: $0.d, fid: $0.fid) } : nil
        return FeaturePage(features: features, next: next)
    }

    // MARK: Exact distances in SQL

    func exactDistanceSQL() throws -> SQL {
        let layer = query.layer.layer
        var cursor: SQL = ""
        if let after = query.after, let d = after.distanceMetres {
            cursor = "WHERE h.d > \(d) OR (h.d = \(d) AND h.fid > \(after.fid))"
        }
        return """
            WITH c(pt) AS MATERIALIZED (SELECT MakePoint(\(centre.lon), \(centre.lat), 4326)),
            h(fid, d) AS MATERIALIZED (
                SELECT t.fid, ST_Distance(t.geom, c.pt, 1) FROM c, \(sql: layer.table) t
                WHERE \(SpatialSQL.candidates(layer, boxes: boxes)) AND ST_Distance(t.geom, c.pt, 1) <= \(radiusMetres)\(try query.filter.sql(layer: query.layer)))
            SELECT \(StoredFeature.selection(layer)), h.d FROM h JOIN \(sql: layer.table) t ON t.fid = h.fid
            \(cursor)
            ORDER BY h.d, h.fid LIMIT \(limit + 1)
            """
    }

    /// R*Tree candidates, then SpatiaLite's exact ellipsoidal distance (a polygon's nearest edge), once per hit.
    private func exactDistance(_ db: Database) throws -> FeaturePage {
        let layer = query.layer.layer
        let rows = try db.rows(try exactDistanceSQL())
        var features: [StoredFeature] = []
        var last: PageCursor?
        for row in rows.prefix(limit) {
            let d: Double = row[StoredFeature.columnCount(layer)]
            let feature = StoredFeature(row: row, layer: layer)
            last = PageCursor(distanceMetres: d, fid: feature.fid)
            features.append(withDistance(feature, d))
        }
        return FeaturePage(features: features, next: rows.count > limit ? last : nil)
    }

    // MARK: Rows by key

    static func rowsByKeySQL(layer: Layer, _ fids: some Collection<Int64>, points: Bool) -> SQL {
        let selection = points ? StoredFeature.pointSelection() : StoredFeature.selection(layer)
        return "SELECT \(selection) FROM \(sql: layer.table) t WHERE t.fid IN (\(SpatialSQL.list(Array(fids)))) ORDER BY t.fid"
    }

    /// Point features by storage key, in key order, with their positions (read from X/Y, not re-parsed).
    static func points(_ db: Database, layer: Layer, _ fids: [Int64]) throws -> [(feature: StoredFeature, position: Position)] {
        var out: [(StoredFeature, Position)] = []
        out.reserveCapacity(fids.count)
        let lonIndex = StoredFeature.columnCount(layer) - 1
        for start in stride(from: 0, to: fids.count, by: slice) {
            let rows = try db.rowCursor(rowsByKeySQL(layer: layer, fids[start..<min(start + slice, fids.count)], points: true))
            while let row = try rows.next() {
                out.append((StoredFeature(row: row, pointLayer: layer), Position(lon: row[lonIndex], lat: row[lonIndex + 1])))
            }
        }
        return out
    }
}
