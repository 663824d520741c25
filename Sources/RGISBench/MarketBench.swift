import Foundation
import GRDB
import RGISCore
import RGISQuery
import RGISStore

/// The market monitoring measures: monthly series computed and kept, and the alerts over them.
extension QueryBenchmark {
    /// One subdistrict's 24 months at a time, against a raw spatial join per month (new listings and
    /// active inventory at month end: the metro region has no dated changes, so a listing is active
    /// from its list date to its close date, or for good when it is active now).
    ///
    /// `kept`: the kept series, after a write in another subdistrict (a price written and put back:
    /// that district's stamp moves, this one's does not), checked against the same series computed afresh.
    func series(kept: Bool) throws -> Measure {
        var m = Measure(kept ? "monthly series, one subdistrict, 24 months, kept (after a write in another)" : "monthly series, one subdistrict, 24 months")
        let districts = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT fid, id FROM districts WHERE level = 'subdistrict' ORDER BY fid").map { ($0[0] as Int64, $0[1] as String) }
        }
        let to = YearMonth(parsing: "2026-12")!, from = to.adding(-23)
        for (k, (_, id)) in districts.prefix(max(1, min(runs, districts.count))).enumerated() {
            let options = try SeriesOptions(level: .subdistrict, district: id, from: from, to: to)
            if kept {
                _ = try blocking { try await engine.series(options, reusing: .kept) }
                try writeElsewhere(subdistrict: districts[(k + 1) % districts.count].0)
            }
            var series: MarketSeries!
            let (t, n) = try time {
                series = try blocking { try await engine.series(options, reusing: kept ? .kept : .none) }
                return series.districts.first?.months.count ?? 0
            }
            if kept {
                let afresh = try blocking { try await engine.series(options, reusing: .none) }
                if afresh.json != series.json { m.disagreements.append("\(id): the kept series differ from those computed afresh") }
            }
            var raw: [(String, Int, Int)] = []
            let (u, _) = try time {
                raw = try database.read { db in
                    let inside = try Row.fetchAll(db, sql: """
                        SELECT l.list_date, l.close_date, l.status FROM districts d CROSS JOIN idx_listings_geom r CROSS JOIN listings l
                        WHERE d.id = ? AND r.xmax >= MbrMinX(d.geom) AND r.xmin <= MbrMaxX(d.geom) AND r.ymax >= MbrMinY(d.geom) AND r.ymin <= MbrMaxY(d.geom)
                          AND l.fid = r.pkid AND ST_Contains(d.geom, l.geom)
                        """, arguments: [id]).map { (($0[0] as String?) ?? "", ($0[1] as String?) ?? "", $0[2] as String) }
                    return (0..<24).map { k in
                        let month = from.adding(k), first = month.firstDay.text, last = month.lastDay.text
                        let new = inside.filter { $0.0 >= first && $0.0.prefix(10) <= last }.count
                        let active = inside.filter { !$0.0.isEmpty && $0.0.prefix(10) <= last && ($0.2 == "active" || ($0.2 == "closed" && $0.1.prefix(10) > last)) }.count
                        return (month.text, new, active)
                    }
                }
                return raw.count
            }
            for (month, (name, new, active)) in zip(series.districts[0].months, raw) {
                func figure(_ f: SeriesFigure) -> Int? { month.values[f]?.number.map { Int($0) } }
                let withheld = Set(month.suppressed)
                if month.month.text != name || (!withheld.contains("new_listings") && figure(.newListings) != new)
                    || (!withheld.contains("active_inventory") && figure(.activeInventory) != active) {
                    m.disagreements.append("\(id) \(name): RGIS new \(figure(.newListings).map(String.init) ?? "-"), active \(figure(.activeInventory).map(String.init) ?? "-"); raw \(new), \(active)")
                }
            }
            m.add(rgis: t, raw: u, rows: n)
        }
        return m
    }

    /// A price written and put back on one listing of a subdistrict: two writes that move its series stamp.
    func writeElsewhere(subdistrict fid: Int64) throws {
        for delta in [1, -1] {
            try database.writeTransaction { db in
                try db.execute(sql: """
                    UPDATE listings SET list_price = list_price + ?
                    WHERE fid = (SELECT fid FROM listings WHERE subdistrict_fid = ? AND list_price IS NOT NULL LIMIT 1)
                    """, arguments: [delta, fid])
            }
        }
    }

    /// The alerts of every level from the kept series after a write in one subdistrict, against the
    /// same alerts computed afresh (in the raw column: every district's rows read again).
    func alerts() throws -> Measure {
        var m = Measure("alerts, every level, kept series after a write in one subdistrict (raw: computed afresh)")
        let fids = try database.read { db in try Int64.fetchAll(db, sql: "SELECT fid FROM districts WHERE level = 'subdistrict' ORDER BY fid") }
        let asOf = ISODate(parsing: "2026-11-30")!, levels = DistrictLevel.allCases
        _ = try blocking { try await engine.alerts(asOf: asOf, levels: levels, reusing: .kept) }
        for k in 0..<max(1, min(3, runs, fids.count)) {
            try writeElsewhere(subdistrict: fids[k])
            var kept: AlertReport!, afresh: AlertReport!
            let (t, n) = try time { kept = try blocking { try await engine.alerts(asOf: asOf, levels: levels, reusing: .kept) }; return kept.active.count }
            let (u, _) = try time { afresh = try blocking { try await engine.alerts(asOf: asOf, levels: levels, reusing: .none) }; return afresh.active.count }
            func names(_ r: AlertReport) -> [String] { r.active.map { "\($0.districtID) \($0.rule.id) \($0.value) \($0.since)" }.sorted() }
            if names(kept) != names(afresh) || kept.changes.count != afresh.changes.count {
                m.disagreements.append("alerts from the kept series differ: \(kept.active.count) active, \(afresh.active.count) afresh")
            }
            m.add(rgis: t, raw: u, rows: n)
        }
        return m
    }

}
