import Foundation
import GRDB
import RGISCore
import RGISStore

/// Answers spatial queries on an RGIS database. The CLI and the server call the same functions.
///
/// Every query goes through a layer's R*Tree first (see ``SpatialSQL``), then decides exactly with
/// SpatiaLite: geodesic distances in metres on WGS84 (`ST_Distance(…, 1)`), GEOS predicates for polygons.
public struct QueryEngine: Sendable {
    public let database: RGISDatabase

    public init(_ database: RGISDatabase) {
        self.database = database
    }

    // MARK: Radius and nearest

    /// Features within `radius` metres of the centre, nearest first (ties by storage order), each with
    /// `distance_m`. Pages continue after ``RadiusQuery/after``.
    public func radius(_ query: RadiusQuery) throws -> FeaturePage {
        try query.filter.validate()
        return try database.read { db in
            try distanceSearch(db, layer: query.layer, centre: query.centre.position, radiusMetres: query.radius.value,
                               filter: query.filter, limit: query.limit.value, after: query.after)
        }
    }

    /// The `k` nearest features, with `distance_m`: radius searches that widen until `k` are found, so
    /// each step is an R*Tree lookup rather than a scan ordered by distance.
    public func nearest(_ query: NearestQuery) throws -> FeaturePage {
        try query.filter.validate()
        return try database.read { db in
            var radius = 250.0
            while true {
                let page = try distanceSearch(db, layer: query.layer, centre: query.centre.position, radiusMetres: radius,
                                              filter: query.filter, limit: query.k.value, after: nil)
                // Half the earth's circumference reaches every point.
                if page.features.count >= query.k.value || radius >= 20_100_000 {
                    return FeaturePage(features: page.features, next: nil)
                }
                radius = min(radius * 4, 20_100_000)
            }
        }
    }

    private func distanceSearch(_ db: Database, layer: QueryLayer, centre: Position, radiusMetres: Double,
                                filter: ListingFilter, limit: Int, after: PageCursor?) throws -> FeaturePage {
        if layer == .listings {
            return try pointDistanceSearch(db, centre: centre, radiusMetres: radiusMetres, filter: filter, limit: limit, after: after)
        }
        let query = try Self.distanceSQL(layer: layer, centre: centre, radiusMetres: radiusMetres, filter: filter, limit: limit, after: after)
        let rows = try Row.fetchAll(db, sql: query.sql, arguments: query.arguments)
        return page(rows, layer: layer.layer, limit: limit) { row, feature in
            let d: Double = row[StoredFeature.columnCount(layer.layer)]
            feature.properties["distance_m"] = .double((d * 1000).rounded() / 1000)
            return PageCursor(distanceMetres: d, fid: feature.fid)
        }
    }

    /// Radius search on points: the R*Tree and the filter give candidates with their coordinates, PROJ's
    /// geodesic gives each distance, and only the page's rows are read whole.
    private func pointDistanceSearch(_ db: Database, centre: Position, radiusMetres: Double, filter: ListingFilter,
                                     limit: Int, after: PageCursor?) throws -> FeaturePage {
        if let after, after.distanceMetres == nil {
            throw RGISError(.malformedInput, "cursor does not belong to a distance query", at: "parameter cursor")
        }
        if filter.isEmpty {
            return try pointDistanceSearchInIndex(db, centre: centre, radiusMetres: radiusMetres, limit: limit, after: after)
        }
        let query = try Self.pointCandidatesSQL(centre: centre, radiusMetres: radiusMetres, filter: filter)
        var hits: [(d: Double, fid: Int64)] = []
        let rows = try Row.fetchCursor(db, sql: query.sql, arguments: query.arguments)
        while let row = try rows.next() {
            let fid: Int64 = row[0]
            let d = Geodesic.distanceMetres(centre, Position(lon: row[1], lat: row[2]))
            guard d <= radiusMetres else { continue }
            if let after, let afterD = after.distanceMetres, d < afterD || (d == afterD && fid <= after.fid) { continue }
            hits.append((d, fid))
        }
        hits.sort { ($0.d, $0.fid) < ($1.d, $1.fid) }
        let pageHits = hits.prefix(limit)
        guard !pageHits.isEmpty else { return FeaturePage(features: [], next: nil) }
        let fetched = try Row.fetchAll(db, sql: "SELECT \(StoredFeature.columns(.listings)) FROM listings t WHERE t.fid IN (\(pageHits.map { _ in "?" }.joined(separator: ",")))",
                                       arguments: StatementArguments(pageHits.map(\.fid)))
        var byFid: [Int64: StoredFeature] = [:]
        for row in fetched {
            let feature = StoredFeature(row: row, layer: .listings)
            byFid[feature.fid] = feature
        }
        var features: [StoredFeature] = []
        features.reserveCapacity(pageHits.count)
        for hit in pageHits {
            guard var feature = byFid[hit.fid] else { continue }
            feature.properties["distance_m"] = .double((hit.d * 1000).rounded() / 1000)
            features.append(feature)
        }
        let next = hits.count > limit ? pageHits.last.map { PageCursor(distanceMetres: $0.d, fid: $0.fid) } : nil
        return FeaturePage(features: features, next: next)
    }

    /// Radius search on points without a filter, settled in the R*Tree: each candidate's box there holds
    /// its point to within a few centimetres (SQLite stores the bounds as 32-bit floats, rounded
    /// outwards), which bounds its distance from both sides. Points surely inside or outside need no
    /// table row; only the page's rows, and the few whose bounds straddle the rim or the page's cut,
    /// are read, and their exact distances decide.
    private func pointDistanceSearchInIndex(_ db: Database, centre: Position, radiusMetres: Double, limit: Int,
                                            after: PageCursor?) throws -> FeaturePage {
        let boxes = SearchBox.around(centre, radiusMetres: radiusMetres)
        let select = "SELECT pkid, xmin, xmax, ymin, ymax FROM idx_listings_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?"
        let sql = boxes.map { _ in select }.joined(separator: " UNION ALL ")
        // Metres per degree are at most 111.7 km (latitude, at the poles) and 111.32 km (longitude, at
        // the equator): half the box's diagonal in degrees times this bounds how far the point can be
        // from the box's centre.
        let metresPerDegree = 111_700.0
        var candidates: [(low: Double, high: Double, fid: Int64)] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(boxes.flatMap { [$0.west, $0.east, $0.south, $0.north] }))
        while let row = try rows.next() {
            let xmin: Double = row[1], xmax: Double = row[2], ymin: Double = row[3], ymax: Double = row[4]
            let d = Geodesic.distanceMetres(centre, Position(lon: (xmin + xmax) / 2, lat: (ymin + ymax) / 2))
            let slack = ((xmax - xmin) * (xmax - xmin) + (ymax - ymin) * (ymax - ymin)).squareRoot() / 2 * metresPerDegree + 1e-6
            guard d - slack <= radiusMetres else { continue }
            if let after, let afterD = after.distanceMetres, d + slack < afterD { continue }
            candidates.append((d - slack, d + slack, row[0]))
        }
        // `cut`: the `limit`-th smallest highest possible distance among the candidates surely on this
        // page's side of the rim and of the cursor. At least `limit` results lie within it, so the page
        // is among the candidates whose lowest possible distance is within it, and the others lie beyond.
        var cut = Double.infinity
        let afterD = after?.distanceMetres ?? -1
        let sure = candidates.filter { $0.high <= radiusMetres && $0.low > afterD }.map(\.high).sorted()
        if sure.count >= limit { cut = sure[limit - 1] }
        let needed = candidates.filter { $0.low <= cut }
        guard !needed.isEmpty else { return FeaturePage(features: [], next: nil) }
        var hits: [(d: Double, feature: StoredFeature)] = []
        var beyondCut = false
        let lonIndex = StoredFeature.columnCount(.listings) - 1
        for start in stride(from: 0, to: needed.count, by: 10_000) {
            let slice = needed[start..<min(start + 10_000, needed.count)]
            let fetched = try Row.fetchCursor(db, sql: """
                SELECT \(StoredFeature.pointColumns()) FROM listings t WHERE t.fid IN (\(slice.map { _ in "?" }.joined(separator: ",")))
                """, arguments: StatementArguments(slice.map(\.fid)))
            while let row = try fetched.next() {
                let d = Geodesic.distanceMetres(centre, Position(lon: row[lonIndex], lat: row[lonIndex + 1]))
                guard d <= radiusMetres else { continue }
                let fid: Int64 = row[0]
                if let after, let afterD = after.distanceMetres, d < afterD || (d == afterD && fid <= after.fid) { continue }
                // Beyond the cut a row may come after unread ones: it belongs to a later page.
                guard d <= cut else {
                    beyondCut = true
                    continue
                }
                hits.append((d, StoredFeature(row: row, pointLayer: .listings)))
            }
        }
        hits.sort { ($0.d, $0.feature.fid) < ($1.d, $1.feature.fid) }
        let more = hits.count > limit || beyondCut || needed.count < candidates.count
        let page = hits.prefix(limit)
        let features = page.map { hit -> StoredFeature in
            var feature = hit.feature
            feature.properties["distance_m"] = .double((hit.d * 1000).rounded() / 1000)
            return feature
        }
        let next = more ? page.last.map { PageCursor(distanceMetres: $0.d, fid: $0.feature.fid) } : nil
        return FeaturePage(features: features, next: next)
    }

    /// The candidates of a point radius search: storage key and coordinates, from the R*Tree and the filter.
    static func pointCandidatesSQL(centre: Position, radiusMetres: Double, filter: ListingFilter) throws -> (sql: String, arguments: StatementArguments) {
        let candidates = SpatialSQL.candidates(.listings, boxes: SearchBox.around(centre, radiusMetres: radiusMetres))
        let filterSQL = try filter.sql(layer: .listings)
        var arguments: StatementArguments = []
        let sql = "SELECT t.fid, X(t.geom), Y(t.geom) FROM listings t WHERE \(candidates.sql)\(filterSQL.sql)"
        return (namingPositional(sql, candidates.values + filterSQL.values, into: &arguments), arguments)
    }

    /// The SQL of a radius search: R*Tree candidates, the exact geodesic test, the distance once per hit.
    static func distanceSQL(layer: QueryLayer, centre: Position, radiusMetres: Double, filter: ListingFilter,
                            limit: Int, after: PageCursor?) throws -> (sql: String, arguments: StatementArguments) {
        let candidates = SpatialSQL.candidates(layer.layer, boxes: SearchBox.around(centre, radiusMetres: radiusMetres))
        let filterSQL = try filter.sql(layer: layer)
        // Points: PtDistWithin settles the radius cheaply; the distance is computed once per hit.
        let within = layer == .listings ? "PtDistWithin(t.geom, c.pt, :r, 1)" : "ST_Distance(t.geom, c.pt, 1) <= :r"
        var arguments: StatementArguments = ["lon": centre.lon, "lat": centre.lat, "r": radiusMetres, "limit": limit + 1]
        var cursorSQL = ""
        if let after {
            guard let d = after.distanceMetres else {
                throw RGISError(.malformedInput, "cursor does not belong to a distance query", at: "parameter cursor")
            }
            cursorSQL = "WHERE h.d > :afterD OR (h.d = :afterD AND h.fid > :afterFid)"
            arguments += ["afterD": d, "afterFid": after.fid]
        }
        let sql = """
            WITH c(pt) AS MATERIALIZED (SELECT MakePoint(:lon, :lat, 4326)),
            h(fid, d) AS MATERIALIZED (
                SELECT t.fid, ST_Distance(t.geom, c.pt, 1) FROM c, \(layer.layer.table) t
                WHERE \(candidates.sql) AND \(within)\(filterSQL.sql))
            SELECT \(StoredFeature.columns(layer.layer)), h.d FROM h JOIN \(layer.layer.table) t ON t.fid = h.fid
            \(cursorSQL)
            ORDER BY h.d, h.fid LIMIT :limit
            """
        // Named and positional arguments cannot mix in one statement: turn the positional ones into names.
        return (namingPositional(sql, candidates.values + filterSQL.values, into: &arguments), arguments)
    }

    // MARK: Polygon and bbox

    /// Features that intersect (or lie within) a polygon, in storage order.
    public func polygon(_ query: PolygonQuery) throws -> FeaturePage {
        try query.filter.validate()
        return try database.read { db in
            let wkb = Data(query.area.geometry.wkb)
            let check = try Row.fetchOne(db, sql: "SELECT IsValidReason(g), MbrMinX(g), MbrMinY(g), MbrMaxX(g), MbrMaxY(g) FROM (SELECT GeomFromWKB(?, 4326) AS g)", arguments: [wkb])
            guard let check, let reason = check[0] as String? else {
                throw RGISError(.invalidValue, "the polygon could not be read", at: "parameter geometry")
            }
            guard reason == "Valid Geometry" else {
                throw RGISError(.invalidValue, "the polygon is not valid: \(reason)", at: "parameter geometry")
            }
            let box = BBox.Part(west: check[1], south: check[2], east: check[3], north: check[4])
            let predicate = query.predicate == .within ? "ST_Within(t.geom, a.g)" : "ST_Intersects(t.geom, a.g)"
            return try storageOrderSearch(db, layer: query.layer, boxes: [box], exact: predicate, filter: query.filter,
                                          limit: query.limit.value, after: query.after,
                                          prefix: "WITH a(g) AS MATERIALIZED (SELECT GeomFromWKB(:wkb, 4326))", from: "a, ",
                                          arguments: ["wkb": wkb])
        }
    }

    /// Features whose geometry meets a bbox (CRS84; west > east crosses the antimeridian), in storage order.
    public func bbox(_ query: BBoxQuery) throws -> FeaturePage {
        try query.filter.validate()
        return try database.read { db in
            var arguments: StatementArguments = [:]
            let exact = query.bbox.parts.enumerated().map { (i, b) -> String in
                arguments += ["w\(i)": b.west, "s\(i)": b.south, "e\(i)": b.east, "n\(i)": b.north]
                return "Intersects(t.geom, BuildMbr(:w\(i), :s\(i), :e\(i), :n\(i), 4326))"
            }.joined(separator: " OR ")
            return try storageOrderSearch(db, layer: query.layer, boxes: query.bbox.parts, exact: "(\(exact))", filter: query.filter,
                                          limit: query.limit.value, after: query.after, prefix: "", from: "", arguments: arguments)
        }
    }

    private func storageOrderSearch(_ db: Database, layer: QueryLayer, boxes: [BBox.Part], exact: String, filter: ListingFilter,
                                    limit: Int, after: PageCursor?, prefix: String, from: String,
                                    arguments: StatementArguments) throws -> FeaturePage {
        let query = try Self.storageOrderSQL(layer: layer, boxes: boxes, exact: exact, filter: filter, limit: limit, after: after,
                                             prefix: prefix, from: from, arguments: arguments)
        let rows = try Row.fetchAll(db, sql: query.sql, arguments: query.arguments)
        return page(rows, layer: layer.layer, limit: limit) { _, feature in PageCursor(distanceMetres: nil, fid: feature.fid) }
    }

    /// The SQL of a search in storage order: R*Tree candidates, then the exact predicate `exact`.
    static func storageOrderSQL(layer: QueryLayer, boxes: [BBox.Part], exact: String, filter: ListingFilter,
                                limit: Int, after: PageCursor?, prefix: String, from: String,
                                arguments initial: StatementArguments) throws -> (sql: String, arguments: StatementArguments) {
        let candidates = SpatialSQL.candidates(layer.layer, boxes: boxes)
        let filterSQL = try filter.sql(layer: layer)
        var arguments = initial
        arguments += ["limit": limit + 1, "afterFid": after?.fid ?? Int64.min]
        if after?.distanceMetres != nil {
            throw RGISError(.malformedInput, "cursor belongs to a distance query", at: "parameter cursor")
        }
        let sql = """
            \(prefix)
            SELECT \(StoredFeature.columns(layer.layer)) FROM \(from)\(layer.layer.table) t
            WHERE \(candidates.sql) AND \(exact)\(filterSQL.sql) AND t.fid > :afterFid
            ORDER BY t.fid LIMIT :limit
            """
        return (namingPositional(sql, candidates.values + filterSQL.values, into: &arguments), arguments)
    }

    // MARK: Districts

    /// The districts containing a point, from the widest level down.
    public func districts(containing centre: Centre) throws -> FeaturePage {
        try database.read { db in
            let query = Self.containingSQL(centre.position)
            let rows = try Row.fetchAll(db, sql: query.sql, arguments: query.arguments)
            return FeaturePage(features: rows.map { StoredFeature(row: $0, layer: .districts) }, next: nil)
        }
    }

    static func containingSQL(_ p: Position) -> (sql: String, arguments: StatementArguments) {
        let candidates = SpatialSQL.candidates(.districts, boxes: [BBox.Part(west: p.lon, south: p.lat, east: p.lon, north: p.lat)])
        var arguments: StatementArguments = ["lon": p.lon, "lat": p.lat]
        let sql = """
            SELECT \(StoredFeature.columns(.districts)) FROM districts t
            WHERE \(candidates.sql) AND ST_Contains(t.geom, MakePoint(:lon, :lat, 4326))
            ORDER BY CASE t.level WHEN 'city' THEN 0 WHEN 'district' THEN 1 ELSE 2 END, t.fid
            """
        return (namingPositional(sql, candidates.values, into: &arguments), arguments)
    }

    /// A district and its direct children (first the district itself).
    public func district(id: String) throws -> FeaturePage {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(StoredFeature.columns(.districts)) FROM districts t WHERE t.id = ?
                UNION ALL
                SELECT * FROM (SELECT \(StoredFeature.columns(.districts)) FROM districts t WHERE t.parent_id = ? ORDER BY t.fid)
                """, arguments: [id, id])
            guard !rows.isEmpty else { throw RGISError(.notFound, "no district with id '\(id)'", at: "parameter id") }
            return FeaturePage(features: rows.map { StoredFeature(row: $0, layer: .districts) }, next: nil)
        }
    }

    /// The listings inside a district's polygon (and so inside its sub-districts), in storage order.
    public func listings(inDistrict id: String, filter: ListingFilter = ListingFilter(), limit: Limit, after: PageCursor? = nil) throws -> FeaturePage {
        try filter.validate()
        return try database.read { db in
            guard let box = try Row.fetchOne(db, sql: "SELECT MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) FROM districts WHERE id = ?", arguments: [id]) else {
                throw RGISError(.notFound, "no district with id '\(id)'", at: "parameter id")
            }
            return try storageOrderSearch(db, layer: .listings, boxes: [BBox.Part(west: box[0], south: box[1], east: box[2], north: box[3])],
                                          exact: "ST_Intersects(t.geom, a.g)", filter: filter, limit: limit.value, after: after,
                                          prefix: "WITH a(g) AS MATERIALIZED (SELECT geom FROM districts WHERE id = :district)",
                                          from: "a, ", arguments: ["district": id])
        }
    }

    // MARK: Helpers

    private func page(_ rows: [Row], layer: Layer, limit: Int,
                      decorate: (Row, inout StoredFeature) -> PageCursor) -> FeaturePage {
        var features: [StoredFeature] = []
        var last: PageCursor?
        for row in rows.prefix(limit) {
            var feature = StoredFeature(row: row, layer: layer)
            last = decorate(row, &feature)
            features.append(feature)
        }
        return FeaturePage(features: features, next: rows.count > limit ? last : nil)
    }

    /// Rewrites each `?` as `:p0`, `:p1`… and adds the positional values under those names, so that
    /// SQL pieces with positional arguments combine with named ones in one statement.
    static func namingPositional(_ sql: String, _ values: [any DatabaseValueConvertible],
                                 into arguments: inout StatementArguments) -> String {
        var out = ""
        var n = 0
        for ch in sql {
            if ch == "?" {
                out += ":p\(n)"
                arguments += ["p\(n)": values[n].databaseValue]
                n += 1
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
