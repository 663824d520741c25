import Foundation
import GRDB
import RGISCore
import RGISStore

/// OGC API – Features pages.
extension SpatiaLiteStore {
    public func items(_ query: ItemsQuery) async throws -> ItemsPage {
        try await read { db in
            if Self.itemsInIndex(query), let bbox = query.bbox {
                return try Self.pointItemsInIndex(db, query: query, bbox: bbox)
            }
            return try Self.itemsBySQL(db, query)
        }
    }

    public func feature(_ layer: Layer, id: String) async throws -> StoredFeature {
        try await read { db in
            guard let row = try db.row("SELECT \(StoredFeature.selection(layer)) FROM \(sql: layer.table) t WHERE t.id = \(id)") else {
                throw RGISError(.notFound, "no feature '\(id)' in collection \(layer)", at: "featureId")
            }
            return StoredFeature(row: row, layer: layer)
        }
    }

    /// Points in a box without other filters are paged and counted in one pass over the R*Tree.
    static func itemsInIndex(_ query: ItemsQuery) -> Bool {
        query.layer.storedGeometry == .point && query.bbox != nil && query.boxInGrid == nil && query.equals.isEmpty && query.datetime == nil && query.beforeFid == nil
    }

    private static func itemsBySQL(_ db: Database, _ query: ItemsQuery) throws -> ItemsPage {
        let condition = itemsWhere(query)
        let table = query.layer.table
        var page = ItemsPage()
        let select: SQL = "SELECT \(StoredFeature.selection(query.layer)) FROM \(sql: table) t WHERE \(condition)"
        if let before = query.beforeFid {
            // Backwards: the page before `before`, found by walking down, written in storage order.
            var paging: SQL = " AND t.fid < \(before)"
            if let after = query.afterFid { paging += " AND t.fid > \(after)" }
            let fids = try db.values("SELECT t.fid FROM \(sql: table) t WHERE \(condition)\(paging) ORDER BY t.fid DESC LIMIT \(query.limit.value + 1)",
                                     as: Int64.self)
            page.hasPrev = fids.count > query.limit.value
            page.hasNext = true
            if let low = fids.prefix(query.limit.value).last {
                let rows = try db.rowCursor("\(select) AND t.fid >= \(low) AND t.fid < \(before) ORDER BY t.fid")
                while let row = try rows.next() { page.append(StoredFeature(row: row, layer: query.layer)) }
            }
        } else {
            let rows = try db.rowCursor("\(select) AND t.fid > \(query.afterFid ?? Int64.min) ORDER BY t.fid LIMIT \(query.limit.value + 1)")
            while let row = try rows.next() {
                if page.numberReturned == query.limit.value {
                    page.hasNext = true
                    break
                }
                page.append(StoredFeature(row: row, layer: query.layer))
            }
            page.hasPrev = query.afterFid != nil && page.numberReturned > 0
        }
        // Counting is cheap when it needs no filter (the maintained count) or goes through the R*Tree.
        if query.equals.isEmpty && query.datetime == nil {
            if query.bbox == nil {
                page.numberMatched = try LayerStatisticsTable.count(db, query.layer)
            } else if query.layer.storedGeometry == .point, query.boxInGrid == nil, let bbox = query.bbox {
                page.numberMatched = try countPoints(db, layer: query.layer, in: bbox)
            } else {
                page.numberMatched = try db.value("SELECT count(*) FROM \(sql: table) t WHERE \(condition)", as: Int.self)
            }
        }
        return page
    }

    /// The statements an items query runs, for plans.
    static func itemsStatements(_ query: ItemsQuery) -> [SQL] {
        let table = query.layer.table
        if itemsInIndex(query), let bbox = query.bbox {
            return bbox.parts.map { indexPassSQL(query.layer, $0) } + [RadiusSearch.rowsByKeySQL(layer: query.layer, [1, 2], points: true)]
        }
        return ["SELECT \(StoredFeature.selection(query.layer)) FROM \(sql: table) t WHERE \(itemsWhere(query)) AND t.fid > 0 ORDER BY t.fid LIMIT 11"]
    }

    private static func indexPassSQL(_ layer: Layer, _ b: BBox.Part) -> SQL {
        """
        SELECT pkid, xmin >= \(b.west) AND xmax <= \(b.east) AND ymin >= \(b.south) AND ymax <= \(b.north)
        FROM \(sql: SpatialSQL.rtree(layer.table)) WHERE xmax >= \(b.west) AND xmin <= \(b.east) AND ymax >= \(b.south) AND ymin <= \(b.north)
        """
    }

    /// A page of points in a box, in storage order, from one pass over the R*Tree: points whose stored
    /// box lies inside are in, the few straddling an edge are tested on their coordinates, and the count
    /// comes from the same pass. Only the page's rows are read. (Through SQL, `fid IN (R*Tree)` built a
    /// temporary index of every candidate on each request: 10,000 in a dense box, for a page of 100.)
    private static func pointItemsInIndex(_ db: Database, query: ItemsQuery, bbox: BBox) throws -> ItemsPage {
        var inside: [Int64] = [], straddling: [Int64] = []
        for part in bbox.parts {
            let rows = try db.rowCursor(indexPassSQL(query.layer, part))
            while let row = try rows.next() {
                if row[1] as Bool { inside.append(row[0]) } else { straddling.append(row[0]) }
            }
        }
        if !straddling.isEmpty {
            let exact: SQL = bbox.parts.map { b -> SQL in
                "(X(t.geom) BETWEEN \(b.west) AND \(b.east) AND Y(t.geom) BETWEEN \(b.south) AND \(b.north))"
            }.joined(separator: " OR ")
            for start in stride(from: 0, to: straddling.count, by: RadiusSearch.slice) {
                let slice = Array(straddling[start..<min(start + RadiusSearch.slice, straddling.count)])
                inside += try db.values("SELECT t.fid FROM \(sql: query.layer.table) t WHERE t.fid IN (\(SpatialSQL.list(slice))) AND (\(exact))",
                                        as: Int64.self)
            }
        }
        inside.sort()
        var page = ItemsPage()
        page.numberMatched = inside.count
        let start = query.afterFid.map { after in inside.partitioningIndex(where: { $0 > after }) } ?? 0
        let fids = Array(inside[start..<min(start + query.limit.value, inside.count)])
        page.hasNext = start + fids.count < inside.count
        page.hasPrev = query.afterFid != nil && !fids.isEmpty
        for point in try RadiusSearch.points(db, layer: query.layer, fids) { page.append(point.feature) }
        return page
    }

    static func itemsWhere(_ query: ItemsQuery) -> SQL {
        var conditions: [SQL] = ["1"]
        if let bbox = query.bbox {
            conditions.append(SpatialSQL.candidates(query.layer, boxes: bbox.parts))
            conditions.append(SpatialSQL.intersectsAny(bbox.parts))
        }
        if let grid = query.boxInGrid {
            conditions.append("Intersects(Transform(t.geom, \(grid.srid)), BuildMbr(\(grid.minX), \(grid.minY), \(grid.maxX), \(grid.maxY), \(grid.srid)))")
        }
        if let datetime = query.datetime, let columns = ItemsQuery.temporal(query.layer) {
            let (from, to) = datetime.dayRange
            // A record is valid over [start, end]; it matches when that overlaps the asked interval.
            if let to { conditions.append("substr(t.\(sql: columns.start), 1, 10) <= \(to)") }
            if let from { conditions.append("(t.\(sql: columns.end) IS NULL OR substr(t.\(sql: columns.end), 1, 10) >= \(from))") }
        }
        // With a box the R*Tree leads: `+` keeps the planner off an attribute index (without statistics
        // it takes `status = 'active'` for selective and walks two thirds of the table).
        let column: SQL = query.bbox == nil ? "t." : "+t."
        for (field, value) in query.equals {
            switch value {
            case .text(let s): conditions.append("\(column)\(sql: field.name) = \(s)")
            case .integer(let i): conditions.append("\(column)\(sql: field.name) = \(i)")
            case .real(let d): conditions.append("\(column)\(sql: field.name) = \(d)")
            }
        }
        return conditions.joined(separator: " AND ")
    }

    /// Points in a box, counted in the R*Tree: a point whose stored box (its position rounded outwards
    /// to 32-bit floats) lies inside the box is inside; only the few whose stored box straddles an
    /// edge are read and tested exactly.
    static func countPoints(_ db: Database, layer: Layer, in bbox: BBox) throws -> Int {
        var total = 0
        let rtree = SpatialSQL.rtree(layer.table)
        for b in bbox.parts {
            let inside = try db.value("""
                SELECT count(*) FROM \(sql: rtree) WHERE xmin >= \(b.west) AND xmax <= \(b.east) AND ymin >= \(b.south) AND ymax <= \(b.north)
                """, as: Int.self) ?? 0
            let straddling = try db.value("""
                SELECT count(*) FROM \(sql: layer.table) t WHERE t.fid IN (
                    SELECT pkid FROM \(sql: rtree) WHERE xmax >= \(b.west) AND xmin <= \(b.east) AND ymax >= \(b.south) AND ymin <= \(b.north)
                    AND NOT (xmin >= \(b.west) AND xmax <= \(b.east) AND ymin >= \(b.south) AND ymax <= \(b.north)))
                AND X(t.geom) BETWEEN \(b.west) AND \(b.east) AND Y(t.geom) BETWEEN \(b.south) AND \(b.north)
                """, as: Int.self) ?? 0
            total += inside + straddling
        }
        return total
    }
}

extension ItemsPage {
    mutating func append(_ feature: StoredFeature) {
        if firstFid == nil { firstFid = feature.fid }
        lastFid = feature.fid
        numberReturned += 1
        featuresGeoJSON += featuresGeoJSON.isEmpty ? "\n" : ",\n"
        feature.write(to: &featuresGeoJSON)
    }
}

extension Array where Element == Int64 {
    /// The first index whose element satisfies `predicate`, for a predicate false then true along the array.
    func partitioningIndex(where predicate: (Int64) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
