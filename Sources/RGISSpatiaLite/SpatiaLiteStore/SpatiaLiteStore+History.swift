import GRDB
import RGISCore
import RGISStore

/// The rows behind the monthly series: a level's placed listings and demands (through the placement
/// indexes) and their price and status events (through `events(layer, record_id)`).
extension SpatiaLiteStore {
    public func marketHistory(level: DistrictLevel, districts fids: [Int64]?) async throws -> MarketHistory {
        try await read { db in
            var districts = try db.rows("""
                SELECT d.fid, d.id, d.name, COALESCE(s.stamp, 0) AS stamp FROM districts d
                LEFT JOIN series_stamps s ON s.district_fid = d.fid WHERE d.level = \(level.rawValue) ORDER BY d.fid
                """).map { MarketHistory.District(fid: $0["fid"], id: $0["id"], name: $0["name"], stamp: $0["stamp"]) }
            if let fids {
                let wanted = Set(fids)
                districts = districts.filter { wanted.contains($0.fid) }
            }
            var listings: [MarketHistory.Listing] = []
            var demands: [MarketHistory.Demand] = []
            // One district: its range of the placement index. Every district of the level: one pass
            // over each table in storage order, which reads its pages once and in order, where a
            // million lookups by index would read them again and again at random.
            let parts: [HistorySQL] = fids == nil
                ? [HistorySQL(level: level, district: nil)]
                : districts.map { HistorySQL(level: level, district: $0.fid) }
            for sql in parts {
                // Columns by position and rows from a cursor: a district can hold a hundred thousand rows.
                var byFid: [Int64: Int] = [:]
                let listingRows = try db.rowCursor(sql.listings)
                while let row = try listingRows.next() {
                    byFid[row[0]] = listings.count
                    listings.append(MarketHistory.Listing(district: row[1], listDate: row[2], closeDate: row[3], closePrice: row[4],
                                                          status: row[5], listPrice: row[6], livingAreaM2: row[7]))
                }
                let listingEvents = try db.rowCursor(sql.events(.listings))
                while let row = try listingEvents.next() {
                    guard let i = byFid[row[0]] else { continue }
                    let change = MarketHistory.Change(day: row[4], old: row[2], new: row[3])
                    if (row[1] as String) == "price_change" { listings[i].priceChanges.append(change) } else { listings[i].statusChanges.append(change) }
                }
                byFid = [:]
                let demandRows = try db.rowCursor(sql.demands)
                while let row = try demandRows.next() {
                    byFid[row[0]] = demands.count
                    demands.append(MarketHistory.Demand(district: row[1], createdAt: row[2], status: row[3], budgetMax: row[4]))
                }
                let demandEvents = try db.rowCursor(sql.events(.demands))
                while let row = try demandEvents.next() {
                    guard let i = byFid[row[0]] else { continue }
                    let change = MarketHistory.Change(day: row[4], old: row[2], new: row[3])
                    if (row[1] as String) == "price_change" { demands[i].budgetChanges.append(change) } else { demands[i].statusChanges.append(change) }
                }
            }
            return MarketHistory(districts: districts, listings: listings, demands: demands)
        }
    }

    public func keptSeries(level: DistrictLevel, district: String?) async throws -> KeptSeries {
        try await read { db in
            let only: SQL = district.map { (id: String) -> SQL in "AND d.id = \(id)" } ?? ""
            let districts = try db.rows("""
                SELECT d.fid, d.id, d.name, k.figures FROM districts d
                LEFT JOIN series_stamps s ON s.district_fid = d.fid
                LEFT JOIN kept_series k ON k.district_fid = d.fid AND k.stamp = COALESCE(s.stamp, 0)
                WHERE d.level = \(level.rawValue) \(only) ORDER BY d.fid
                """).map { KeptSeries.District(fid: $0["fid"], id: $0["id"], name: $0["name"], figures: $0["figures"]) }
            if let district, districts.isEmpty {
                throw RGISError(.notFound, "no district '\(district)' at level \(level.rawValue)", at: "parameter district")
            }
            return KeptSeries(districts: districts)
        }
    }

    public func keepSeries(_ entries: [KeptSeries.Entry]) async throws {
        guard !entries.isEmpty else { return }
        do {
            try await write { db in
                for e in entries {
                    try db.execute(literal: """
                        INSERT INTO kept_series (district_fid, stamp, figures) VALUES (\(e.district), \(e.stamp), \(e.figures))
                        ON CONFLICT (district_fid) DO UPDATE SET stamp = excluded.stamp, figures = excluded.figures
                        WHERE excluded.stamp >= kept_series.stamp
                        """)
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Kept series only save work: a file that cannot be written now (read-only, or another
            // process holding the write lock) is read as it is and its series computed again.
        }
    }
}

/// The statements of one district's history, or of every district of a level (`district` nil).
struct HistorySQL {
    let column: SQL
    let district: Int64?

    init(level: DistrictLevel, district: Int64?) {
        column = SQL(sql: DistrictPlacement.column(level))
        self.district = district
    }

    private var placed: SQL { district.map { "\(column) = \($0)" } ?? "\(column) IS NOT NULL" }
    /// A whole level is read in storage order (`NOT INDEXED`), one district through its index range.
    private var access: SQL { district == nil ? "NOT INDEXED" : "" }

    var listings: SQL {
        "SELECT fid, \(column), list_date, close_date, close_price, status, list_price, living_area_m2 FROM listings \(access) WHERE \(placed)"
    }

    var demands: SQL {
        "SELECT fid, \(column), created_at, status, budget_max FROM demands \(access) WHERE \(placed)"
    }

    /// A layer's price and status events of the records, oldest first. One district: its records by
    /// the placement index, then each one's changes by the partial index `events_market_changes`
    /// (CROSS JOIN keeps that order; SQLite would otherwise walk every event of the layer). A whole
    /// level: every change of the layer through that index, its record by id.
    func events(_ layer: Layer) -> SQL {
        let table = SQL(sql: layer.table)
        if district == nil {
            return """
            SELECT r.fid, e.kind, e.old_value, e.new_value, substr(e.at, 1, 10) AS day
            FROM events e INDEXED BY events_market_changes CROSS JOIN \(table) r ON r.id = e.record_id
            WHERE e.layer = \(layer.table) AND e.kind IN ('price_change', 'status_change') AND r.\(placed)
            ORDER BY e.at, e.id
            """
        }
        return """
        SELECT r.fid, e.kind, e.old_value, e.new_value, substr(e.at, 1, 10) AS day
        FROM \(table) r CROSS JOIN events e ON e.layer = \(layer.table) AND e.record_id = r.id
        WHERE r.\(placed) AND e.kind IN ('price_change', 'status_change')
        ORDER BY e.at, e.id
        """
    }

    var statements: [SQL] { [listings, demands, events(.listings), events(.demands)] }
}

/// The clients behind demand by segment.
extension SpatiaLiteStore {
    public func segmentCounts(level: DistrictLevel, by: ClientSegment) async throws -> SegmentCounts {
        try await read { db in
            let districts = try db.rows("SELECT fid, id, name FROM districts WHERE level = \(level.rawValue) ORDER BY fid")
                .map { MarketHistory.District(fid: $0["fid"], id: $0["id"], name: $0["name"]) }
            let cells = try db.rows(Self.segmentSQL(level: level, by: by)).map {
                SegmentCounts.Cell(district: $0["district"], segment: $0["segment"], clients: $0["clients"])
            }
            return SegmentCounts(districts: districts, cells: cells)
        }
    }

    /// Each district's active demands (its range of the placement index), their clients by key
    /// (CROSS JOIN keeps that order rather than a walk of the whole index).
    static func segmentSQL(level: DistrictLevel, by: ClientSegment) -> SQL {
        let column = SQL(sql: DistrictPlacement.column(level))
        return """
        SELECT m.\(column) AS district, c.\(SQL(sql: by.rawValue)) AS segment, count(DISTINCT c.id) AS clients
        FROM districts dist CROSS JOIN demands m ON m.\(column) = dist.fid AND m.status = 'active'
        CROSS JOIN clients c ON c.id = m.client_id
        WHERE dist.level = \(level.rawValue)
        GROUP BY 1, 2
        """
    }
}

extension SpatiaLiteStore {
    public func marketChangeToken() async throws -> ChangeToken {
        try await read { db in ChangeToken(String(try MarketVersion.read(db))) }
    }
}

extension SpatiaLiteStore {
    public func districts(level: DistrictLevel) async throws -> [StoredFeature] {
        try await read { db in
            try db.rows("SELECT \(StoredFeature.selection(.districts)) FROM districts t WHERE t.level = \(level.rawValue) ORDER BY t.fid")
                .map { StoredFeature(row: $0, layer: .districts) }
        }
    }
}
