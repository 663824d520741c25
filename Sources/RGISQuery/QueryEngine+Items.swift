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
                page.numberMatched = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(query.layer.table) t WHERE \(whereSQL)", arguments: arguments)
            }
            return page
        }
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
}
