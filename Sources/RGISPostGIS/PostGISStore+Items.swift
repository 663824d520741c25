import PostgresNIO
import RGISCore
import RGISStore

/// OGC API – Features pages: keyset pages by fid (page 1,000 costs what page 1 does), and a count that
/// is exact up to ``countLimit`` and absent beyond it (never an estimate shown as a count).
extension PostGISStore {
    /// The most rows `numberMatched` counts; a query matching more answers without it.
    public static let countLimit = 100_000

    /// The most matches of a listings box whose page keys come from the point index (all of them read
    /// from the index, then the page's cut): past it, walking the key order until a page has passed the
    /// box reads fewer rows. At a million listings the two cross near 17,000 (0.3 µs an index entry
    /// against 0.9 µs a row for a page of 100).
    static let keysByPointLimit = 20_000

    public func items(_ query: ItemsQuery) async throws -> ItemsPage {
        try await read { session in
            let table = query.layer.table
            var page = ItemsPage()
            // The count first, by the listings' point index, which answers it without reading the rows
            // (a dense box's 10,000: 4 ms against 22 ms through the GiST index and the table).
            let byPoint = query.layer == .listings && query.bbox != nil
            var counting = SQLText()
            Self.itemsWhere(query, into: &counting, byPoint: byPoint)
            let counted = try await session.int(Self.prefixed("SELECT count(*) FROM (SELECT 1 FROM \(table) t WHERE ", counting,
                                                              " LIMIT \(Self.countLimit + 1)) AS c"))
            page.numberMatched = counted > Self.countLimit ? nil : counted
            // A box alone that holds few: the page's keys from the same index. Otherwise the GiST
            // condition, whose matches PostGIS estimates, so the planner walks the key order when a box
            // holds most rows (PostgreSQL guesses a constant for `<@`).
            let keysByPoint = byPoint && query.boxInGrid == nil && query.datetime == nil && query.equals.isEmpty && counted <= Self.keysByPointLimit
            var condition = SQLText()
            Self.itemsWhere(query, into: &condition, byPoint: keysByPoint)
            if let before = query.beforeFid {
                // Backwards: the page before `before`, found walking down, written in storage order.
                var q = condition
                q.sql(" AND t.fid < ")
                q.bind(before)
                if let after = query.afterFid {
                    q.sql(" AND t.fid > ")
                    q.bind(after)
                }
                let keys = try await session.rows(Self.prefixed("SELECT t.fid FROM \(table) t WHERE ", q, " ORDER BY t.fid DESC LIMIT \(query.limit.value + 1)"))
                let fids = try keys.map { try $0[0].decode(Int64.self) }
                page.hasPrev = fids.count > query.limit.value
                page.hasNext = true
                if let low = fids.prefix(query.limit.value).last {
                    var range = condition
                    range.sql(" AND t.fid >= ")
                    range.bind(low)
                    range.sql(" AND t.fid < ")
                    range.bind(before)
                    for row in try await session.rows(Self.prefixed("SELECT \(FeatureRows.columns(query.layer)) FROM \(table) t WHERE ", range, " ORDER BY t.fid")) {
                        page.add(try FeatureRows.feature(row, layer: query.layer))
                    }
                }
            } else {
                var q = condition
                if let after = query.afterFid {
                    q.sql(" AND t.fid > ")
                    q.bind(after)
                }
                let rows = try await session.rows(keysByPoint
                    ? Self.prefixed("WITH k AS MATERIALIZED (SELECT t.fid FROM \(table) t WHERE ", q,
                                    " ORDER BY t.fid LIMIT \(query.limit.value + 1)) SELECT \(FeatureRows.columns(query.layer)) FROM k JOIN \(table) t ON t.fid = k.fid ORDER BY t.fid")
                    : Self.prefixed("SELECT \(FeatureRows.columns(query.layer)) FROM \(table) t WHERE ", q, " ORDER BY t.fid LIMIT \(query.limit.value + 1)"))
                for row in rows.prefix(query.limit.value) { page.add(try FeatureRows.feature(row, layer: query.layer)) }
                page.hasNext = rows.count > query.limit.value
                page.hasPrev = query.afterFid != nil && page.numberReturned > 0
            }
            return page
        }
    }

    /// `text` + the condition's SQL (renumbered into a new statement) + `tail`.
    static func prefixed(_ head: String, _ condition: SQLText, _ tail: String) -> SQLText {
        var q = condition
        q.wrap(head: head, tail: tail)
        return q
    }

    /// The `WHERE` of an items query: box, grid rectangle, dates and field equalities, values bound.
    /// `byPoint`: the box by the listings' `pt` (``SQLText/pointInAny(_:alias:)``).
    static func itemsWhere(_ query: ItemsQuery, into q: inout SQLText, byPoint: Bool = false) {
        q.sql("TRUE")
        if let bbox = query.bbox {
            q.sql(" AND ")
            if byPoint { q.pointInAny(bbox.parts) } else { q.intersectsAny(bbox.parts) }
        }
        if let grid = query.boxInGrid {
            q.sql(" AND ST_Intersects(ST_Transform(t.geom, \(grid.srid)), ST_MakeEnvelope(")
            q.bind(grid.minX)
            q.sql(", ")
            q.bind(grid.minY)
            q.sql(", ")
            q.bind(grid.maxX)
            q.sql(", ")
            q.bind(grid.maxY)
            q.sql(", \(grid.srid)))")
        }
        if let datetime = query.datetime, let columns = ItemsQuery.temporal(query.layer) {
            let (from, to) = datetime.dayRange
            // A record is valid over [start, end]; it matches when that overlaps the asked interval.
            if let to {
                q.sql(" AND left(t.\(columns.start), 10) <= ")
                q.bind(to)
            }
            if let from {
                q.sql(" AND (t.\(columns.end) IS NULL OR left(t.\(columns.end), 10) >= ")
                q.bind(from)
                q.sql(")")
            }
        }
        for (field, value) in query.equals {
            q.sql(" AND t.\(field.name) = ")
            switch value {
            case .text(let s): q.bind(s)
            case .integer(let i): q.bind(i)
            case .real(let d): q.bind(d)
            }
        }
    }
}

extension ItemsPage {
    mutating func add(_ feature: StoredFeature) {
        if firstFid == nil { firstFid = feature.fid }
        lastFid = feature.fid
        numberReturned += 1
        featuresGeoJSON += featuresGeoJSON.isEmpty ? "\n" : ",\n"
        feature.write(to: &featuresGeoJSON)
    }
}
