import Foundation
import RGISCore
import RGISStore

/// Supply and demand per district, choropleth-ready.
extension QueryEngine {
    /// One Feature per district of a level (its polygon) with supply figures (active listings and their
    /// floor area, median list price per m², median days on market, closed sales in the period, listings
    /// on the market longer than the threshold: their count, share and floor area) and demand
    /// figures (active demands, median budget), and their ratio. A listing counts in the district that
    /// contains it; a demand in the district that contains its search area's centre (point on surface),
    /// so that each counts once. Any figure computed from 1 to 4 records is withheld: null, and named in
    /// the feature's `suppressed` list (zero is shown: an empty district is news to a planner). The
    /// counts are withheld with every level in view (``Suppression``): a district's count is its
    /// subdistricts' sum, so one withheld subdistrict beside its district and siblings gets another.
    /// `reusing`: the answer computed at the same market version, if any (the benchmark turns it off).
    public func indicators(_ options: IndicatorOptions, reusing: Bool = true) async throws -> FeaturePage {
        let levels: [FeaturePage]
        if reusing {
            let key = "indicators|\(options.asOf.text)|\(options.periodStart.text)|\(options.unsoldThresholdDays)"
            levels = try await figureCache.value(key, version: try await features.marketChangeToken()) { try await computeIndicators(options) }
        } else {
            levels = try await computeIndicators(options)
        }
        return levels[DistrictLevel.allCases.firstIndex(of: options.level)!]
    }

    /// Every level's page, in ``DistrictLevel/allCases`` order.
    func computeIndicators(_ options: IndicatorOptions) async throws -> [FeaturePage] {
        var inputs: [[IndicatorInputs.District]] = []
        for level in DistrictLevel.allCases {
            inputs.append(try await features.indicatorInputs(level: level, asOf: options.asOf, periodStart: options.periodStart,
                                                                unsoldThresholdDays: options.unsoldThresholdDays).districts)
        }
        let counts: [(String, KeyPath<IndicatorInputs.District, Int>)] = [
            ("active_listings", \.activeListings), ("closed_in_period", \.closedInPeriod), ("active_demands", \.activeDemands),
            ("long_unsold_listings", \.longUnsold),
        ]
        // Per count, one system over the levels: each district beside the sum of its children.
        var withheld: [String: [[Bool]]] = [:]
        for (name, path) in counts {
            withheld[name] = Self.withheldAcrossLevels(inputs.map { $0.map {
                ($0.feature.id, $0.feature.properties["parent_id"]?.stringValue, $0[keyPath: path])
            } })
        }
        return inputs.enumerated().map { level, districts in
            FeaturePage(features: districts.enumerated().map { i, district -> StoredFeature in
                var feature = district.feature
                var figures = DistrictFigures()
                func count(_ name: String, _ n: Int, also: Bool = false) { figures.count(name, n, withheld: also || withheld[name]![level][i]) }
                count("active_listings", district.activeListings)
                figures.median("median_price_per_m2", district.pricePerM2, digits: 0)
                figures.median("median_days_on_market", district.daysOnMarket, digits: 0)
                count("closed_in_period", district.closedInPeriod)
                // The long-unsold figures are parts of the active listings: withheld wherever those are too
                // (else the count over its share gives the withheld whole). A floor area goes where its
                // count goes, and is withheld when fewer than 5 listings have a living area.
                let activeWithheld = withheld["active_listings"]![level][i]
                let unsoldWithheld = activeWithheld || withheld["long_unsold_listings"]![level][i]
                count("long_unsold_listings", district.longUnsold, also: activeWithheld)
                if unsoldWithheld {
                    figures.withhold("long_unsold_share")
                } else {
                    figures.share("long_unsold_share", district.longUnsold, of: district.daysOnMarket.count)
                }
                figures.area("vacant_floor_area_m2", district.floorAreaM2, over: district.floorAreaListings, withheld: activeWithheld)
                figures.area("long_unsold_floor_area_m2", district.longUnsoldFloorAreaM2, over: district.longUnsoldFloorAreaListings, withheld: unsoldWithheld)
                count("active_demands", district.activeDemands)
                figures.median("median_budget", district.budget, digits: 0)
                figures.ratio("demand_supply_ratio", "active_demands", over: "active_listings")
                for (key, value) in figures.values { feature.properties[key] = value }
                feature.properties["long_unsold_days"] = .int(Int64(options.unsoldThresholdDays))
                feature.properties["suppressed"] = .array(figures.suppressed.sorted().map(JSONValue.string))
                return feature
            }, next: nil)
        }
    }
}

extension QueryEngine {
    /// The indicators' figures, in the order a table shows them.
    public static let indicatorFigures = ["active_listings", "vacant_floor_area_m2", "median_price_per_m2", "median_days_on_market", "closed_in_period",
                                          "long_unsold_listings", "long_unsold_share", "long_unsold_floor_area_m2", "long_unsold_days",
                                          "active_demands", "median_budget", "demand_supply_ratio"]

    /// The indicators as CSV for spreadsheets: `id, name, level`, the figures (empty where withheld
    /// or undefined) and the withheld names (`;`-separated); no geometry.
    public static func indicatorsCSV(_ page: FeaturePage) -> String {
        var out = (["id", "name", "level"] + indicatorFigures + ["suppressed"]).joined(separator: ",") + "\r\n"
        let cell = CSVText.cell
        for f in page.features {
            let suppressed = f.properties["suppressed"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ";") ?? ""
            out += ([CSVText.field(f.id), cell(f.properties["name"]), cell(f.properties["level"])]
                    + indicatorFigures.map { cell(f.properties[$0]) } + [CSVText.field(suppressed)]).joined(separator: ",") + "\r\n"
        }
        return out
    }
}

/// Figures of one district, with the small-number rule applied as they are added.
struct DistrictFigures {
    var values: [String: JSONValue] = [:]
    var suppressed: Set<String> = []
    let minimum = IndicatorOptions.minimumRecords

    /// A count, withheld from 1 to 4.
    mutating func count(_ key: String, _ n: Int) {
        count(key, n, withheld: n > 0 && n < minimum)
    }

    /// A count, withheld as its table's ``Suppression`` decided.
    mutating func count(_ key: String, _ n: Int, withheld: Bool) {
        if withheld { withhold(key) } else { values[key] = .int(Int64(n)) }
    }

    mutating func median(_ key: String, _ m: IndicatorInputs.Median, digits: Int) {
        guard m.count >= minimum, let m = m.value else {
            if m.count == 0 { values[key] = .null } else { withhold(key) }
            return
        }
        let scale = pow(10, Double(digits))
        values[key] = .double((m * scale).rounded() / scale)
    }

    /// The median of some values (withheld over 1 to 4, null over none).
    mutating func median(_ key: String, values: [Double], digits: Int) {
        median(key, IndicatorInputs.Median(count: values.count, value: RGISCore.median(values)), digits: digits)
    }

    mutating func share(_ key: String, _ part: Int, of whole: Int) {
        guard whole >= minimum else {
            if whole == 0 { values[key] = .null } else { withhold(key) }
            return
        }
        values[key] = .double((Double(part) / Double(whole) * 1000).rounded() / 1000)
    }

    /// A ratio of two counts: withheld when either is, null when the denominator is zero.
    mutating func ratio(_ key: String, _ numerator: String, over denominator: String, digits: Int = 2) {
        if suppressed.contains(numerator) || suppressed.contains(denominator) { return withhold(key) }
        guard let n = values[numerator]?.number, let d = values[denominator]?.number, d > 0 else {
            values[key] = .null
            return
        }
        let scale = pow(10, Double(digits))
        values[key] = .double((n / d * scale).rounded() / scale)
    }

    /// A floor area in whole m², withheld where the count of the listings it sums is, or when it sums
    /// 1 to 4 living areas.
    mutating func area(_ key: String, _ m2: Double, over listings: Int, withheld: Bool) {
        if withheld || (listings > 0 && listings < minimum) || !(m2.isFinite && m2 < 1e15) { withhold(key) } else { values[key] = .int(Int64(m2.rounded())) }
    }

    mutating func withhold(_ key: String) {
        values[key] = .null
        suppressed.insert(key)
    }
}
