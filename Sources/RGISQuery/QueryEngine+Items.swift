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

/// A page of `/items`, with what OGC's links and counts need.
public struct ItemsPage: Sendable {
    public var features: [StoredFeature]
    /// Nil when counting would cost a scan (filters on columns without an index).
    public var numberMatched: Int?
    public var hasNext: Bool
    public var hasPrev: Bool
}

extension QueryEngine {
    public func items(_ query: ItemsQuery) throws -> ItemsPage {
        guard query.datetime == nil || query.hasTemporalProperty else {
            throw RGISError(.invalidValue, "collection \(query.layer) has no temporal property for datetime", at: "parameter datetime")
        }
        return try database.read { db in
            let (whereSQL, arguments) = Self.itemsWhere(query)
            let backwards = query.beforeFid != nil
            var pageArguments = arguments
            pageArguments += [query.limit.value + 1]
            let sql = """
                SELECT \(StoredFeature.columns(query.layer)) FROM \(query.layer.table) t
                WHERE \(whereSQL)\(query.afterFid != nil ? " AND t.fid > \(query.afterFid!)" : "")\(query.beforeFid != nil ? " AND t.fid < \(query.beforeFid!)" : "")
                ORDER BY t.fid \(backwards ? "DESC" : "") LIMIT ?
                """
            var rows = try Row.fetchAll(db, sql: sql, arguments: pageArguments)
            let more = rows.count > query.limit.value
            rows = Array(rows.prefix(query.limit.value))
            if backwards { rows.reverse() }
            let features = rows.map { StoredFeature(row: $0, layer: query.layer) }
            // Counting is cheap when it goes through the R*Tree or needs no filter at all.
            var matched: Int?
            if query.equals.isEmpty && query.datetime == nil {
                matched = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(query.layer.table) t WHERE \(whereSQL)", arguments: arguments)
            }
            let hasPrev: Bool
            let hasNext: Bool
            if backwards {
                hasPrev = more
                hasNext = true
            } else {
                hasNext = more
                hasPrev = query.afterFid != nil && !features.isEmpty
            }
            return ItemsPage(features: features, numberMatched: matched, hasNext: hasNext, hasPrev: hasPrev)
        }
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
