import Foundation

/// Damped-trend exponential smoothing (Holt's linear method with a damped trend, additive errors:
/// ETS(A,Ad,N)), the forecasting method of the district series.
///
/// Why this one: the series are short (two to five years of months), often withheld here and there,
/// and move by level and trend more than by a season that a two-year history could estimate; a damped
/// trend follows a market's drift without extrapolating it for ever, and its forecast variance has a
/// closed form, so the intervals need no simulation. Seasonal naive (the value a year before) is the
/// yardstick every forecast is measured against (MASE).
///
/// The recursion, from the first observed month (level = that value, trend 0):
///     f  = level + φ·trend                        (the one-step forecast)
///     observed y:  level' = α·y + (1 − α)·f,  trend' = β·(level' − level) + (1 − β)·φ·trend
///     missing:     level' = f,                  trend' = φ·trend
/// A month withheld by the small-number rule is missing: a forecast is made from published figures
/// only, so that it can never reveal a withheld one. α, β and φ are chosen from a fixed grid by the
/// least sum of squared one-step errors (the first error, with no trend known yet, left out; ties to
/// the first in grid order), so that anyone can recompute them.
public struct DampedTrend: Sendable, Equatable {
    public var alpha: Double
    public var beta: Double
    public var phi: Double

    public static let alphas: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    public static let betas: [Double] = [0.01, 0.05, 0.1, 0.2, 0.3]
    public static let phis: [Double] = [0.8, 0.9, 0.98]
    /// Every (α, β, φ) tried, in the order ties are broken.
    public static let grid: [DampedTrend] = alphas.flatMap { a in betas.flatMap { b in phis.map { DampedTrend(alpha: a, beta: b, phi: $0) } } }

    public init(alpha: Double, beta: Double, phi: Double) {
        self.alpha = alpha
        self.beta = beta
        self.phi = phi
    }

    /// The state after a history, and what its one-step errors were.
    public struct Fit: Sendable {
        public var model: DampedTrend
        public var level: Double
        public var trend: Double
        /// The sum of squared one-step errors and how many there were.
        public var squaredErrors: Double
        public var errors: Int
        /// The one-step error variance (mean squared error).
        public var variance: Double { errors > 0 ? squaredErrors / Double(errors) : 0 }

        /// The forecast `h` months after the history's last month.
        public func forecast(_ h: Int) -> Double { level + model.dampedSum(h) * trend }

        /// The forecast's variance `h` months ahead: σ²·(1 + Σ_{j<h} (α·(1 + β·φ_j))²), φ_j = φ + … + φ^j.
        public func variance(_ h: Int) -> Double {
            var sum = 1.0
            for j in stride(from: 1, to: h, by: 1) {
                let c = model.alpha * (1 + model.beta * model.dampedSum(j))
                sum += c * c
            }
            return variance * sum
        }
    }

    /// φ + φ² + … + φ^h.
    public func dampedSum(_ h: Int) -> Double {
        var sum = 0.0, power = 1.0
        for _ in 0..<h {
            power *= phi
            sum += power
        }
        return sum
    }

    /// Runs the recursion over a history (nil: missing); nil when nothing is observed.
    public func run(_ history: ArraySlice<Double?>) -> Fit? {
        guard let first = history.firstIndex(where: { $0 != nil }) else { return nil }
        var fit = Fit(model: self, level: history[first]!, trend: 0, squaredErrors: 0, errors: 0)
        var seen = 1
        for value in history[(first + 1)...] {
            let f = fit.level + phi * fit.trend
            guard let y = value else {
                fit.level = f
                fit.trend *= phi
                continue
            }
            if seen >= 2 {
                fit.squaredErrors += (y - f) * (y - f)
                fit.errors += 1
            }
            seen += 1
            let level = alpha * y + (1 - alpha) * f
            fit.trend = beta * (level - fit.level) + (1 - beta) * phi * fit.trend
            fit.level = level
        }
        return fit
    }

    /// The grid's best fit of a history.
    public static func best(_ history: ArraySlice<Double?>) -> Fit? {
        var best: Fit?
        for model in grid {
            guard let fit = model.run(history) else { return nil }
            if best == nil || fit.squaredErrors < best!.squaredErrors { best = fit }
        }
        return best
    }
}

/// A district figure's forecast, or why there is none, and how well the method did on its history.
public struct FigureForecast: Sendable {
    /// The fewest observed months a forecast is made from: a year for the seasonal-naive yardstick, and
    /// six months more to measure the method on.
    public static let minimumObserved = 18
    /// The backtest's first origin has this many observed months behind it.
    public static let firstOriginObserved = 12
    /// Two-sided normal quantiles of the intervals.
    public static let z80 = 1.2815515655446004, z95 = 1.959963984540054

    public struct Month: Sendable {
        public var month: YearMonth
        public var value: Double
        public var low80: Double, high80: Double, low95: Double, high95: Double
    }

    /// A rolling-origin backtest: at each origin (every observed month from the 12th observed one to
    /// the last but one), the method is fitted on the months up to it and forecasts the next 1 to
    /// `horizon` months; each forecast is compared with the month as published.
    public struct Backtest: Sendable {
        public var origins: Int
        /// Forecasts compared (origin × horizon with the month observed).
        public var points: Int
        /// The mean absolute error over the in-sample mean absolute error of the seasonal naive
        /// forecast (the value 12 months before) over the whole history (Hyndman and Koehler's MASE,
        /// m = 12); nil when fewer than 3 pairs of months a year apart are observed, or they never differ.
        public var mase: Double?
        /// The mean absolute error over that of seasonal naive at the same origins and months (where
        /// the month a year before the forecast month is observed and not after the origin).
        public var relativeMAE: Double?
        /// How often the month fell inside the 80 % and 95 % intervals.
        public var coverage80: Double?
        public var coverage95: Double?
        public var meanAbsoluteError: Double?
    }

    public var observed: Int
    /// Nil when there is no forecast (``reason`` says why).
    public var fit: DampedTrend.Fit?
    public var months: [Month]
    public var backtest: Backtest?
    public var reason: String?

    /// Forecasts a monthly history (oldest first; nil where missing or withheld) `horizon` months past
    /// its last month. Leading months before the first observed non-zero value are not history (the
    /// market was not there yet). Values and bounds below zero are cut to zero: every figure forecast
    /// is a count, a price or a ratio of counts.
    public init(history rawHistory: [Double?], months rawMonths: [YearMonth], horizon: Int) {
        let start = rawHistory.firstIndex { ($0 ?? 0) != 0 } ?? rawHistory.count
        let history = Array(rawHistory[start...])
        observed = history.count { $0 != nil }
        months = []
        guard observed >= Self.minimumObserved, let fit = DampedTrend.best(history[...]), let last = rawMonths.last else {
            fit = nil
            backtest = nil
            reason = "\(observed) observed month\(observed == 1 ? "" : "s") (withheld months do not count); a forecast needs at least \(Self.minimumObserved)"
            return
        }
        self.fit = fit
        reason = nil
        months = (1...horizon).map { h in
            let value = fit.forecast(h), sd = fit.variance(h).squareRoot()
            return Month(month: last.adding(h), value: max(0, value), low80: max(0, value - Self.z80 * sd), high80: max(0, value + Self.z80 * sd),
                         low95: max(0, value - Self.z95 * sd), high95: max(0, value + Self.z95 * sd))
        }
        backtest = Self.backtest(history, horizon: horizon)
    }

    static func backtest(_ history: [Double?], horizon: Int) -> Backtest {
        var absolute = 0.0, naiveAbsolute = 0.0, points = 0, naivePoints = 0, inside80 = 0, inside95 = 0, origins = 0
        var pairedAbsolute = 0.0
        var seen = 0
        for origin in history.indices {
            guard history[origin] != nil else { continue }
            seen += 1
            guard seen >= firstOriginObserved, origin < history.count - 1, let fit = DampedTrend.best(history[...origin]) else { continue }
            origins += 1
            for h in 1...horizon where origin + h < history.count {
                guard let actual = history[origin + h] else { continue }
                let value = fit.forecast(h), sd = fit.variance(h).squareRoot()
                let f = max(0, value)
                absolute += abs(actual - f)
                points += 1
                if actual >= max(0, value - z80 * sd) && actual <= max(0, value + z80 * sd) { inside80 += 1 }
                if actual >= max(0, value - z95 * sd) && actual <= max(0, value + z95 * sd) { inside95 += 1 }
                let lag = origin + h - 12
                if lag >= 0, lag <= origin, let naive = history[lag] {
                    naiveAbsolute += abs(actual - naive)
                    pairedAbsolute += abs(actual - f)
                    naivePoints += 1
                }
            }
        }
        // In-sample seasonal naive error over the whole history.
        var scale = 0.0, pairs = 0
        for t in history.indices where t >= 12 {
            if let a = history[t], let b = history[t - 12] {
                scale += abs(a - b)
                pairs += 1
            }
        }
        let mae = points > 0 ? absolute / Double(points) : nil
        return Backtest(origins: origins, points: points,
                        mase: (mae != nil && pairs >= 3 && scale > 0) ? mae! / (scale / Double(pairs)) : nil,
                        relativeMAE: naivePoints > 0 && naiveAbsolute > 0 ? pairedAbsolute / naiveAbsolute : nil,
                        coverage80: points > 0 ? Double(inside80) / Double(points) : nil,
                        coverage95: points > 0 ? Double(inside95) / Double(points) : nil,
                        meanAbsoluteError: mae)
    }
}

/// What a forecast request covers.
public struct ForecastOptions: Sendable {
    /// The series forecast, each a count, a price or a ratio of counts.
    public static let figures: [SeriesFigure] = [.activeInventory, .monthsOfSupply, .medianListPricePerM2, .activeDemands, .closedSales]
    /// Months of history read before the last complete month (five years).
    public static let historyMonths = 60

    public var level: DistrictLevel
    public var district: String?
    /// Months ahead, 1 to 12.
    public var horizon: Int
    /// The last month of history: the last complete month.
    public var lastMonth: YearMonth

    public init(level: DistrictLevel = .district, district: String? = nil, horizon: Int = 12, lastMonth: YearMonth) throws {
        guard (1...12).contains(horizon) else {
            throw RGISError(.invalidValue, "horizon must be 1–12 months, not \(horizon)", at: "parameter horizon")
        }
        self.level = level
        self.district = district
        self.horizon = horizon
        self.lastMonth = lastMonth
    }

    /// `level` (default district), `district` (default every one), `horizon` (default 12); the
    /// history ends with the month before `today`'s.
    public init(_ p: RequestParameters, today: ISODate) throws {
        try self.init(level: try IndicatorOptions.level(parsing: p["level"] ?? "district"), district: p["district"],
                      horizon: try p.int("horizon") ?? 12, lastMonth: YearMonth(today).adding(-1))
    }

    /// The series the forecasts are made from.
    public var series: SeriesOptions {
        get throws { try SeriesOptions(level: level, district: district, from: lastMonth.adding(1 - Self.historyMonths), to: lastMonth) }
    }
}

/// An alert rule's threshold that a forecast crosses: expected, never observed, and never mixed with
/// the alerts in force (it is published beside the forecast, flagged `"basis": "forecast"`).
public struct ExpectedCrossing: Sendable {
    public var rule: AlertRule
    /// The first forecast month beyond the threshold, and how many months ahead it is.
    public var month: YearMonth
    public var withinMonths: Int
    public var value: Double

    /// The rules on a figure whose threshold the last observed month is within and a forecast month
    /// is beyond: each with the first such month.
    public static func find(_ forecast: FigureForecast, last: Double?, rules: [AlertRule]) -> [ExpectedCrossing] {
        guard forecast.fit != nil, let last else { return [] }
        return rules.compactMap { rule in
            guard !rule.isBeyond(last), let h = forecast.months.firstIndex(where: { rule.isBeyond($0.value) }) else { return nil }
            return ExpectedCrossing(rule: rule, month: forecast.months[h].month, withinMonths: h + 1, value: forecast.months[h].value)
        }
    }
}

/// The forecasts of a level's districts (or one district), with their backtests.
public struct DistrictForecasts: Sendable {
    public struct Figure: Sendable {
        public var figure: SeriesFigure
        public var forecast: FigureForecast
        public var crossings: [ExpectedCrossing]
        public init(figure: SeriesFigure, forecast: FigureForecast, crossings: [ExpectedCrossing]) {
            self.figure = figure
            self.forecast = forecast
            self.crossings = crossings
        }
    }

    public struct District: Sendable {
        public var id: String
        public var name: String?
        public var figures: [Figure]
        public init(id: String, name: String?, figures: [Figure]) {
            self.id = id
            self.name = name
            self.figures = figures
        }
    }

    public static let method = "damped-trend exponential smoothing (Holt, additive errors; α, β, φ from a fixed grid by the least squared one-step error); "
        + "80 % and 95 % intervals from the model's forecast variance; months withheld by the small-number rule are missing; "
        + "measured by a rolling-origin backtest: MASE against seasonal naive (m = 12) and interval coverage"

    public var level: DistrictLevel
    public var historyFrom: YearMonth
    public var historyTo: YearMonth
    public var horizon: Int
    public var districts: [District]

    public init(level: DistrictLevel, historyFrom: YearMonth, historyTo: YearMonth, horizon: Int, districts: [District]) {
        self.level = level
        self.historyFrom = historyFrom
        self.historyTo = historyTo
        self.horizon = horizon
        self.districts = districts
    }

    static func rounded(_ v: Double?, _ digits: Int = 2) -> JSONValue {
        guard let v, v.isFinite else { return .null }
        let scale = pow(10, Double(digits))
        return .double((v * scale).rounded() / scale)
    }

    public var json: JSONValue {
        .object([
            "level": .string(level.rawValue), "history_from": .string(historyFrom.text), "history_to": .string(historyTo.text),
            "horizon": .int(Int64(horizon)), "method": .string(Self.method),
            "districts": .array(districts.map { d in
                .object(["id": .string(d.id), "name": d.name.map(JSONValue.string) ?? .null,
                         "figures": .object(Dictionary(uniqueKeysWithValues: d.figures.map { ($0.figure.rawValue, Self.json($0)) }))])
            }),
        ])
    }

    static func json(_ entry: Figure) -> JSONValue {
        let f = entry.forecast
        var o: [String: JSONValue] = ["observed_months": .int(Int64(f.observed))]
        guard let fit = f.fit else {
            o["forecast"] = .null
            o["reason"] = .string(f.reason ?? "")
            return .object(o)
        }
        o["parameters"] = .object(["alpha": .double(fit.model.alpha), "beta": .double(fit.model.beta), "phi": .double(fit.model.phi)])
        o["forecast"] = .array(f.months.map { m in
            .object(["month": .string(m.month.text), "value": rounded(m.value), "low_80": rounded(m.low80), "high_80": rounded(m.high80),
                     "low_95": rounded(m.low95), "high_95": rounded(m.high95)])
        })
        if let b = f.backtest {
            o["backtest"] = .object(["origins": .int(Int64(b.origins)), "points": .int(Int64(b.points)), "mase": rounded(b.mase, 3),
                                     "relative_mae_seasonal_naive": rounded(b.relativeMAE, 3), "mean_absolute_error": rounded(b.meanAbsoluteError, 3),
                                     "coverage_80": rounded(b.coverage80, 3), "coverage_95": rounded(b.coverage95, 3)])
        }
        o["expected_alerts"] = .array(entry.crossings.map { c in
            .object(["basis": .string("forecast"), "rule": .string(c.rule.id), "title": .string(c.rule.title),
                     "comparison": .string(c.rule.comparison.rawValue), "threshold": .double(c.rule.threshold),
                     "month": .string(c.month.text), "within_months": .int(Int64(c.withinMonths)), "value": rounded(c.value)])
        })
        return .object(o)
    }

    /// One row per district, figure and forecast month (one row with the reason where there is none).
    public var csv: String {
        var out = "district_id,district_name,figure,month,value,low_80,high_80,low_95,high_95,mase,coverage_80,coverage_95,reason\r\n"
        let cell = CSVText.cell
        for d in districts {
            for entry in d.figures {
                let figure = entry.figure, f = entry.forecast
                let head = [CSVText.field(d.id), CSVText.field(d.name ?? ""), figure.rawValue]
                guard f.fit != nil else {
                    out += (head + ["", "", "", "", "", "", "", "", "", CSVText.field(f.reason ?? "")]).joined(separator: ",") + "\r\n"
                    continue
                }
                let tail = [cell(Self.rounded(f.backtest?.mase, 3)), cell(Self.rounded(f.backtest?.coverage80, 3)), cell(Self.rounded(f.backtest?.coverage95, 3)), ""]
                for m in f.months {
                    out += (head + [m.month.text] + [m.value, m.low80, m.high80, m.low95, m.high95].map { cell(Self.rounded($0)) } + tail)
                        .joined(separator: ",") + "\r\n"
                }
            }
        }
        return out
    }
}
