import GRDB
import RGISCore

/// The rows behind the monthly series: a level's placed listings and demands (through the placement
/// indexes) and their price and status events (through `events(layer, record_id)`).
extension SpatiaLiteStore {
    public func marketHistory(level: DistrictLevel, district: String?) async throws -> MarketHistory {
        try await read { db in
            var districts = try db.rows("SELECT fid, id, name FROM districts WHERE level = \(level.rawValue) ORDER BY fid")
                .map { MarketHistory.District(fid: $0["fid"], id: $0["id"], name: $0["name"]) }
            if let district {
                districts = districts.filter { $0.id == district }
                guard !districts.isEmpty else {
                    throw RGISError(.notFound, "no district '\(district)' at level \(level.rawValue)", at: "parameter district")
                }
            }
            var listings: [MarketHistory.Listing] = []
            var demands: [MarketHistory.Demand] = []
            for d in districts {
                let sql = HistorySQL(level: level, district: d.fid)
                // Columns by position and rows from a cursor: a district can hold a hundred thousand rows.
                var byFid: [Int64: Int] = [:]
                let listingRows = try db.rowCursor(sql.listings)
                while let row = try listingRows.next() {
                    byFid[row[0]] = listings.count
                    listings.append(MarketHistory.Listing(district: d.fid, listDate: row[1], closeDate: row[2], closePrice: row[3],
                                                          status: row[4], listPrice: row[5], livingAreaM2: row[6]))
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
                    demands.append(MarketHistory.Demand(district: d.fid, createdAt: row[1], status: row[2], budgetMax: row[3]))
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
}

/// The statements of one district's history.
struct HistorySQL {
    let column: SQL
    let district: Int64

    init(level: DistrictLevel, district: Int64) {
        column = SQL(sql: DistrictPlacement.column(level))
        self.district = district
    }

    var listings: SQL {
        "SELECT fid, list_date, close_date, close_price, status, list_price, living_area_m2 FROM listings WHERE \(column) = \(district)"
    }

    var demands: SQL {
        "SELECT fid, created_at, status, budget_max FROM demands WHERE \(column) = \(district)"
    }

    /// A layer's price and status events of the district's records, oldest first: the records by the
    /// placement index, then each one's events by `events(layer, record_id)` (CROSS JOIN keeps that
    /// order; SQLite would otherwise walk every event of the layer).
    func events(_ layer: Layer) -> SQL {
        """
        SELECT r.fid, e.kind, e.old_value, e.new_value, substr(e.at, 1, 10) AS day
        FROM \(SQL(sql: layer.table)) r CROSS JOIN events e ON e.layer = \(layer.table) AND e.record_id = r.id
        WHERE r.\(column) = \(district) AND e.kind IN ('price_change', 'status_change')
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
    public func marketVersion() async throws -> Int64 {
        try await read { db in try MarketVersion.read(db) }
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
