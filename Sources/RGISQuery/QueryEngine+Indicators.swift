import Foundation
import GRDB
import RGISCore
import RGISStore

/// Supply and demand per district, choropleth-ready.
extension QueryEngine {
    /// One Feature per district of a level (its polygon) with supply figures (active listings, median
    /// list price per m², median days on market, closed sales in the period, long-unsold share) and demand
    /// figures (active demands, median budget), and their ratio. A listing counts in the district that
    /// contains it; a demand in the district that contains its search area's centre (point on surface),
    /// so that each counts once. Any figure computed from 1 to 4 records is withheld: null, and named in
    /// the feature's `suppressed` list (zero is shown: an empty district is news to a planner).
    public func indicators(_ options: IndicatorOptions) throws -> FeaturePage {
        try database.read { db in
            let districts = try Row.fetchAll(db, sql: "SELECT \(StoredFeature.columns(.districts)) FROM districts t WHERE t.level = ? ORDER BY t.fid",
                                             arguments: [options.level.rawValue])
            let sql = Self.indicatorSQL
            let listings = try Row.fetchAll(db, sql: sql.listings, arguments: ["asOf": options.asOf.text, "level": options.level.rawValue])
            let demands = try Row.fetchAll(db, sql: sql.demands, arguments: ["level": options.level.rawValue])

            var supply: [Int64: [Row]] = [:]
            for row in listings { supply[row[0], default: []].append(row) }
            var demand: [Int64: [Double?]] = [:]
            for row in demands { demand[row[0], default: []].append(row[1]) }

            let features = districts.map { row -> StoredFeature in
                var feature = StoredFeature(row: row, layer: .districts)
                var figures = DistrictFigures()
                let rows = supply[feature.fid] ?? []
                let active = rows.filter { ($0[1] as String?) == "active" }
                figures.count("active_listings", active.count)
                figures.median("median_price_per_m2", active.compactMap { r -> Double? in
                    guard let price = r[2] as Double?, let area = r[3] as Double?, area > 0 else { return nil }
                    return price / area
                }, digits: 0)
                let days = active.compactMap { $0[4] as Double? }.filter { $0 >= 0 }
                figures.median("median_days_on_market", days, digits: 0)
                figures.count("closed_in_period", rows.filter { r in
                    guard (r[1] as String?) == "closed", let closed = r[5] as String? else { return false }
                    return closed >= options.periodStart.text && closed <= options.asOf.text + "\u{10FFFF}"
                }.count)
                figures.share("long_unsold_share", days.filter { $0 > Double(IndicatorOptions.longUnsoldDays) }.count, of: days.count)
                let wants = demand[feature.fid] ?? []
                figures.count("active_demands", wants.count)
                figures.median("median_budget", wants.compactMap { $0 }, digits: 0)
                figures.ratio("demand_supply_ratio", "active_demands", over: "active_listings")
                for (key, value) in figures.values { feature.properties[key] = value }
                feature.properties["suppressed"] = .array(figures.suppressed.sorted().map(JSONValue.string))
                return feature
            }
            return FeaturePage(features: features, next: nil)
        }
    }
}

extension QueryEngine {
    /// Supply rows: each listing joined to the districts whose box holds it (R*Tree), then exactly.
    /// Demand rows: each active demand to the district holding its search area's point on surface.
    static let indicatorSQL = (
        listings: """
            SELECT dist.fid, l.status, l.list_price, l.living_area_m2,
                   julianday(:asOf) - julianday(l.list_date), l.close_date
            FROM districts dist JOIN listings l
              ON l.fid IN (SELECT pkid FROM idx_listings_geom
                           WHERE xmax >= MbrMinX(dist.geom) AND xmin <= MbrMaxX(dist.geom)
                             AND ymax >= MbrMinY(dist.geom) AND ymin <= MbrMaxY(dist.geom))
             AND ST_Contains(dist.geom, l.geom)
            WHERE dist.level = :level
            """,
        demands: """
            SELECT dist.fid, m.budget_max
            FROM districts dist JOIN demands m
              ON m.fid IN (SELECT pkid FROM idx_demands_geom
                           WHERE xmax >= MbrMinX(dist.geom) AND xmin <= MbrMaxX(dist.geom)
                             AND ymax >= MbrMinY(dist.geom) AND ymin <= MbrMaxY(dist.geom))
             AND m.status = 'active' AND ST_Contains(dist.geom, ST_PointOnSurface(m.geom))
            WHERE dist.level = :level
            """
    )
}

/// Figures of one district, with the small-number rule applied as they are added.
private struct DistrictFigures {
    var values: [String: JSONValue] = [:]
    var suppressed: Set<String> = []
    let minimum = IndicatorOptions.minimumRecords

    mutating func count(_ key: String, _ n: Int) {
        if n > 0 && n < minimum { withhold(key) } else { values[key] = .int(Int64(n)) }
    }

    mutating func median(_ key: String, _ xs: [Double], digits: Int) {
        guard xs.count >= minimum, let m = RGISCore.median(xs) else {
            if xs.isEmpty { values[key] = .null } else { withhold(key) }
            return
        }
        let scale = pow(10, Double(digits))
        values[key] = .double((m * scale).rounded() / scale)
    }

    mutating func share(_ key: String, _ part: Int, of whole: Int) {
        guard whole >= minimum else {
            if whole == 0 { values[key] = .null } else { withhold(key) }
            return
        }
        values[key] = .double((Double(part) / Double(whole) * 1000).rounded() / 1000)
    }

    /// A ratio of two counts: withheld when either is, null when the denominator is zero.
    mutating func ratio(_ key: String, _ numerator: String, over denominator: String) {
        if suppressed.contains(numerator) || suppressed.contains(denominator) { return withhold(key) }
        guard let n = values[numerator]?.number, let d = values[denominator]?.number, d > 0 else {
            values[key] = .null
            return
        }
        values[key] = .double((n / d * 100).rounded() / 100)
    }

    private mutating func withhold(_ key: String) {
        values[key] = .null
        suppressed.insert(key)
    }
}
