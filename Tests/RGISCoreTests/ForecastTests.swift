import Foundation
import RGISCore
import Testing

/// The forecasting method on series whose truth is known.
@Suite("Forecasts: damped-trend smoothing, intervals, backtest")
struct ForecastTests {
    /// Months from January 2022.
    static func months(_ n: Int) -> [YearMonth] { (0..<n).map { YearMonth(year: 2022, month: 1)!.adding($0) } }

    /// Deterministic noise, roughly normal (the sum of four uniforms, centred), of standard deviation `sd`.
    struct Noise {
        var state: UInt64
        mutating func next(_ sd: Double) -> Double {
            var sum = 0.0
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                sum += Double(state >> 11) / Double(1 << 53)
            }
            return (sum - 2) * sd * (3.0).squareRoot()
        }
    }

    @Test("a series with a trend, a season and noise: its noiseless continuation lies inside the intervals, and the backtest is measured")
    func trendAndSeason() {
        var noise = Noise(state: 7)
        let truth = { (t: Int) -> Double in 200 + 1.5 * Double(t) + 6 * sin(2 * Double.pi * Double(t) / 12) }
        let history: [Double?] = (0..<36).map { truth($0) + noise.next(3) }
        let f = FigureForecast(history: history, months: Self.months(36), horizon: 12)
        #expect(f.reason == nil && f.months.count == 12)
        #expect(f.months.first?.month.text == "2025-01" && f.months.last?.month.text == "2025-12")
        let inside95 = f.months.enumerated().filter { h, m in (m.low95...m.high95).contains(truth(36 + h)) }.count
        let inside80 = f.months.enumerated().filter { h, m in (m.low80...m.high80).contains(truth(36 + h)) }.count
        #expect(inside95 >= 11 && inside80 >= 8, "95 %: \(inside95), 80 %: \(inside80) of 12")
        // The intervals widen with the horizon, and the 95 % one holds the 80 % one.
        for (a, b) in zip(f.months, f.months.dropFirst()) { #expect(b.high95 - b.low95 >= a.high95 - a.low95 - 1e-9) }
        #expect(f.months.allSatisfy { $0.low95 <= $0.low80 && $0.low80 <= $0.value && $0.value <= $0.high80 && $0.high80 <= $0.high95 })
        let b = try! #require(f.backtest)
        #expect(b.origins == 24 && b.points > 150)
        // A trend the seasonal naive forecast lags behind: the method beats it.
        #expect((b.mase ?? 9) < 1 && (b.relativeMAE ?? 9) < 1, "\(b)")
        #expect((b.coverage95 ?? 0) > 0.7)
    }

    @Test("fewer than 18 observed months give no forecast and say why; withheld months do not count; the months before the market are not history")
    func shortHistories() {
        let short = FigureForecast(history: (0..<17).map { Double($0 + 10) }, months: Self.months(17), horizon: 12)
        #expect(short.fit == nil && short.months.isEmpty && short.reason == "17 observed months (withheld months do not count); a forecast needs at least 18")
        // 24 months, 7 of them withheld.
        let gaps: [Double?] = (0..<24).map { (i: Int) -> Double? in i % 3 == 1 && i < 21 ? nil : Double(50 + i) }
        let withheld = FigureForecast(history: gaps, months: Self.months(24), horizon: 6)
        #expect(withheld.fit == nil && withheld.observed == 17)
        // 12 months of zeros before a market of 18 months: 18 observed.
        let market: [Double?] = (0..<18).map { (i: Int) -> Double? in Double(30 + i) }
        let late: [Double?] = [Double?](repeating: 0, count: 12) + market
        let opened = FigureForecast(history: late, months: Self.months(30), horizon: 3)
        #expect(opened.observed == 18 && opened.fit != nil && opened.months.map(\.month.text) == ["2024-07", "2024-08", "2024-09"])
    }

    @Test("a constant series: the forecast is the constant with (to rounding) no spread")
    func constant() {
        let f = FigureForecast(history: Array(repeating: 42.0, count: 20), months: Self.months(20), horizon: 4)
        #expect(f.fit != nil)
        #expect(f.months.allSatisfy { abs($0.value - 42) < 1e-9 && $0.high95 - $0.low95 < 1e-6 })
        #expect(f.backtest?.coverage95 == 1 && f.backtest?.mase == nil)  // seasonal naive never errs: no scale
    }

    @Test("a missing month carries the one-step forecast: a gap in a straight line changes nothing")
    func gapsCarryTheForecast() {
        let line: [Double?] = (0..<24).map { 100 + 2 * Double($0) }
        var gapped = line
        gapped[10] = nil
        gapped[15] = nil
        let model = DampedTrend(alpha: 0.5, beta: 0.3, phi: 0.98)
        let a = model.run(line[...])!, b = model.run(gapped[...])!
        #expect(abs(a.forecast(1) - b.forecast(1)) < 2, "\(a.forecast(1)) \(b.forecast(1))")
        #expect(b.errors == a.errors - 2)
    }
}
