import Foundation
import GRDB
import RGISCore
import RGISStore

/// Radius, polygon, bbox and district searches.
extension SpatiaLiteStore {
    public func radius(_ query: RadiusQuery) async throws -> FeaturePage {
        try query.filter.validate()
        if let after = query.after, after.distanceMetres == nil {
            throw RGISError(.malformedInput, "cursor does not belong to a distance query", at: "parameter cursor")
        }
        return try await read { db in try RadiusSearch(query: query).run(db, RadiusStrategy.chosen(for: query)) }
    }

    /// Radius searches that widen fourfold from 250 m until `k` are found: each step is an R*Tree
    /// lookup, where SQLite has no index walk ordered by distance.
    public func nearest(_ query: NearestQuery) async throws -> FeaturePage {
        try query.filter.validate()
        var radius = 250.0
        while true {
            let page = try await self.radius(query.within(RadiusMetres(widening: radius)))
            if page.features.count >= query.k.value || radius >= RadiusMetres.everywhere.value {
                return FeaturePage(features: page.features, next: nil)
            }
            radius = min(radius * 4, RadiusMetres.everywhere.value)
        }
    }

    public func polygon(_ query: PolygonQuery) async throws -> FeaturePage {
        try query.filter.validate()
        return try await read { db in try Self.page(db, try Self.polygonSQL(query, box: try Self.validBox(db, query.area)), query.layer, query.limit.value) }
    }

    public func bbox(_ query: BBoxQuery) async throws -> FeaturePage {
        try query.filter.validate()
        return try await read { db in try Self.page(db, try Self.bboxSQL(query), query.layer, query.limit.value) }
    }

    public func districts(containing point: Position) async throws -> FeaturePage {
        try await read { db in
            FeaturePage(features: try db.rows(Self.containingSQL(point)).map { StoredFeature(row: $0, layer: .districts) }, next: nil)
        }
    }

    public func district(id: String) async throws -> FeaturePage {
        try await read { db in
            let rows = try db.rows("""
                SELECT \(StoredFeature.selection(.districts)) FROM districts t WHERE t.id = \(id)
                UNION ALL
                SELECT * FROM (SELECT \(StoredFeature.selection(.districts)) FROM districts t WHERE t.parent_id = \(id) ORDER BY t.fid)
                """)
            guard !rows.isEmpty else { throw RGISError(.notFound, "no district with id '\(id)'", at: "parameter id") }
            return FeaturePage(features: rows.map { StoredFeature(row: $0, layer: .districts) }, next: nil)
        }
    }

    public func listings(inDistrict id: String, filter: ListingFilter, limit: Limit, after: PageCursor?) async throws -> FeaturePage {
        try filter.validate()
        return try await read { db in
            guard let box = try db.row("SELECT MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) FROM districts WHERE id = \(id)") else {
                throw RGISError(.notFound, "no district with id '\(id)'", at: "parameter id")
            }
            // The listings placed in the district, so that districts of a level that tile a region list
            // a listing on their shared edge once (the box only narrows the rows read).
            let m = DistrictPlacement.lookupMarginDegrees
            let area = BBox.Part(west: box[0] - m, south: box[1] - m, east: box[2] + m, north: box[3] + m)
            return try Self.storageOrderPage(db, layer: .listings, boxes: [area],
                                             exact: SQL(sql: Self.placedIn(district: "a")), filter: filter, limit: limit.value, after: after,
                                             prefix: "WITH a(fid, level) AS MATERIALIZED (SELECT fid, level FROM districts WHERE id = \(id))", from: "a, ")
        }
    }

    // MARK: SQL

    /// The polygon's box, after GEOS has found it valid; `.invalidValue` with GEOS's reason otherwise.
    static func validBox(_ db: Database, _ area: SearchArea) throws -> BBox.Part {
        let wkb = Data(area.geometry.wkb)
        let check = try db.row("SELECT IsValidReason(g), MbrMinX(g), MbrMinY(g), MbrMaxX(g), MbrMaxY(g) FROM (SELECT GeomFromWKB(\(wkb), 4326) AS g)")
        guard let check, let reason = check[0] as String? else {
            throw RGISError(.invalidValue, "the polygon could not be read", at: "parameter geometry")
        }
        guard reason == "Valid Geometry" else {
            throw RGISError(.invalidValue, "the polygon is not valid: \(reason)", at: "parameter geometry")
        }
        return BBox.Part(west: check[1], south: check[2], east: check[3], north: check[4])
    }

    /// A search in storage order: R*Tree candidates, then the exact predicate `exact`, keyset-paged by fid.
    static func storageOrderSQL(layer: QueryLayer, boxes: [BBox.Part], exact: SQL, filter: ListingFilter, limit: Int,
                                after: PageCursor?, prefix: SQL = "", from: SQL = "") throws -> SQL {
        if after?.distanceMetres != nil {
            throw RGISError(.malformedInput, "cursor belongs to a distance query", at: "parameter cursor")
        }
        return """
            \(prefix)
            SELECT \(StoredFeature.selection(layer.layer)) FROM \(from)\(sql: layer.layer.table) t
            WHERE \(SpatialSQL.candidates(layer.layer, boxes: boxes)) AND \(exact)\(try filter.sql(layer: layer)) AND t.fid > \(after?.fid ?? Int64.min)
            ORDER BY t.fid LIMIT \(limit + 1)
            """
    }

    /// The statement of a polygon search, whose box GEOS has checked (``validBox(_:_:)``).
    static func polygonSQL(_ query: PolygonQuery, box: BBox.Part) throws -> SQL {
        let predicate: SQL = query.predicate == .within ? "ST_Within(t.geom, a.g)" : "ST_Intersects(t.geom, a.g)"
        return try storageOrderSQL(layer: query.layer, boxes: [box], exact: predicate, filter: query.filter, limit: query.limit.value,
                                   after: query.after, prefix: "WITH a(g) AS MATERIALIZED (SELECT GeomFromWKB(\(Data(query.area.geometry.wkb)), 4326))",
                                   from: "a, ")
    }

    static func bboxSQL(_ query: BBoxQuery) throws -> SQL {
        try storageOrderSQL(layer: query.layer, boxes: query.bbox.parts, exact: SpatialSQL.intersectsAny(query.bbox.parts),
                            filter: query.filter, limit: query.limit.value, after: query.after)
    }

    static func storageOrderPage(_ db: Database, layer: QueryLayer, boxes: [BBox.Part], exact: SQL, filter: ListingFilter, limit: Int,
                                 after: PageCursor?, prefix: SQL = "", from: SQL = "") throws -> FeaturePage {
        try page(db, try storageOrderSQL(layer: layer, boxes: boxes, exact: exact, filter: filter, limit: limit, after: after,
                                         prefix: prefix, from: from), layer, limit)
    }

    /// Runs a storage-order statement (which asks for `limit + 1` rows) as a page.
    static func page(_ db: Database, _ sql: SQL, _ layer: QueryLayer, _ limit: Int) throws -> FeaturePage {
        let rows = try db.rows(sql)
        let features = rows.prefix(limit).map { StoredFeature(row: $0, layer: layer.layer) }
        return FeaturePage(features: features, next: rows.count > limit ? features.last.map { PageCursor(distanceMetres: nil, fid: $0.fid) } : nil)
    }

    /// The district holding a point at each level, by the placement rule (``DistrictPlacement``).
    static func containingSQL(_ p: Position) -> SQL {
        let m = DistrictPlacement.lookupMarginDegrees
        let box = BBox.Part(west: p.lon - m, south: p.lat - m, east: p.lon + m, north: p.lat + m)
        return """
        SELECT \(StoredFeature.selection(.districts)) FROM districts t
        WHERE t.fid IN (SELECT min(d.fid) FROM districts d
                        WHERE \(SpatialSQL.candidates(.districts, alias: "d", boxes: [box]))
                          AND ST_Covers(d.geom, MakePoint(\(p.lon), \(p.lat), 4326)) = 1
                        GROUP BY d.level)
        ORDER BY CASE t.level WHEN 'city' THEN 0 WHEN 'district' THEN 1 ELSE 2 END, t.fid
        """
    }

    /// Whether listing `t` is placed in district `district` (a row with its `fid` and `level`).
    static func placedIn(district: String) -> String {
        let cases = DistrictLevel.allCases.map { "WHEN '\($0.rawValue)' THEN t.\(DistrictPlacement.column($0))" }.joined(separator: " ")
        return "CASE \(district).level \(cases) END = \(district).fid"
    }
}
