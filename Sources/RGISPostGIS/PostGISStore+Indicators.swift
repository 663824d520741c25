import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// The figures behind the district indicators: per district of a level, counts and medians of the
/// listings and demands placed in it (the placement columns, p05-placement), in one statement over
/// their indexes; no row is tested against a polygon. Dates compare as text, as the SpatiaLite file
/// compares them; a median is the mean of the middle one or two values (`rgis_median`).
extension PostGISStore {
    public func indicatorInputs(level: DistrictLevel, asOf: ISODate, periodStart: ISODate, unsoldThresholdDays: Int) async throws -> IndicatorInputs {
        let placed = "\(level.rawValue)_fid"
        let day = asOf.addingDays(0).text
        let listedBy = "l.list_date COLLATE \"C\" <= "
        let longUnsoldBefore = asOf.addingDays(-unsoldThresholdDays).text
        var q = SQLText("SELECT \(FeatureRows.columns(.districts)), a.active, a.listed, a.long_unsold, a.priced, a.days, a.per_m2, c.closed, m.demands, m.budgets, m.budget, a.area, a.long_unsold_area, a.areas, a.long_unsold_areas FROM districts t")
        // Active listings: all, listed by the day (and their days on the market to it), listed before the
        // long-unsold day, and with a price per m².
        q.sql(" CROSS JOIN LATERAL (SELECT count(*) AS active, count(*) FILTER (WHERE \(listedBy)")
        q.bind(day)
        q.sql(") AS listed, count(*) FILTER (WHERE l.list_date COLLATE \"C\" < ")
        q.bind(longUnsoldBefore)
        q.sql(") AS long_unsold, coalesce(sum(l.living_area_m2), 0) AS area, coalesce(sum(l.living_area_m2) FILTER (WHERE l.list_date COLLATE \"C\" < ")
        q.bind(longUnsoldBefore)
        q.sql("), 0) AS long_unsold_area, count(l.living_area_m2) AS areas, count(l.living_area_m2) FILTER (WHERE l.list_date COLLATE \"C\" < ")
        q.bind(longUnsoldBefore)
        q.sql(") AS long_unsold_areas, count(*) FILTER (WHERE l.list_price / NULLIF(l.living_area_m2, 0) >= 0) AS priced, rgis_median(array_agg((extract(epoch FROM ")
        q.bind(day)
        q.sql("::timestamptz) - extract(epoch FROM l.list_date::timestamptz)) / 86400 ORDER BY l.list_date DESC) FILTER (WHERE \(listedBy)")
        q.bind(day)
        q.sql("""
            )) AS days, rgis_median(array_agg(l.list_price / NULLIF(l.living_area_m2, 0) ORDER BY l.list_price / NULLIF(l.living_area_m2, 0))
                FILTER (WHERE l.list_price / NULLIF(l.living_area_m2, 0) >= 0)) AS per_m2
              FROM listings l WHERE l.\(placed) = t.fid AND l.status = 'active') a
            CROSS JOIN LATERAL (SELECT count(*) AS closed FROM listings l WHERE l.\(placed) = t.fid AND l.status = 'closed' AND l.close_date COLLATE "C" >=\u{20}
            """)
        q.bind(periodStart.text)
        q.sql(" AND l.close_date COLLATE \"C\" < ")
        q.bind(asOf.addingDays(1).text)
        q.sql("""
            ) c
            CROSS JOIN LATERAL (SELECT count(*) AS demands, count(m.budget_max) AS budgets,
                rgis_median(array_agg(m.budget_max ORDER BY m.budget_max) FILTER (WHERE m.budget_max IS NOT NULL)) AS budget
              FROM demands m WHERE m.\(placed) = t.fid AND m.status = 'active') m
            WHERE t.level =\u{20}
            """)
        q.bind(level.rawValue)
        q.sql(" ORDER BY t.fid")
        return try await read { session in
            // Days from a date alone count from midnight UTC, as SQLite's julianday counts them.
            try await session.run("SET LOCAL TimeZone = 'UTC'")
            let rows = try await session.rows(q)
            let n = FeatureRows.count(.districts)
            return IndicatorInputs(districts: try rows.map { row in
                var figures = IndicatorInputs.District(feature: try FeatureRows.feature(row, layer: .districts))
                figures.activeListings = Int(try row[n].decode(Int64.self))
                figures.daysOnMarket = .init(count: Int(try row[n + 1].decode(Int64.self)), value: try row[n + 4].decode(Double?.self))
                figures.longUnsold = Int(try row[n + 2].decode(Int64.self))
                figures.pricePerM2 = .init(count: Int(try row[n + 3].decode(Int64.self)), value: try row[n + 5].decode(Double?.self))
                figures.closedInPeriod = Int(try row[n + 6].decode(Int64.self))
                figures.activeDemands = Int(try row[n + 7].decode(Int64.self))
                figures.budget = .init(count: Int(try row[n + 8].decode(Int64.self)), value: try row[n + 9].decode(Double?.self))
                figures.floorAreaM2 = try row[n + 10].decode(Double.self)
                figures.longUnsoldFloorAreaM2 = try row[n + 11].decode(Double.self)
                figures.floorAreaListings = Int(try row[n + 12].decode(Int64.self))
                figures.longUnsoldFloorAreaListings = Int(try row[n + 13].decode(Int64.self))
                return figures
            })
        }
    }
}

/// Clients with active demand per district, by a segment of theirs.
extension PostGISStore {
    public func segmentCounts(level: DistrictLevel, by: ClientSegment) async throws -> SegmentCounts {
        let placed = "\(level.rawValue)_fid"
        return try await read { session in
            var districts = SQLText("SELECT fid, id, name FROM districts WHERE level = ")
            districts.bind(level.rawValue)
            districts.sql(" ORDER BY fid")
            let found = try await session.rows(districts).map { row in
                MarketHistory.District(fid: try row[0].decode(Int64.self), id: try row[1].decode(String.self), name: try row[2].decode(String?.self))
            }
            // The segment's column is a case of ClientSegment, never input; ordered as SQLite groups them.
            var cells = SQLText("""
                SELECT m.\(placed), c.\(by.rawValue), count(DISTINCT c.id) FROM districts d
                JOIN demands m ON m.\(placed) = d.fid AND m.status = 'active' JOIN clients c ON c.id = m.client_id
                WHERE d.level =\u{20}
                """)
            cells.bind(level.rawValue)
            cells.sql(" GROUP BY 1, 2 ORDER BY m.\(placed), c.\(by.rawValue) COLLATE \"C\" NULLS FIRST")
            let counted = try await session.rows(cells).map { row in
                SegmentCounts.Cell(district: try row[0].decode(Int64.self), segment: try row[1].decode(String?.self), clients: Int(try row[2].decode(Int64.self)))
            }
            return SegmentCounts(districts: found, cells: counted)
        }
    }
}
