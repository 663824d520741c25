import Foundation
import GRDB
import RGISCore
import RGISStore

/// The figures behind the district indicators: per district, range counts and medians read off the
/// placement indexes (``DistrictPlacement``), a median by skipping to the middle of an ordered index
/// range. No row is tested against a polygon and nothing is read that the figures do not use.
extension SpatiaLiteStore {
    /// The districts are read in as many parts as there are cores, each on its own reader connection
    /// at once (the figures of one district need nothing of another's).
    public func indicatorInputs(level: DistrictLevel, asOf: ISODate, periodStart: ISODate, unsoldThresholdDays: Int) async throws -> IndicatorInputs {
        let districts = try await self.districts(level: level)
        let sql = IndicatorSQL(level: level, asOf: asOf, periodStart: periodStart, unsoldThresholdDays: unsoldThresholdDays)
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4, districts.count))
        let size = (districts.count + parts - 1) / max(parts, 1)
        let figures = try await withThrowingTaskGroup(of: (Int, [IndicatorInputs.District]).self) { group in
            for part in 0..<parts {
                let slice = Array(districts.dropFirst(part * size).prefix(size))
                group.addTask { (part, try await self.read { db in try slice.map { try sql.inputs(db, $0) } }) }
            }
            var byPart: [Int: [IndicatorInputs.District]] = [:]
            for try await (part, done) in group { byPart[part] = done }
            return (0..<parts).flatMap { byPart[$0] ?? [] }
        }
        return IndicatorInputs(districts: figures)
    }
}

/// The statements of one indicators request (one level and day), run per district.
struct IndicatorSQL: Sendable {
    let level: DistrictLevel
    let column: SQL
    let asOf: String
    /// Listed before this day: on the market more than the long-unsold days on the as-of day.
    let longUnsoldBefore: String
    let periodStart: String
    /// The day after the as-of day: a close date (or time) before it is on or before the as-of day.
    let periodEndExclusive: String

    init(level: DistrictLevel, asOf: ISODate, periodStart: ISODate, unsoldThresholdDays: Int = IndicatorOptions.longUnsoldDays) {
        self.level = level
        column = SQL(sql: DistrictPlacement.column(level))
        self.asOf = asOf.addingDays(0).text
        longUnsoldBefore = asOf.addingDays(-unsoldThresholdDays).text
        self.periodStart = periodStart.text
        periodEndExclusive = asOf.addingDays(1).text
    }

    /// An active listing's price per m², as the placement index orders it.
    static let pricePerM2: SQL = "list_price / living_area_m2"

    func inputs(_ db: Database, _ district: StoredFeature) throws -> IndicatorInputs.District {
        let d = district.fid
        var figures = IndicatorInputs.District(feature: district)
        if let row = try db.row("""
            SELECT count(*), count(*) FILTER (WHERE list_date <= \(asOf)), count(*) FILTER (WHERE list_date < \(longUnsoldBefore)),
                   count(*) FILTER (WHERE \(Self.pricePerM2) >= 0),
                   total(living_area_m2), total(living_area_m2) FILTER (WHERE list_date < \(longUnsoldBefore)),
                   count(living_area_m2), count(living_area_m2) FILTER (WHERE list_date < \(longUnsoldBefore))
            FROM listings INDEXED BY \(SQL(sql: "listings_\(level.rawValue)_fid_market")) WHERE \(column) = \(d) AND status = 'active'
            """, cached: true) {
            figures.activeListings = row[0]
            figures.daysOnMarket.count = row[1]
            figures.longUnsold = row[2]
            figures.pricePerM2.count = row[3]
            figures.floorAreaM2 = row[4]
            figures.longUnsoldFloorAreaM2 = row[5]
            figures.floorAreaListings = row[6]
            figures.longUnsoldFloorAreaListings = row[7]
        }
        figures.daysOnMarket.value = try median(db, count: figures.daysOnMarket.count, """
            SELECT julianday(\(asOf)) - julianday(list_date) FROM listings
            WHERE \(column) = \(d) AND status = 'active' AND list_date <= \(asOf) ORDER BY list_date
            """)
        figures.closedInPeriod = try db.value("""
            SELECT count(*) FROM listings WHERE \(column) = \(d) AND status = 'closed'
              AND close_date >= \(periodStart) AND close_date < \(periodEndExclusive)
            """, as: Int.self, cached: true) ?? 0
        figures.pricePerM2.value = try median(db, count: figures.pricePerM2.count, """
            SELECT \(Self.pricePerM2) FROM listings
            WHERE \(column) = \(d) AND status = 'active' AND \(Self.pricePerM2) >= 0 ORDER BY \(Self.pricePerM2)
            """)
        if let row = try db.row("""
            SELECT count(*), count(budget_max) FROM demands WHERE \(column) = \(d) AND status = 'active'
            """, cached: true) {
            figures.activeDemands = row[0]
            figures.budget.count = row[1]
        }
        figures.budget.value = try median(db, count: figures.budget.count, """
            SELECT budget_max FROM demands
            WHERE \(column) = \(d) AND status = 'active' AND budget_max IS NOT NULL ORDER BY budget_max
            """)
        return figures
    }

    /// The median of an ordered statement's `count` values: the middle one, or the mean of the middle
    /// two, read by skipping to them.
    private func median(_ db: Database, count: Int, _ ordered: SQL) throws -> Double? {
        guard count > 0 else { return nil }
        let middle = try db.values("\(ordered) LIMIT \(2 - count % 2) OFFSET \((count - 1) / 2)", as: Double.self)
        guard !middle.isEmpty else { return nil }
        return middle.reduce(0, +) / Double(middle.count)
    }

    /// Every statement, for the plan tests.
    var statements: [SQL] {
        let d: Int64 = 1
        return [
            "SELECT count(*), count(*) FILTER (WHERE \(Self.pricePerM2) >= 0) FROM listings INDEXED BY \(SQL(sql: "listings_\(level.rawValue)_fid_market")) WHERE \(column) = \(d) AND status = 'active'",
            "SELECT list_date FROM listings WHERE \(column) = \(d) AND status = 'active' AND list_date <= \(asOf) ORDER BY list_date LIMIT 1 OFFSET 3",
            "SELECT count(*) FROM listings WHERE \(column) = \(d) AND status = 'closed' AND close_date >= \(periodStart) AND close_date < \(periodEndExclusive)",
            "SELECT \(Self.pricePerM2) FROM listings WHERE \(column) = \(d) AND status = 'active' AND \(Self.pricePerM2) >= 0 ORDER BY \(Self.pricePerM2) LIMIT 1 OFFSET 3",
            "SELECT budget_max FROM demands WHERE \(column) = \(d) AND status = 'active' AND budget_max IS NOT NULL ORDER BY budget_max LIMIT 1 OFFSET 3",
        ]
    }
}
