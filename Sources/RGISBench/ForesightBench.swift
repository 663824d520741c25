import Foundation
import GRDB
import RGISCore
import RGISQuery
import RGISSample
import RGISSpatiaLite
import RGISStore

/// Unmet demand, forecasts and valuations, each computed afresh (a new engine: nothing kept), against
/// the raw SQL that is its heaviest part (`--only foresight`).
extension QueryBenchmark {
    func foresight() throws -> [Measure] {
        var unmet = Measure("unmet demand, every subdistrict (every level computed)")
        for _ in 0..<3 {
            var page: FeaturePage!
            let (t, n) = try time {
                page = try blocking { try await QueryEngine(store).unmetDemand(try UnmetDemandOptions(level: .subdistrict)) }
                return page.features.count
            }
            // Raw: each demand's grade by the same statement, counted.
            var rawUnmet = 0
            let (u, _) = try time {
                rawUnmet = try database.read { db in
                    try Row.fetchAll(db, SQLRequest<Row>(literal: SpatiaLiteStore.demandGradeSQL(level: .subdistrict))).count { ($0[8] as Int) == 0 }
                }
                return rawUnmet
            }
            let shown = page.features.compactMap { $0.properties["unmet_demands"]?.number }.reduce(0, +)
            if Int(shown) > rawUnmet { unmet.disagreements.append("RGIS shows \(Int(shown)) unmet demands, raw SQL counts \(rawUnmet)") }
            unmet.add(rgis: t, raw: u, rows: n)
        }
        var forecasts = Measure("forecasts, every subdistrict (series computed); raw: the series alone")
        for _ in 0..<3 {
            let last = YearMonth(ISODate.today()).adding(-1)
            let (t, n) = try time {
                try blocking { try await QueryEngine(store).forecasts(try ForecastOptions(level: .subdistrict, lastMonth: last)) }.districts.count
            }
            let (u, _) = try time {
                try blocking { try await QueryEngine(store).series(try ForecastOptions(level: .subdistrict, lastMonth: last).series, reusing: .none) }.districts.count
            }
            forecasts.add(rgis: t, raw: u, rows: n)
        }
        var valuations = Measure("valuation of a point (accuracy kept); raw: the radius SQL for its sales")
        let engine = QueryEngine(store)
        var random = SplitMix64(seed: 7)
        for i in 0..<(runs + 1) {
            let c = Position(lon: random.uniform(extent.west...extent.east), lat: random.uniform(extent.south...extent.north))
            let q = try ValuationQuery(centre: c, propertyType: .apartment, livingAreaM2: 70, yearBuilt: 2000, asOf: ISODate.today())
            let (t, n) = try time { try blocking { try await engine.valuation(q) }.utf8.count }
            let (u, _) = try time { try rawRadius(c, q.radiusMetres, limit: 10_000).count }
            if i > 0 { valuations.add(rgis: t, raw: u, rows: n) }  // the first measures the accuracy, kept after
        }
        return [unmet, forecasts, valuations]
    }
}
