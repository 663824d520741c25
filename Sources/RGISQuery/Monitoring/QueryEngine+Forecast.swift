import RGISCore
import RGISStore

/// Forecasts of the district series (``FigureForecast``), made from the series as published.
extension QueryEngine {
    /// Each district's forecast of the figures in ``ForecastOptions/figures``, `horizon` months past the
    /// last complete month, from up to five years of its published monthly series (a withheld month is
    /// missing, so a forecast reveals nothing the series withholds), with its backtest.
    public func forecasts(_ options: ForecastOptions) async throws -> DistrictForecasts {
        let seriesOptions = try options.series
        let key = "forecasts|\(options.level.rawValue)|\(options.district ?? "*")|\(options.lastMonth.text)|\(options.horizon)"
        return try await figureCache.value(key, version: try await features.marketChangeToken()) {
            let series = try await series(seriesOptions)
            let months = seriesOptions.months
            return DistrictForecasts(level: options.level, historyFrom: seriesOptions.from, historyTo: seriesOptions.to, horizon: options.horizon,
                                     districts: series.districts.map { d in
                DistrictForecasts.District(id: d.id, name: d.name, figures: ForecastOptions.figures.map { figure in
                    (figure, FigureForecast(history: d.months.map { $0.values[figure]?.number }, months: months, horizon: options.horizon))
                })
            })
        }
    }
}
