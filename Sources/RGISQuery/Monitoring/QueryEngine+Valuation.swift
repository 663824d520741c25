import Foundation
import RGISCore
import RGISStore

/// Valuation by comparable sales (``ComparableRules``), with its accuracy measured on the stored sales.
extension QueryEngine {
    /// The subject (a stored listing, or a point with a type and size), the comparable closed sales of
    /// its type within the radius and months (nearest first, each with its adjustments and adjusted
    /// price) and the active listings of its type there (asking prices, marked, not in the estimate),
    /// as map-ready GeoJSON; the estimate and its range as top-level members beside the method's
    /// accuracy on the stored sales (``valuationAccuracy(radiusMetres:months:)``).
    public func valuation(_ q: ValuationQuery) async throws -> String {
        let subject = try await valuationSubject(q)
        let found = try await comparables(subject, q)
        var features: [StoredFeature] = [StoredFeature(fid: 0, id: subject.id ?? "subject", geometryGeoJSON: subject.geometry, properties: [
            "role": .string("subject"), "property_type": subject.type.map { .string($0.rawValue) } ?? .null,
            "living_area_m2": .double(subject.areaM2), "year_built": subject.yearBuilt.map { .int(Int64($0)) } ?? .null,
            "as_of": .string(q.asOf.text), "district": subject.district.map(JSONValue.string) ?? .null,
        ])]
        features += found.sales.map(\.feature) + found.active
        var extra: [String: JSONValue] = [
            "method": .string("comparable sales of the type within \(MatchScore.number(q.radiusMetres)) m closed in the \(q.months) months before \(q.asOf.text), the \(ComparableRules.maximumComparables) nearest: each brought to the day by the district's median list price per m², to the subject's living area in proportion, and to its age by 0.5 % a year (at most 20 %); the estimate is their median, the range their quartiles"),
        ]
        let prices = found.sales.map(\.adjusted.price).sorted()
        if prices.count >= ComparableRules.minimumComparables {
            extra["estimate"] = .object(["value": Self.whole(ComparableRules.quantile(prices, 0.5)),
                                         "low": Self.whole(ComparableRules.quantile(prices, 0.25)),
                                         "high": Self.whole(ComparableRules.quantile(prices, 0.75)),
                                         "comparables": .int(Int64(prices.count))])
        } else {
            extra["estimate"] = .null
            extra["reason"] = .string("\(prices.count) comparable sale\(prices.count == 1 ? "" : "s"); an estimate needs at least \(ComparableRules.minimumComparables) (widen radius_m or months)")
        }
        extra["accuracy"] = try await valuationAccuracy(radiusMetres: q.radiusMetres, months: q.months)
        return FeaturePage(features: features, next: nil).geoJSON(extra: extra)
    }

    struct ValuationSubject {
        var id: String?
        var position: Position
        var geometry: String
        var type: PropertyType?
        var areaM2: Double
        var yearBuilt: Int?
        /// The subject's district at the district level, whose price series dates the sales.
        var district: String?
    }

    struct Comparable {
        var feature: StoredFeature
        var adjusted: ComparableRules.Adjusted
    }

    func valuationSubject(_ q: ValuationQuery) async throws -> ValuationSubject {
        var subject: ValuationSubject
        if let id = q.listing {
            let listing = try await features.feature(.listings, id: id)
            let point = try JSONValue.parse(Array(listing.geometryGeoJSON.utf8))["coordinates"]?.arrayValue?.compactMap(\.number) ?? []
            guard point.count >= 2 else { throw RGISError(.invalidValue, "listing '\(id)' has no point", at: "parameter listing") }
            guard let area = q.livingAreaM2 ?? listing.properties["living_area_m2"]?.number, area > 0 else {
                throw RGISError(.invalidValue, "listing '\(id)' has no living area; give area_m2", at: "parameter area_m2")
            }
            subject = ValuationSubject(id: id, position: Position(lon: point[0], lat: point[1]), geometry: listing.geometryGeoJSON,
                                       type: q.propertyType ?? listing.properties["property_type"]?.stringValue.flatMap(PropertyType.init(rawValue:)),
                                       areaM2: area, yearBuilt: q.yearBuilt ?? listing.properties["year_built"]?.number.map { Int($0) })
        } else {
            let p = q.centre!
            subject = ValuationSubject(id: nil, position: p, geometry: #"{"type":"Point","coordinates":[\#(p.lon),\#(p.lat)]}"#,
                                       type: q.propertyType, areaM2: q.livingAreaM2!, yearBuilt: q.yearBuilt)
        }
        let holders = try await features.districts(containing: subject.position).features
        subject.district = holders.first { $0.properties["level"] == .string(DistrictLevel.district.rawValue) }?.id
        return subject
    }

    /// The comparable sales (adjusted, nearest first, at most the rule's number) and the active listings.
    func comparables(_ subject: ValuationSubject, _ q: ValuationQuery, excluding: String? = nil) async throws -> (sales: [Comparable], active: [StoredFeature]) {
        var query = RadiusQuery(centre: try Centre(lon: subject.position.lon, lat: subject.position.lat), radius: try RadiusMetres(q.radiusMetres),
                                limit: try Limit(10_000))
        query.filter.statuses = [.closed, .active]
        if let type = subject.type { query.filter.propertyTypes = [type] }
        let since = q.asOf.addingMonths(-q.months).text, until = q.asOf.text
        let index = try await priceIndex(district: subject.district)
        let now = index.value(at: YearMonth(q.asOf))
        var sales: [Comparable] = [], active: [StoredFeature] = []
        // Nearest first, a page at a time, until the sales are found or the circle is read (at most
        // 20 pages of 10,000: the active listings shown are those of the pages read).
        var pagesRead = 0
        while pagesRead < 20 {
            let page = try await radius(query)
            pagesRead += 1
            for var f in page.features where f.id != subject.id && f.id != excluding {
                let p = f.properties
                if p["status"] == .string("active") {
                    f.properties["role"] = .string("active listing (asking price, not in the estimate)")
                    active.append(f)
                    continue
                }
                // A sale priced or sized beyond any market (stored before ranges were checked) is no comparable.
                guard sales.count < ComparableRules.maximumComparables, let price = p["close_price"]?.number, price > 0, price <= 1e12,
                      let area = p["living_area_m2"]?.number, area >= 1, let closed = p["close_date"]?.stringValue.map({ String($0.prefix(10)) }),
                      closed >= since, closed <= until, let day = ISODate(parsing: closed) else { continue }
                let then = index.value(at: YearMonth(day))
                let factor = (now != nil && then != nil && then! > 0) ? now! / then! : 1
                let adjusted = ComparableRules.adjust(price: price, timeFactor: factor, areaM2: area, subjectAreaM2: subject.areaM2,
                                                      yearBuilt: p["year_built"]?.number.map { Int($0) }, subjectYearBuilt: subject.yearBuilt)
                f.properties["role"] = .string("comparable sale")
                f.properties["time_factor"] = .double((factor * 10_000).rounded() / 10_000)
                f.properties["adjustments"] = .object(["time": Self.whole(adjusted.time), "size": Self.whole(adjusted.size), "age": Self.whole(adjusted.age)])
                f.properties["adjusted_price"] = Self.whole(adjusted.price)
                sales.append(Comparable(feature: f, adjusted: adjusted))
            }
            guard sales.count < ComparableRules.maximumComparables, let next = page.next else { break }
            query.after = next
        }
        return (sales, active)
    }

    /// A district's median list price per m² by month, as published; a month withheld takes the nearest
    /// earlier published one (none before the first published month).
    struct PriceIndex {
        var byMonth: [YearMonth: Double]
        func value(at month: YearMonth) -> Double? {
            guard let first = byMonth.keys.min(), month >= first else { return nil }
            var m = month
            while m >= first {
                if let v = byMonth[m] { return v }
                m = m.adding(-1)
            }
            return nil
        }
    }

    /// Twenty years to this month: one range for every valuation, so that the series is computed once
    /// per change of the market.
    func priceIndex(district: String?) async throws -> PriceIndex {
        guard let district else { return PriceIndex(byMonth: [:]) }
        let month = YearMonth(ISODate.today())
        let series = try await series(try SeriesOptions(level: .district, district: district, from: month.adding(1 - SeriesOptions.maximumMonths), to: month))
        var byMonth: [YearMonth: Double] = [:]
        for m in series.districts.first?.months ?? [] {
            if let v = m.values[.medianListPricePerM2]?.number { byMonth[m.month] = v }
        }
        return PriceIndex(byMonth: byMonth)
    }

    /// Leave-one-out on the stored sales: each of up to ``accuracySample`` closed sales (spread evenly
    /// over storage order) valued on the day it closed from the other sales before it, by the same rules;
    /// the median absolute percentage error of the estimate and how often the sale fell in the range.
    public func valuationAccuracy(radiusMetres: Double, months: Int) async throws -> JSONValue {
        let key = "valuation-accuracy|\(radiusMetres)|\(months)"
        return try await figureCache.value(key, version: try await features.marketChangeToken()) {
            var sales: [StoredFeature] = []
            var after: Int64?
            let status = Layer.listings.fields.first { $0.name == "status" }!
            repeat {
                var items = ItemsQuery(layer: .listings, limit: try Limit(10_000))
                items.equals = [(status, .text("closed"))]
                items.afterFid = after
                let page = try await features.items(items)
                let parsed = try JSONValue.parse(Array(("[" + page.featuresGeoJSON + "]").utf8)).arrayValue ?? []
                sales += parsed.compactMap { f in
                    guard let id = f["id"]?.stringValue, let geometry = f["geometry"] else { return nil }
                    return StoredFeature(fid: 0, id: id, geometryGeoJSON: geometry.jsonText, properties: f["properties"]?.objectValue ?? [:])
                }
                after = page.hasNext ? page.lastFid : nil
            } while after != nil && sales.count < 100_000
            // Spread evenly over storage order.
            let tested = min(sales.count, Self.accuracySample)
            var errors: [Double] = []
            var inside = 0
            for sale in (0..<tested).map({ sales[$0 * sales.count / tested] }) {
                guard let price = sale.properties["close_price"]?.number, price > 0,
                      let closed = sale.properties["close_date"]?.stringValue, let day = ISODate(parsing: String(closed.prefix(10))),
                      let area = sale.properties["living_area_m2"]?.number, area > 0 else { continue }
                let q = try ValuationQuery(listing: sale.id, radiusMetres: radiusMetres, months: months, asOf: day.addingDays(-1))
                let subject = try await valuationSubject(q)
                let prices = try await comparables(subject, q).sales.map(\.adjusted.price).sorted()
                guard prices.count >= ComparableRules.minimumComparables else { continue }
                let estimate = ComparableRules.quantile(prices, 0.5)
                errors.append(abs(estimate - price) / price)
                if price >= ComparableRules.quantile(prices, 0.25) && price <= ComparableRules.quantile(prices, 0.75) { inside += 1 }
            }
            return .object([
                "method": .string("leave-one-out: each sampled sale valued on the day before it closed from the sales before it, by the same rules"),
                "sales_tested": .int(Int64(errors.count)),
                "median_absolute_percentage_error": errors.isEmpty ? .null : .double((RGISCore.median(errors)! * 10_000).rounded() / 100),
                "within_range_share": errors.isEmpty ? .null : .double((Double(inside) / Double(errors.count) * 1000).rounded() / 1000),
            ])
        }
    }

    /// A whole number of money, or null where it is none (a value no market has).
    static func whole(_ x: Double) -> JSONValue {
        guard x.isFinite, abs(x) < 1e15 else { return .null }
        return .int(Int64(x.rounded()))
    }

    /// The most sales the accuracy is measured on.
    static let accuracySample = 200
}
