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
    /// The series of `options`. `reusing`: `.all` answers from the figures this engine computed at the
    /// same market version, else as `.kept`; `.kept` reads each district's kept series where its
    /// stamp has not moved and computes (and keeps) the others; `.none` computes every district afresh
    /// from its rows and keeps nothing.
    public func series(_ options: SeriesOptions, reusing: SeriesReuse = .all) async throws -> MarketSeries {
        // A district that is not there is refused (naming the parameter) before any level is computed.
        if options.district != nil { _ = try await features.keptSeries(level: options.level, district: options.district) }
        let levels: [MarketSeries]
        switch reusing {
        case .none: levels = try await publishedLevels(options, keeping: false)
        case .kept: levels = try await publishedLevels(options, keeping: true)
        case .all:
            // Every level is withheld together, so one computation serves every level's and district's
            // request over the same months until the market changes.
            let key = "series|\(options.from.text)|\(options.to.text)"
            levels = try await figureCache.value(key, version: try await features.marketChangeToken()) {
                try await publishedLevels(options, keeping: true)
            }
        }
        return Self.shown(options, from: levels)
    }

    /// The counts of the series that add up across levels (a district's month is its children's sum).
    static let additiveFigures: [SeriesFigure] = [.newListings, .closedSales, .activeInventory, .activeDemands, .newDemands]
    /// The ratios, each withheld with either of its counts: (ratio, numerator, denominator).
    static let ratioFigures: [(SeriesFigure, SeriesFigure, SeriesFigure)] = [
        (.monthsOfSupply, .activeInventory, .closedSales), (.absorptionRate, .closedSales, .activeInventory),
        (.demandSupplyRatio, .activeDemands, .activeInventory),
    ]

    /// Every level's series as published, over the months of `options` and the year before them:
    /// each month's counts withheld together with every level in view (``Suppression``), so that no
    /// district's month minus its shown children (or any other sum across levels) gives a withheld
    /// count away; a ratio of a withheld count goes with it. In ``DistrictLevel/allCases`` order.
    func publishedLevels(_ options: SeriesOptions, keeping: Bool) async throws -> [MarketSeries] {
        var levels: [MarketSeries] = []
        var parents: [[String: String]] = []
        for level in DistrictLevel.allCases {
            var whole = options
            whole.level = level
            whole.district = nil
            whole.from = options.from.adding(-12)
            levels.append(try await computeSeries(whole, keeping: keeping).series)
            var parent: [String: String] = [:]
            for district in try await features.districts(level: level) {
                if let id = district.properties["parent_id"]?.stringValue { parent[district.id] = id }
            }
            parents.append(parent)
        }
        let monthCount = levels.first?.districts.first?.months.count ?? 0
        for figure in Self.additiveFigures {
            for m in 0..<monthCount {
                var system = Suppression()
                // A withheld count (null) is one of 1 to 4; any of them marks it withheld.
                let cells = levels.map { series in
                    series.districts.map { system.count(Int($0.months[m].values[figure]?.number ?? 1)) }
                }
                for level in 1..<levels.count {
                    let parentRow = Dictionary(levels[level - 1].districts.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
                    var children: [Int: [Int]] = [:]
                    for (i, district) in levels[level].districts.enumerated() {
                        if let parent = parents[level][district.id], let row = parentRow[parent] { children[row, default: []].append(cells[level][i]) }
                    }
                    for (row, parts) in children { system.sum(cells[level - 1][row], of: parts) }
                }
                let withheld = system.withhold().withheld
                for level in levels.indices {
                    for i in levels[level].districts.indices where withheld[cells[level][i]] {
                        Self.withhold(figure, in: &levels[level].districts[i].months[m])
                    }
                }
            }
        }
        return levels
    }

    /// The level and district `options` ask for, over its months, with each change from the year
    /// before read again from what is published.
    static func shown(_ options: SeriesOptions, from levels: [MarketSeries]) -> MarketSeries {
        var districts = levels[DistrictLevel.allCases.firstIndex(of: options.level)!].districts
        if let id = options.district { districts = districts.filter { $0.id == id } }
        districts = districts.map { district in
            var shown = district
            shown.months = (12..<district.months.count).map { m in Self.changes(district.months[m], since: district.months[m - 12]) }
            return shown
        }
        return MarketSeries(level: options.level, from: options.from, to: options.to, districts: districts)
    }

    /// Withholds `figure` in a month, and the ratios made from it.
    static func withhold(_ figure: SeriesFigure, in month: inout MarketSeries.Month) {
        var names = [figure]
        for (ratio, numerator, denominator) in ratioFigures where numerator == figure || denominator == figure { names.append(ratio) }
        var suppressed = Set(month.suppressed)
        for name in names {
            month.values[name] = .null
            suppressed.insert(name.rawValue)
        }
        month.suppressed = suppressed.sorted()
    }

    /// `now` with each figure's change from `before` (a year earlier): withheld where either is.
    static func changes(_ now: MarketSeries.Month, since before: MarketSeries.Month) -> MarketSeries.Month {
        var month = now
        let nowWithheld = Set(now.suppressed), beforeWithheld = Set(before.suppressed)
        var suppressed = Set(now.suppressed.filter { !$0.hasPrefix("yoy.") })
        for figure in SeriesFigure.allCases {
            let key = figure.rawValue
            if nowWithheld.contains(key) || beforeWithheld.contains(key) {
                month.yearOverYear[figure] = .null
                suppressed.insert("yoy." + key)
            } else if let v = now.values[figure]?.number, let base = before.values[figure]?.number, base != 0 {
                month.yearOverYear[figure] = .double(((v - base) / abs(base) * 1000).rounded() / 1000)
            } else {
                month.yearOverYear[figure] = .null
            }
        }
        month.suppressed = suppressed.sorted()
        return month
    }

    /// The months kept for a district whenever its series are computed, whatever a request shows:
    /// the default series (two years to this month) and the alerts' walk, with the year before each
    /// for the year-over-year changes (40 months to the month of `today`).
    static func keptMonths(today: ISODate) -> [YearMonth] {
        let to = YearMonth(today)
        return (0..<(Self.alertHistoryMonths + 3 + 12 + 1)).map { to.adding(-$0) }
    }

    /// Computes the kept series of every district whose stamp moved since (the server runs it in the
    /// background after writes, so that a planner's next request reads them); the number computed.
    public func keepSeriesCurrent(today: ISODate) async throws -> Int {
        let months = Self.keptMonths(today: today)
        var computed = 0
        for level in DistrictLevel.allCases {
            let options = try SeriesOptions(level: level, from: months.last!.adding(12), to: months.first!)
            computed += try await computeSeries(options, keeping: true, today: today, inBackground: false).computed
        }
        return computed
    }

    /// The series, and how many districts were computed rather than read as kept.
    func computeSeries(_ options: SeriesOptions, keeping: Bool, today: ISODate = .today(),
                       inBackground: Bool? = nil) async throws -> (series: MarketSeries, computed: Int) {
        let shown = options.months
        let needed = Set(shown + shown.map { $0.adding(-12) })
        let kept = try await features.keptSeries(level: options.level, district: options.district)
        var byDistrict: [Int64: [YearMonth: DistrictFigures]] = [:]
        if keeping {
            for d in kept.districts { if let text = d.figures, let months = KeptFigures.decode(text) { byDistrict[d.fid] = months } }
        }
        let missing = kept.districts.filter { d in byDistrict[d.fid].map { !needed.isSubset(of: $0.keys) } ?? true }
        var entries: [KeptSeries.Entry] = []
        if !missing.isEmpty {
            // Most of a level: one pass over each table in storage order; a few districts: their index ranges.
            let whole = missing.count > 1 && missing.count * 3 >= kept.districts.count
            let history = try await features.marketHistory(level: options.level, districts: whole ? nil : missing.map(\.fid))
            let wanted = Set(missing.map(\.fid))
            var listings: [Int64: [ListingTimeline]] = [:]
            for l in history.listings where wanted.contains(l.district) { listings[l.district, default: []].append(ListingTimeline(l)) }
            var demands: [Int64: [DemandTimeline]] = [:]
            for d in history.demands where wanted.contains(d.district) { demands[d.district, default: []].append(DemandTimeline(d)) }
            let computing = keeping ? needed.union(Self.keptMonths(today: today)) : needed
            for district in history.districts where wanted.contains(district.fid) {
                let supply = listings[district.fid] ?? [], demand = demands[district.fid] ?? []
                var months: [YearMonth: DistrictFigures] = [:]
                for month in computing { months[month] = Self.figures(month, supply, demand) }
                byDistrict[district.fid] = months
                if keeping { entries.append(KeptSeries.Entry(district: district.fid, stamp: district.stamp, figures: KeptFigures.encode(months))) }
            }
        }
        if !entries.isEmpty {
            let store = features
            if inBackground ?? keepsSeriesInBackground {
                Task.detached { try? await store.keepSeries(entries) }
            } else {
                try await store.keepSeries(entries)
            }
        }
        let districts = kept.districts.map { district -> MarketSeries.District in
            let byMonth = byDistrict[district.fid] ?? [:]
            let months = shown.map { month -> MarketSeries.Month in
                let now = byMonth[month] ?? DistrictFigures(), before = byMonth[month.adding(-12)] ?? DistrictFigures()
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
        return (MarketSeries(level: options.level, from: options.from, to: options.to, districts: districts), missing.count)
    }

    static func figures(_ month: YearMonth, _ supply: [ListingTimeline], _ demand: [DemandTimeline]) -> DistrictFigures {
        let first = month.firstDay.dayNumber, last = month.lastDay.dayNumber
        func inMonth(_ day: Int?) -> Bool { day.map { $0 >= first && $0 <= last } ?? false }
        var figures = DistrictFigures()
        // Indices, not copies: a timeline holds arrays, and copying it costs their reference counts.
        let active = supply.indices.filter { supply[$0].isActive(on: last) }
        let closed = supply.indices.filter { supply[$0].isClosed && inMonth(supply[$0].closeDay) }
        figures.count(SeriesFigure.newListings.rawValue, supply.indices.reduce(0) { $0 + (inMonth(supply[$1].listDay) ? 1 : 0) })
        figures.count(SeriesFigure.closedSales.rawValue, closed.count)
        figures.count(SeriesFigure.activeInventory.rawValue, active.count)
        var perM2: [Double] = [], cut = 0, longUnsold = 0, days: [Double] = []
        perM2.reserveCapacity(active.count)
        days.reserveCapacity(active.count)
        for i in active {
            let l = supply[i]
            let price = l.price(on: last)
            if let price, let area = l.livingAreaM2, area > 0 { perM2.append(price / area) }
            if let price, let firstPrice = l.firstPrice, price < firstPrice { cut += 1 }
            // An active listing has a list day (it is listed by then).
            let d = last - l.listDay!
            days.append(Double(d))
            if d > IndicatorOptions.longUnsoldDays { longUnsold += 1 }
        }
        figures.median(SeriesFigure.medianListPricePerM2.rawValue, values: perM2, digits: 0)
        figures.median(SeriesFigure.medianClosePricePerM2.rawValue, values: closed.compactMap { i in
            guard let price = supply[i].closePrice, let area = supply[i].livingAreaM2, area > 0 else { return nil }
            return price / area
        }, digits: 0)
        figures.median(SeriesFigure.medianDaysOnMarket.rawValue, values: days, digits: 0)
        figures.share(SeriesFigure.priceCutShare.rawValue, cut, of: active.count)
        figures.share(SeriesFigure.longUnsoldShare.rawValue, longUnsold, of: active.count)
        figures.ratio(SeriesFigure.monthsOfSupply.rawValue, SeriesFigure.activeInventory.rawValue, over: SeriesFigure.closedSales.rawValue)
        figures.ratio(SeriesFigure.absorptionRate.rawValue, SeriesFigure.closedSales.rawValue, over: SeriesFigure.activeInventory.rawValue, digits: 3)
        var wanting = 0, budgets: [Double] = [], created = 0
        for d in demand.indices {
            if inMonth(demand[d].createdDay) { created += 1 }
            guard demand[d].isActive(on: last) else { continue }
            wanting += 1
            if let b = demand[d].budget(on: last) { budgets.append(b) }
        }
        figures.count(SeriesFigure.activeDemands.rawValue, wanting)
        figures.count(SeriesFigure.newDemands.rawValue, created)
        figures.median(SeriesFigure.medianBudget.rawValue, values: budgets, digits: 0)
        figures.ratio(SeriesFigure.demandSupplyRatio.rawValue, SeriesFigure.activeDemands.rawValue, over: SeriesFigure.activeInventory.rawValue)
        return figures
    }
}

/// Dated changes with their days as numbers, oldest first.
struct DatedChanges<Value: Sendable>: Sendable {
    var days: [Int] = []
    var old: [Value?] = []
    var new: [Value?] = []

    init(_ changes: [MarketHistory.Change], _ read: (String) -> Value?) {
        for c in changes {
            guard let day = ISODate.dayNumber(prefixOf: c.day) else { continue }
            days.append(day)
            old.append(c.old.flatMap(read))
            new.append(c.new.flatMap(read))
        }
    }

    var isEmpty: Bool { days.isEmpty }

    /// The value on a day: the last change's new value on or before it, else the first change's old
    /// value; `current` when there is no change.
    func value(on day: Int, current: Value?) -> Value? {
        guard !days.isEmpty else { return current }
        var i = days.count - 1
        while i >= 0, days[i] > day { i -= 1 }
        return i >= 0 ? new[i] : old[0]
    }
}

/// A listing's dates as day numbers, read once per request.
struct ListingTimeline: Sendable {
    let listDay: Int?
    let closeDay: Int?
    let isClosed: Bool
    let status: String
    let listPrice: Double?
    let livingAreaM2: Double?
    let closePrice: Double?
    let prices: DatedChanges<Double>
    let statuses: DatedChanges<String>

    init(_ l: MarketHistory.Listing) {
        listDay = l.listDate.flatMap(ISODate.dayNumber(prefixOf:))
        closeDay = l.closeDate.flatMap(ISODate.dayNumber(prefixOf:))
        isClosed = l.status == "closed"
        status = l.status
        listPrice = l.listPrice
        livingAreaM2 = l.livingAreaM2
        closePrice = l.closePrice
        prices = DatedChanges(l.priceChanges) { Double($0) }
        statuses = DatedChanges(l.statusChanges) { $0 }
    }

    /// Listed by then, and active: closed from its close day, else as its status changes say, else
    /// (none recorded) active until a later close, else its status.
    func isActive(on day: Int) -> Bool {
        guard let listDay, listDay <= day else { return false }
        if isClosed, let closeDay, closeDay <= day { return false }
        if statuses.isEmpty { return isClosed || status == "active" }
        return statuses.value(on: day, current: status) == "active"
    }

    func price(on day: Int) -> Double? { prices.value(on: day, current: listPrice) }

    /// The price it was first listed at.
    var firstPrice: Double? { prices.isEmpty ? listPrice : prices.old[0] }
}

/// A demand's dates as day numbers.
struct DemandTimeline: Sendable {
    let createdDay: Int?
    let status: String
    let budgetMax: Double?
    let budgets: DatedChanges<Double>
    let statuses: DatedChanges<String>

    init(_ d: MarketHistory.Demand) {
        createdDay = d.createdAt.flatMap(ISODate.dayNumber(prefixOf:))
        status = d.status
        budgetMax = d.budgetMax
        budgets = DatedChanges(d.budgetChanges) { Double($0) }
        statuses = DatedChanges(d.statusChanges) { $0 }
    }

    func isActive(on day: Int) -> Bool {
        guard let createdDay, createdDay <= day else { return false }
        return statuses.value(on: day, current: status) == "active"
    }

    func budget(on day: Int) -> Double? { budgets.value(on: day, current: budgetMax) }
}
