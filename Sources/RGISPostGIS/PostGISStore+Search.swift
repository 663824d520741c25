import PostgresNIO
import RGISCore
import RGISStore

/// Radius, polygon, bbox and district searches, in PostGIS: metres on the geography (`ST_DWithin`
/// through the GiST index on `geom::geography`, exact spheroid distances), planar predicates on the
/// geometry through its GiST index, pages keyed by (distance, fid) or fid.
extension PostGISStore {
    public func radius(_ query: RadiusQuery) async throws -> FeaturePage {
        try query.filter.validate()
        if let after = query.after, after.distanceMetres == nil {
            throw RGISError(.malformedInput, "cursor does not belong to a distance query", at: "parameter cursor")
        }
        let layer = query.layer.layer
        let limit = query.limit.value
        let radius = query.radius.value
        var q = SQLText("WITH c(g) AS MATERIALIZED (SELECT ST_SetSRID(ST_MakePoint(")
        q.bind(query.centre.position.lon)
        q.sql(", ")
        q.bind(query.centre.position.lat)
        // The page's bound first: the index's KNN walk (`<->`, sphere distances) finds the page's worth of
        // rows nearest the centre that pass the filter and the cursor, and the farthest of them by the exact
        // spheroid distance bounds the whole exact page. The exact search then reads only that small
        // circle, however many the asked circle holds (a 5 km circle in a city holds hundreds of thousands).
        q.sql("), 4326)::geography), k(r) AS MATERIALIZED (SELECT max(ST_Distance(n.geom::geography, c.g)) FROM c, LATERAL (SELECT t.geom FROM \(layer.table) t WHERE ST_DWithin(t.geom::geography, c.g, ")
        q.bind(radius)
        q.sql(")")
        try query.filter.append(to: &q, layer: query.layer)
        if let after = query.after, let d = after.distanceMetres {
            q.sql(" AND ")
            Self.after(d, fid: after.fid, distance: "ST_Distance(t.geom::geography, c.g)", into: &q)
        }
        q.sql(" ORDER BY t.geom::geography <-> c.g LIMIT \(limit + 1)) n)")
        // Then the page's keys (exact distances, sorted, cut to the page), and only those rows read whole.
        // A millimetre of slack keeps a row at exactly the bound, whatever rounding ST_DWithin does.
        q.sql(", h(fid, d) AS MATERIALIZED (SELECT fid, d FROM (SELECT t.fid, ST_Distance(t.geom::geography, c.g) AS d FROM c, k, \(layer.table) t WHERE ST_DWithin(t.geom::geography, c.g, LEAST(")
        q.bind(radius)
        q.sql(", COALESCE(k.r + 0.001, 0)))")
        try query.filter.append(to: &q, layer: query.layer)
        q.sql(") AS s WHERE d <= ")
        q.bind(radius)
        if let after = query.after, let d = after.distanceMetres {
            q.sql(" AND ")
            Self.after(d, fid: after.fid, distance: "d", key: "fid", into: &q)
        }
        q.sql(" ORDER BY d, fid LIMIT \(limit + 1)) SELECT \(FeatureRows.columns(layer)), h.d FROM h JOIN \(layer.table) t ON t.fid = h.fid ORDER BY h.d, h.fid")
        let rows = try await rows(q)
        var features: [StoredFeature] = []
        var last: PageCursor?
        try translating {
            for row in rows.prefix(limit) {
                let d = try row[FeatureRows.count(layer)].decode(Double.self)
                var feature = try FeatureRows.feature(row, layer: layer)
                last = PageCursor(distanceMetres: d, fid: feature.fid)
                feature.properties["distance_m"] = .double((d * 1000).rounded() / 1000)
                features.append(feature)
            }
        }
        return FeaturePage(features: features, next: rows.count > limit ? last : nil)
    }

    /// One radius search over the whole earth: its first step is the index's KNN walk, so it reads
    /// about `k` rows wherever they are.
    public func nearest(_ query: NearestQuery) async throws -> FeaturePage {
        let page = try await radius(query.within(.everywhere))
        return FeaturePage(features: page.features, next: nil)
    }

    public func polygon(_ query: PolygonQuery) async throws -> FeaturePage {
        try query.filter.validate()
        try await checkValid(query.area)
        var q = SQLText("WITH a(g) AS MATERIALIZED (SELECT ")
        q.bindGeometry(query.area.geometry)
        q.sql(") SELECT \(FeatureRows.columns(query.layer.layer)) FROM a, \(query.layer.layer.table) t WHERE ")
        q.sql(query.predicate == .within ? "ST_Within(t.geom, a.g)" : "ST_Intersects(t.geom, a.g)")
        return try await storageOrderPage(q, layer: query.layer, filter: query.filter, limit: query.limit.value, after: query.after)
    }

    public func bbox(_ query: BBoxQuery) async throws -> FeaturePage {
        try query.filter.validate()
        var q = SQLText("SELECT \(FeatureRows.columns(query.layer.layer)) FROM \(query.layer.layer.table) t WHERE ")
        q.intersectsAny(query.bbox.parts)
        return try await storageOrderPage(q, layer: query.layer, filter: query.filter, limit: query.limit.value, after: query.after)
    }

    public func districts(containing point: Position) async throws -> FeaturePage {
        // The district holding the point at each level, by the placement rule (p12).
        var q = SQLText("SELECT \(FeatureRows.columns(.districts)) FROM districts t WHERE t.fid IN (SELECT min(d.fid) FROM districts d WHERE ST_Covers(d.geom, ST_SetSRID(ST_MakePoint(")
        q.bind(point.lon)
        q.sql(", ")
        q.bind(point.lat)
        q.sql("), 4326)) GROUP BY d.level) ORDER BY CASE t.level WHEN 'city' THEN 0 WHEN 'district' THEN 1 ELSE 2 END, t.fid")
        return FeaturePage(features: try await features(q, layer: .districts), next: nil)
    }

    public func district(id: String) async throws -> FeaturePage {
        var q = SQLText("(SELECT \(FeatureRows.columns(.districts)), 0 AS part FROM districts t WHERE t.id = ")
        q.bind(id)
        q.sql(") UNION ALL (SELECT \(FeatureRows.columns(.districts)), 1 FROM districts t WHERE t.parent_id = ")
        q.bind(id)
        q.sql(") ORDER BY part, fid")
        let features = try await features(q, layer: .districts)
        guard !features.isEmpty else { throw RGISError(.notFound, "no district with id '\(id)'", at: "parameter id") }
        return FeaturePage(features: features, next: nil)
    }

    public func listings(inDistrict id: String, filter: ListingFilter, limit: Limit, after: PageCursor?) async throws -> FeaturePage {
        try filter.validate()
        return try await read { session in
            var exists = SQLText("SELECT count(*) FROM districts WHERE id = ")
            exists.bind(id)
            guard try await session.int(exists) > 0 else { throw RGISError(.notFound, "no district with id '\(id)'", at: "parameter id") }
            // The listings placed in the district, so that districts of a level that tile a region list a
            // listing on their shared edge once (the box only narrows the rows read, through the index).
            let placed = DistrictLevel.allCases.map { "WHEN '\($0.rawValue)' THEN t.\($0.rawValue)_fid" }.joined(separator: " ")
            var q = SQLText("WITH a(g, fid, level) AS MATERIALIZED (SELECT geom, fid, level FROM districts WHERE id = ")
            q.bind(id)
            q.sql(") SELECT \(FeatureRows.columns(.listings)) FROM a, listings t WHERE t.geom && a.g AND CASE a.level \(placed) END = a.fid")
            return try await Self.storageOrderPage(session, q, layer: .listings, filter: filter, limit: limit.value, after: after)
        }
    }

    public func feature(_ layer: Layer, id: String) async throws -> StoredFeature {
        var q = SQLText("SELECT \(FeatureRows.columns(layer)) FROM \(layer.table) t WHERE t.id = ")
        q.bind(id)
        guard let feature = try await features(q, layer: layer).first else {
            throw RGISError(.notFound, "no feature '\(id)' in collection \(layer)", at: "featureId")
        }
        return feature
    }

    public func districts(level: DistrictLevel) async throws -> [StoredFeature] {
        var q = SQLText("SELECT \(FeatureRows.columns(.districts)) FROM districts t WHERE t.level = ")
        q.bind(level.rawValue)
        q.sql(" ORDER BY t.fid")
        return try await features(q, layer: .districts)
    }

    // MARK: Pieces

    /// `(distance > d OR (distance = d AND key > fid))`: the rows after a distance cursor.
    static func after(_ d: Double, fid: Int64, distance: String, key: String = "t.fid", into q: inout SQLText) {
        q.sql("(\(distance) > ")
        q.bind(d)
        q.sql(" OR (\(distance) = ")
        q.bind(d)
        q.sql(" AND \(key) > ")
        q.bind(fid)
        q.sql("))")
    }

    /// `.invalidValue` with GEOS's reason when a search polygon is not valid.
    func checkValid(_ area: SearchArea) async throws {
        var q = SQLText("SELECT ST_IsValidReason(")
        q.bindGeometry(area.geometry)
        q.sql(")")
        let reason = try await rows(q).first.flatMap { row in try? row[0].decode(String?.self) }
        guard let reason else { throw RGISError(.invalidValue, "the polygon could not be read", at: "parameter geometry") }
        guard reason == "Valid Geometry" else {
            throw RGISError(.invalidValue, "the polygon is not valid: \(reason)", at: "parameter geometry")
        }
    }

    /// The features a statement selects (``FeatureRows/columns(_:alias:)`` first).
    func features(_ q: SQLText, layer: Layer) async throws -> [StoredFeature] {
        let rows = try await rows(q)
        return try translating { try rows.map { try FeatureRows.feature($0, layer: layer) } }
    }

    func storageOrderPage(_ q: SQLText, layer: QueryLayer, filter: ListingFilter, limit: Int, after: PageCursor?) async throws -> FeaturePage {
        try await read { session in try await Self.storageOrderPage(session, q, layer: layer, filter: filter, limit: limit, after: after) }
    }

    /// A statement that selects features with a `WHERE` begun, finished with the filter and keyset-paged
    /// by fid (asking for one row more than the page, to know whether there is a next).
    static func storageOrderPage(_ session: Session, _ q: SQLText, layer: QueryLayer, filter: ListingFilter, limit: Int,
                                 after: PageCursor?) async throws -> FeaturePage {
        if after?.distanceMetres != nil {
            throw RGISError(.malformedInput, "cursor belongs to a distance query", at: "parameter cursor")
        }
        var q = q
        try filter.append(to: &q, layer: layer)
        if let after {
            q.sql(" AND t.fid > ")
            q.bind(after.fid)
        }
        q.sql(" ORDER BY t.fid LIMIT \(limit + 1)")
        let rows = try await session.rows(q)
        let features = try rows.prefix(limit).map { try FeatureRows.feature($0, layer: layer.layer) }
        return FeaturePage(features: features, next: rows.count > limit ? features.last.map { PageCursor(distanceMetres: nil, fid: $0.fid) } : nil)
    }
}
