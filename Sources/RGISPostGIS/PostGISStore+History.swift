import PostgresNIO
import RGISCore
import RGISStore

/// The rows behind the monthly series, the series kept between requests, and the market's change
/// token: the stamps of p06-market (``PostGISSchema/market``), each the sum of its district's bump
/// rows, read in the same `REPEATABLE READ` snapshot as the rows they stamp.
extension PostGISStore {
    public func marketHistory(level: DistrictLevel, districts fids: [Int64]?) async throws -> MarketHistory {
        let placed = "\(level.rawValue)_fid"
        return try await read { session in
            var q = SQLText("""
                SELECT d.fid, d.id, d.name, COALESCE((SELECT sum(b.weight) FROM series_bumps b WHERE b.district_fid = d.fid), 0)::bigint
                FROM districts d WHERE d.level =\u{20}
                """)
            q.bind(level.rawValue)
            if let fids {
                q.sql(" AND d.fid = ANY(")
                q.bind(fids)
                q.sql(")")
            }
            q.sql(" ORDER BY d.fid")
            let districts = try await session.rows(q).map { row in
                MarketHistory.District(fid: try row[0].decode(Int64.self), id: try row[1].decode(String.self),
                                       name: try row[2].decode(String?.self), stamp: try row[3].decode(Int64.self))
            }
            // The placement columns hold the district; one district reads its range of their index.
            func rows(_ table: String, _ columns: String) -> SQLText {
                var q = SQLText("SELECT fid, \(placed), \(columns) FROM \(table) WHERE \(placed) ")
                if let fids {
                    q.sql("= ANY(")
                    q.bind(fids)
                    q.sql(")")
                } else {
                    q.sql("IS NOT NULL")
                }
                q.sql(" ORDER BY fid")
                return q
            }
            // A layer's price and status changes of those records, oldest first, values as the text they hold.
            func changes(_ table: String) -> SQLText {
                var q = SQLText("""
                    SELECT r.fid, e.kind, e.old_value #>> '{}', e.new_value #>> '{}', left(e.at, 10)
                    FROM events e JOIN \(table) r ON r.id = e.record_id
                    WHERE e.layer = '\(table)' AND e.kind IN ('price_change', 'status_change') AND r.\(placed)\u{20}
                    """)
                if let fids {
                    q.sql("= ANY(")
                    q.bind(fids)
                    q.sql(")")
                } else {
                    q.sql("IS NOT NULL")
                }
                q.sql(" ORDER BY e.at COLLATE \"C\", e.id")
                return q
            }
            var listings: [MarketHistory.Listing] = []
            var byFid: [Int64: Int] = [:]
            for row in try await session.rows(rows("listings", "list_date, close_date, close_price, status, list_price, living_area_m2")) {
                byFid[try row[0].decode(Int64.self)] = listings.count
                listings.append(MarketHistory.Listing(district: try row[1].decode(Int64.self), listDate: try row[2].decode(String?.self),
                                                      closeDate: try row[3].decode(String?.self), closePrice: try row[4].decode(Double?.self),
                                                      status: try row[5].decode(String.self), listPrice: try row[6].decode(Double?.self),
                                                      livingAreaM2: try row[7].decode(Double?.self)))
            }
            for row in try await session.rows(changes("listings")) {
                guard let i = byFid[try row[0].decode(Int64.self)] else { continue }
                let change = MarketHistory.Change(day: try row[4].decode(String.self), old: try row[2].decode(String?.self), new: try row[3].decode(String?.self))
                if try row[1].decode(String.self) == "price_change" { listings[i].priceChanges.append(change) } else { listings[i].statusChanges.append(change) }
            }
            var demands: [MarketHistory.Demand] = []
            byFid = [:]
            for row in try await session.rows(rows("demands", "created_at, status, budget_max")) {
                byFid[try row[0].decode(Int64.self)] = demands.count
                demands.append(MarketHistory.Demand(district: try row[1].decode(Int64.self), createdAt: try row[2].decode(String?.self),
                                                    status: try row[3].decode(String.self), budgetMax: try row[4].decode(Double?.self)))
            }
            for row in try await session.rows(changes("demands")) {
                guard let i = byFid[try row[0].decode(Int64.self)] else { continue }
                let change = MarketHistory.Change(day: try row[4].decode(String.self), old: try row[2].decode(String?.self), new: try row[3].decode(String?.self))
                if try row[1].decode(String.self) == "price_change" { demands[i].budgetChanges.append(change) } else { demands[i].statusChanges.append(change) }
            }
            return MarketHistory(districts: districts, listings: listings, demands: demands)
        }
    }

    public func keptSeries(level: DistrictLevel, district: String?) async throws -> KeptSeries {
        var q = SQLText("""
            SELECT d.fid, d.id, d.name, k.figures FROM districts d
            LEFT JOIN kept_series k ON k.district_fid = d.fid
              AND k.stamp = COALESCE((SELECT sum(b.weight) FROM series_bumps b WHERE b.district_fid = d.fid), 0)
            WHERE d.level =\u{20}
            """)
        q.bind(level.rawValue)
        if let district {
            q.sql(" AND d.id = ")
            q.bind(district)
        }
        q.sql(" ORDER BY d.fid")
        let districts = try await read { session in
            try await session.rows(q).map { row in
                KeptSeries.District(fid: try row[0].decode(Int64.self), id: try row[1].decode(String.self),
                                    name: try row[2].decode(String?.self), figures: try row[3].decode(String?.self))
            }
        }
        if let district, districts.isEmpty {
            throw RGISError(.notFound, "no district '\(district)' at level \(level.rawValue)", at: "parameter district")
        }
        return KeptSeries(districts: districts)
    }

    /// Keeps the figures (never over newer ones) and folds each kept district's bump rows into one of
    /// the same weight, so its stamp stays one short read. On a standby, or with the database busy, it
    /// keeps nothing: kept series only save work.
    public func keepSeries(_ entries: [KeptSeries.Entry]) async throws {
        guard !entries.isEmpty else { return }
        do {
            try await transaction { session in
                var q = SQLText("""
                    INSERT INTO kept_series (district_fid, stamp, figures) SELECT * FROM unnest(
                    """)
                q.bind(entries.map(\.district))
                q.sql("::bigint[], ")
                q.bind(entries.map(\.stamp))
                q.sql("::bigint[], ")
                q.bind(entries.map(\.figures))
                q.sql("""
                    ::text[]) ON CONFLICT (district_fid) DO UPDATE SET stamp = excluded.stamp, figures = excluded.figures
                    WHERE excluded.stamp >= kept_series.stamp
                    """)
                try await session.run(q)
                try await Self.foldBumps(session, districts: entries.map(\.district))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Read-only (a standby) or otherwise not writable now: the series are computed again next time.
        }
    }

    /// Replaces the districts' bump rows by one each of their total weight (in one statement, so any
    /// snapshot sees either the rows or their sum; a bump committed meanwhile stays a row of its own).
    static func foldBumps(_ session: Session, districts: [Int64]) async throws {
        var q = SQLText("""
            WITH gone AS (DELETE FROM series_bumps WHERE district_fid = ANY(
            """)
        q.bind(districts)
        q.sql(") RETURNING district_fid, weight) INSERT INTO series_bumps (district_fid, weight) SELECT district_fid, sum(weight) FROM gone GROUP BY 1")
        try await session.run(q)
    }

    /// The whole market's stamp (district 0 of the bump rows): it moves with every committed write of
    /// a listing, demand, district or client, and with nothing else. Folded when its rows pile up.
    public func marketChangeToken() async throws -> ChangeToken {
        let rows = try await lookup("SELECT COALESCE(sum(weight), 0)::bigint, count(*) FROM series_bumps WHERE district_fid = 0")
        let (total, count) = try translating { (try rows[0][0].decode(Int64.self), try rows[0][1].decode(Int64.self)) }
        if count > 1000 { _ = try? await transaction { session in try await Self.foldBumps(session, districts: [0]) } }
        return ChangeToken("m:\(total)")
    }
}
