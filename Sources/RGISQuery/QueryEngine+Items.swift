import Foundation
import GRDB
import RGISCore
import RGISStore

/// What OGC API – Features `/items` asks: a collection page with optional bbox, datetime and
/// equality filters on the collection's typed fields.
public struct ItemsQuery: Sendable {
    public var layer: Layer
    public var bbox: BBox?
    public var datetime: DateTimeInterval?
    /// Field = value filters; fields come from the layer's declared fields, never from raw text.
    public var equals: [(field: Field, value: FieldValue)] = []
    public var limit: Limit
    /// Keyset paging by storage key: features after this fid, or before it (for `prev`).
    public var afterFid: Int64?
    public var beforeFid: Int64?

    public init(layer: Layer, limit: Limit) {
        self.layer = layer
        self.limit = limit
    }

    /// The date columns `datetime` applies to: (start column, end column) of the validity.
    static func temporal(_ layer: Layer) -> (String, String)? {
        switch layer {
        case .listings: ("list_date", "close_date")
        case .parcels: ("valid_from", "valid_to")
        default: nil
        }
    }

    public var hasTemporalProperty: Bool { Self.temporal(layer) != nil }
}

/// What OGC's links and counts need about a page of `/items`.
public struct ItemsPage: Sendable {
    public var numberReturned = 0
    /// Nil when counting would cost a scan (filters on columns without an index).
    public var numberMatched: Int?
    public var firstFid: Int64?
    public var lastFid: Int64?
    public var hasNext = false
    public var hasPrev = false
}

extension QueryEngine {
    /// A page of a collection, handed to `each` feature by feature in storage order, so that a large
    /// page is written once rather than held as rows, then features, then text.
    public func items(_ query: ItemsQuery, each: (StoredFeature) throws -> Void) throws -> ItemsPage {
        guard query.datetime == nil || query.hasTemporalProperty else {
            throw RGISError(.invalidValue, "collection \(query.layer) has no temporal property for datetime", at: "parameter datetime")
        }
        return try database.read { db in
            if query.layer.storedGeometry == .point, let bbox = query.bbox, query.equals.isEmpty, query.datetime == nil, query.beforeFid == nil {
                return try pointItemsInIndex(db, query: query, bbox: bbox, each: each)
            }
            let (whereSQL, arguments) = Self.itemsWhere(query)
            var page = ItemsPage()
            var paging = ""
            var pageArguments = arguments
            if let after = query.afterFid {
                paging += " AND t.fid > ?"
                pageArguments += [after]
            }
            if let before = query.beforeFid {
                paging += " AND t.fid < ?"
                pageArguments += [before]
            }
            pageArguments += [query.limit.value + 1]
            let select = "SELECT \(StoredFeature.columns(query.layer)) FROM \(query.layer.table) t WHERE \(whereSQL)"
            if let before = query.beforeFid {
                // Backwards: the page before `before`, found by walking down, written in storage order.
                let fids = try Int64.fetchAll(db, sql: "SELECT t.fid FROM \(query.layer.table) t WHERE \(whereSQL)\(paging) ORDER BY t.fid DESC LIMIT ?",
                                              arguments: pageArguments)
                page.hasPrev = fids.count > query.limit.value
                page.hasNext = true
                let kept = fids.prefix(query.limit.value)
                if let low = kept.last {
                    var forward = arguments
                    forward += [low, before]
                    let rows = try Row.fetchCursor(db, sql: "\(select) AND t.fid >= ? AND t.fid < ? ORDER BY t.fid", arguments: forward)
                    while let row = try rows.next() { try emit(StoredFeature(row: row, layer: query.layer), into: &page, each) }
                }
            } else {
                let rows = try Row.fetchCursor(db, sql: "\(select)\(paging) ORDER BY t.fid LIMIT ?", arguments: pageArguments)
                while let row = try rows.next() {
                    if page.numberReturned == query.limit.value {
                        page.hasNext = true
                        break
                    }
                    try emit(StoredFeature(row: row, layer: query.layer), into: &page, each)
                }
                page.hasPrev = query.afterFid != nil && page.numberReturned > 0
            }
            // Counting is cheap when it goes through the R*Tree or needs no filter at all.
            if query.equals.isEmpty && query.datetime == nil {
                if query.layer.storedGeometry == .point, let bbox = query.bbox {
                    page.numberMatched = try Self.countPoints(db, layer: query.layer, in: bbox)
                } else {
                    page.numberMatched = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(query.layer.table) t WHERE \(whereSQL)", arguments: arguments)
                }
            }
            return page
        }
    }

    /// A page of points in a box, in storage order, from one pass over the R*Tree: points whose stored
    /// box lies inside are in, the few straddling an edge are tested on their coordinates, and the count
    /// comes from the same pass. Only the page's rows are read. (Through SQL, `fid IN (R*Tree)` built a
    /// temporary index of every candidate on each request: 10,000 in a dense box, for a page of 100.)
    private func pointItemsInIndex(_ db: Database, query: ItemsQuery, bbox: BBox, each: (StoredFeature) throws -> Void) throws -> ItemsPage {
        var inside: [Int64] = [], straddling: [Int64] = []
        for part in bbox.parts {
            let rows = try Row.fetchCursor(db, sql: """
                SELECT pkid, xmin >= ?1 AND xmax <= ?2 AND ymin >= ?3 AND ymax <= ?4
                FROM idx_\(query.layer.table)_geom WHERE xmax >= ?1 AND xmin <= ?2 AND ymax >= ?3 AND ymin <= ?4
                """, arguments: [part.west, part.east, part.south, part.north])
            while let row = try rows.next() {
                if row[1] as Bool { inside.append(row[0]) } else { straddling.append(row[0]) }
            }
        }
        if !straddling.isEmpty {
            let exact = bbox.parts.map { _ in "(X(t.geom) BETWEEN ? AND ? AND Y(t.geom) BETWEEN ? AND ?)" }.joined(separator: " OR ")
            for start in stride(from: 0, to: straddling.count, by: 10_000) {
                let slice = straddling[start..<min(start + 10_000, straddling.count)]
                inside += try Int64.fetchAll(db, sql: """
                    SELECT t.fid FROM \(query.layer.table) t WHERE t.fid IN (\(slice.map { _ in "?" }.joined(separator: ","))) AND (\(exact))
                    """, arguments: StatementArguments(Array(slice)) + StatementArguments(bbox.parts.flatMap { [$0.west, $0.east, $0.south, $0.north] }))
            }
        }
        inside.sort()
        var page = ItemsPage()
        page.numberMatched = inside.count
        let start = query.afterFid.map { after in inside.partitioningIndex(where: { $0 > after }) } ?? 0
        let fids = inside[start..<min(start + query.limit.value, inside.count)]
        page.hasNext = start + fids.count < inside.count
        page.hasPrev = query.afterFid != nil && !fids.isEmpty
        guard !fids.isEmpty else { return page }
        let rows = try Row.fetchCursor(db, sql: """
            SELECT \(StoredFeature.pointColumns()) FROM \(query.layer.table) t WHERE t.fid IN (\(fids.map { _ in "?" }.joined(separator: ","))) ORDER BY t.fid
            """, arguments: StatementArguments(Array(fids)))
        while let row = try rows.next() { try emit(StoredFeature(row: row, pointLayer: query.layer), into: &page, each) }
        return page
    }

    private func emit(_ feature: StoredFeature, into page: inout ItemsPage, _ each: (StoredFeature) throws -> Void) throws {
        if page.firstFid == nil { page.firstFid = feature.fid }
        page.lastFid = feature.fid
        page.numberReturned += 1
        try each(feature)
    }

    /// One feature by its source id.
    public func item(_ layer: Layer, id: String) throws -> StoredFeature {
        let row = try database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(StoredFeature.columns(layer)) FROM \(layer.table) t WHERE t.id = ?", arguments: [id])
        }
        guard let row else { throw RGISError(.notFound, "no feature '\(id)' in collection \(layer)", at: "featureId") }
        return StoredFeature(row: row, layer: layer)
    }

    static func itemsWhere(_ query: ItemsQuery) -> (String, StatementArguments) {
        var conditions = ["1"]
        var arguments: StatementArguments = []
        if let bbox = query.bbox {
            let candidates = SpatialSQL.candidates(query.layer, boxes: bbox.parts)
            conditions.append(candidates.sql)
            arguments += StatementArguments(candidates.values)
            conditions.append("(" + bbox.parts.map { _ in "Intersects(t.geom, BuildMbr(?, ?, ?, ?, 4326))" }.joined(separator: " OR ") + ")")
            for b in bbox.parts { arguments += [b.west, b.south, b.east, b.north] }
        }
        if let datetime = query.datetime, let (startColumn, endColumn) = ItemsQuery.temporal(query.layer) {
            let (from, to) = datetime.dayRange
            // A record is valid over [start, end]; it matches when that overlaps the asked interval.
            if let to {
                conditions.append("substr(t.\(startColumn), 1, 10) <= ?")
                arguments += [to]
            }
            if let from {
                conditions.append("(t.\(endColumn) IS NULL OR substr(t.\(endColumn), 1, 10) >= ?)")
                arguments += [from]
            }
        }
        for (field, value) in query.equals {
            conditions.append("t.\(field.name) = ?")
            switch value {
            case .text(let s): arguments += [s]
            case .integer(let i): arguments += [i]
            case .real(let d): arguments += [d]
            }
        }
        return (conditions.joined(separator: " AND "), arguments)
    }

    /// Points in a box, counted in the R*Tree: a point whose stored box (its position rounded outwards
    /// to 32-bit floats) lies inside the box is inside; only the few whose stored box straddles an
    /// edge are read and tested exactly. A dense box of 12,000 listings was counted by reading every
    /// row, which cost more than the page itself.
    static func countPoints(_ db: Database, layer: Layer, in bbox: BBox) throws -> Int {
        var total = 0
        for part in bbox.parts {
            let box: StatementArguments = [part.west, part.east, part.south, part.north]
            let inside = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM idx_\(layer.table)_geom WHERE xmin >= ? AND xmax <= ? AND ymin >= ? AND ymax <= ?
                """, arguments: box) ?? 0
            let straddling = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM \(layer.table) t WHERE t.fid IN (
                    SELECT pkid FROM idx_\(layer.table)_geom WHERE xmax >= ?1 AND xmin <= ?2 AND ymax >= ?3 AND ymin <= ?4
                    AND NOT (xmin >= ?1 AND xmax <= ?2 AND ymin >= ?3 AND ymax <= ?4))
                AND X(t.geom) BETWEEN ?1 AND ?2 AND Y(t.geom) BETWEEN ?3 AND ?4
                """, arguments: box) ?? 0
            total += inside + straddling
        }
        return total
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
