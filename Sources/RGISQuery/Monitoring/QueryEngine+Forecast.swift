import RGISCore
import RGISStore

/// Forecasts of the district series (``FigureForecast``), made from the series as published.
extension QueryEngine {
    /// Each district's forecast of the figures in ``ForecastOptions/figures``, `horizon` months past the
    /// last complete month, from up to five years of its published monthly series (a withheld month is
    /// missing, so a forecast reveals nothing the series withholds), with its backtest.
    /// Each forecast lists the alert rules of its figure (`rules`) whose threshold the last observed
    /// month is within and a forecast month crosses (``ExpectedCrossing``).
    public func forecasts(_ options: ForecastOptions, rules: AlertRules = AlertRules()) async throws -> DistrictForecasts {
        let seriesOptions = try options.series
        let key = "forecasts|\(options.level.rawValue)|\(options.district ?? "*")|\(options.lastMonth.text)|\(options.horizon)|\(rules.fingerprint)"
        let levelRules = rules.rules(for: options.level)
        return try await figureCache.value(key, version: try await features.marketChangeToken()) {
            let series = try await series(seriesOptions)
            let months = seriesOptions.months
            return DistrictForecasts(level: options.level, historyFrom: seriesOptions.from, historyTo: seriesOptions.to, horizon: options.horizon,
                                     districts: series.districts.map { d in
                DistrictForecasts.District(id: d.id, name: d.name, figures: ForecastOptions.figures.map { figure in
                    let history = d.months.map { $0.values[figure]?.number }
                    let forecast = FigureForecast(history: history, months: months, horizon: options.horizon)
                    let last = history.last { $0 != nil } ?? nil
                    return DistrictForecasts.Figure(figure: figure, forecast: forecast,
                                                    crossings: ExpectedCrossing.find(forecast, last: last, rules: levelRules.filter { $0.metric == figure.rawValue }))
                })
            })
        }
    }
}
