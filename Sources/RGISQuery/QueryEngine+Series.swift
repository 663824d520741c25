import RGISCore
import RGISStore

/// Monthly market series per district, from the listings' and demands' dates and their dated
/// changes (``MarketHistory``), with the indicators' small-number rule month by month.
///
/// How each month is read (the oracle, `tools/series_oracle.py`, reads it the same way):
/// - a listing is on the market from its `list_date`; its status on a day is `closed` from its
///   `close_date`, else the last status change on or before the day, else the first change's old
///   status, else (no change recorded) `active` for a listing closed later and its status otherwise;
/// - its price on a day is the last price change's new price on or before the day, else the first
///   change's old price, else its list price; a price cut is a price below that first price;
/// - a demand exists from its `created_at`, with status and budget read the same way;
/// - stock figures (inventory, prices, days on market, cuts, long unsold, active demands, budget) are
///   taken at the month's last day (long unsold: listed more than 180 days before it); flows (new listings, closed sales at their close price, new demands) over the month.
extension QueryEngine {
    public func series(_ options: SeriesOptions) async throws -> MarketSeries {
        let key = "series|\(options.level.rawValue)|\(options.district ?? "")|\(options.from.text)|\(options.to.text)"
        return try await figureCache.value(key, version: try await features.marketVersion()) { try await computeSeries(options) }
    }

    func computeSeries(_ options: SeriesOptions) async throws -> MarketSeries {
        let history = try await features.marketHistory(level: options.level, district: options.district)
        var listings: [Int64: [MarketHistory.Listing]] = [:]
        for l in history.listings { listings[l.district, default: []].append(l) }
        var demands: [Int64: [MarketHistory.Demand]] = [:]
        for d in history.demands { demands[d.district, default: []].append(d) }
        let shown = options.months
        let districts = history.districts.map { district -> MarketSeries.District in
            let supply = listings[district.fid] ?? [], demand = demands[district.fid] ?? []
            var byMonth: [YearMonth: DistrictFigures] = [:]
            // Each month shown and the month a year before it (for the year-over-year change).
            for month in Set(shown + shown.map { $0.adding(-12) }) { byMonth[month] = Self.figures(month, supply, demand) }
            let months = shown.map { month -> MarketSeries.Month in
                let now = byMonth[month]!, before = byMonth[month.adding(-12)]!
                var yoy: [SeriesFigure: JSONValue] = [:]
                var suppressed = now.suppressed
                for figure in SeriesFigure.allCases {
                    let key = figure.rawValue
                    if now.suppressed.contains(key) || before.suppressed.contains(key) {
                        yoy[figure] = .null
                        suppressed.insert("yoy." + key)
                    } else if let v = now.values[key]?.number, let base = before.values[key]?.number, base != 0 {
                        yoy[figure] = .double(((v - base) / abs(base) * 1000).rounded() / 1000)
                    } else {
                        yoy[figure] = .null
                    }
                }
                var values: [SeriesFigure: JSONValue] = [:]
                for figure in SeriesFigure.allCases { values[figure] = now.values[figure.rawValue] ?? .null }
                return MarketSeries.Month(month: month, values: values, yearOverYear: yoy, suppressed: suppressed.sorted())
            }
            return MarketSeries.District(id: district.id, name: district.name, months: months)
        }
        return MarketSeries(level: options.level, from: options.from, to: options.to, districts: districts)
    }

    static func figures(_ month: YearMonth, _ supply: [MarketHistory.Listing], _ demand: [MarketHistory.Demand]) -> DistrictFigures {
        let first = month.firstDay.text, last = month.lastDay.text
        let lastDayNumber = month.lastDay.dayNumber
        func inMonth(_ day: String?) -> Bool {
            guard let day = day?.prefix(10) else { return false }
            return day >= first && day <= last
        }
        var figures = DistrictFigures()
        let active = supply.filter { $0.status(on: last) == "active" }
        let closed = supply.filter { $0.status == "closed" && inMonth($0.closeDate) }
        figures.count(SeriesFigure.newListings.rawValue, supply.filter { inMonth($0.listDate) }.count)
        figures.count(SeriesFigure.closedSales.rawValue, closed.count)
        figures.count(SeriesFigure.activeInventory.rawValue, active.count)
        figures.median(SeriesFigure.medianListPricePerM2.rawValue, values: active.compactMap { l in
            guard let price = l.price(on: last), let area = l.livingAreaM2, area > 0 else { return nil }
            return price / area
        }, digits: 0)
        figures.median(SeriesFigure.medianClosePricePerM2.rawValue, values: closed.compactMap { l in
            guard let price = l.closePrice, let area = l.livingAreaM2, area > 0 else { return nil }
            return price / area
        }, digits: 0)
        let days = active.compactMap { l in l.listDate.flatMap { ISODate(parsing: $0) }.map { Double(lastDayNumber - $0.dayNumber) } }
        figures.median(SeriesFigure.medianDaysOnMarket.rawValue, values: days, digits: 0)
        figures.share(SeriesFigure.priceCutShare.rawValue, active.filter { l in
            guard let now = l.price(on: last), let first = l.firstPrice else { return false }
            return now < first
        }.count, of: active.count)
        figures.share(SeriesFigure.longUnsoldShare.rawValue, days.filter { $0 > Double(IndicatorOptions.longUnsoldDays) }.count, of: active.count)
        figures.ratio(SeriesFigure.monthsOfSupply.rawValue, SeriesFigure.activeInventory.rawValue, over: SeriesFigure.closedSales.rawValue)
        figures.ratio(SeriesFigure.absorptionRate.rawValue, SeriesFigure.closedSales.rawValue, over: SeriesFigure.activeInventory.rawValue, digits: 3)
        let wanting = demand.filter { $0.status(on: last) == "active" }
        figures.count(SeriesFigure.activeDemands.rawValue, wanting.count)
        figures.count(SeriesFigure.newDemands.rawValue, demand.filter { inMonth($0.createdAt) }.count)
        figures.median(SeriesFigure.medianBudget.rawValue, values: wanting.compactMap { $0.budget(on: last) }, digits: 0)
        figures.ratio(SeriesFigure.demandSupplyRatio.rawValue, SeriesFigure.activeDemands.rawValue, over: SeriesFigure.activeInventory.rawValue)
        return figures
    }
}

/// A value on a day from dated changes: the last change's new value on or before the day, else the
/// first change's old value, else `current`.
private func value(on day: String, _ changes: [MarketHistory.Change], current: String?) -> String? {
    if let last = changes.last(where: { $0.day <= day }) { return last.new }
    if let first = changes.first { return first.old }
    return current
}

extension MarketHistory.Listing {
    /// Nil before it was listed (or when it has no list date).
    func status(on day: String) -> String? {
        guard let listed = listDate?.prefix(10), listed <= day else { return nil }
        if status == "closed", let closed = closeDate?.prefix(10), closed <= day { return "closed" }
        if statusChanges.isEmpty { return status == "closed" ? "active" : status }
        return value(on: day, statusChanges, current: status)
    }

    func price(on day: String) -> Double? {
        value(on: day, priceChanges, current: nil).flatMap(Double.init) ?? (priceChanges.isEmpty ? listPrice : nil)
    }

    /// The price it was first listed at.
    var firstPrice: Double? { priceChanges.isEmpty ? listPrice : priceChanges[0].old.flatMap(Double.init) }
}

extension MarketHistory.Demand {
    /// Nil before it was created (or when it has no creation date).
    func status(on day: String) -> String? {
        guard let created = createdAt?.prefix(10), created <= day else { return nil }
        return value(on: day, statusChanges, current: status)
    }

    func budget(on day: String) -> Double? {
        value(on: day, budgetChanges, current: nil).flatMap(Double.init) ?? (budgetChanges.isEmpty ? budgetMax : nil)
    }
}
