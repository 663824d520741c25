import Foundation
import Testing
import RGISCore
@testable import RGISQuery
import RGISStore
import RGISTesting

@Suite("Early warning")
struct AlertTests {
    /// A district whose months of supply are the given values (nil: withheld), from 2025-01.
    private func district(_ supply: [Double?]) -> MarketSeries.District {
        let start = YearMonth(parsing: "2025-01")!
        return MarketSeries.District(id: "D1", name: "One", months: supply.enumerated().map { i, v in
            MarketSeries.Month(month: start.adding(i), values: [.monthsOfSupply: v.map(JSONValue.double) ?? .null],
                               yearOverYear: [:], suppressed: v == nil ? ["months_of_supply"] : [])
        })
    }

    @Test("an alert is raised after two months beyond, cleared after one back within, and withheld months count neither way")
    func walk() {
        let rule = AlertRules.defaults.first { $0.id == "oversupply" }!
        // The first three months only feed quarterly changes.
        var (alert, log) = QueryEngine.walk(district([9, 9, 9, 8, 6, 8, nil, 9, 10]), level: .district, rule: rule)
        #expect(log.map(\.kind) == [.raised], "one month beyond (2025-06) is not enough; a withheld month does not break the run")
        #expect(alert?.since.text == "2025-06" && alert?.month.text == "2025-08" && alert?.value == 10)
        (alert, log) = QueryEngine.walk(district([1, 1, 1, 8, 9, 5, 9, nil, 9]), level: .district, rule: rule)
        #expect(log.map(\.kind) == [.raised, .cleared, .raised])
        #expect(log.map(\.alert.month.text) == ["2025-05", "2025-06", "2025-09"])
        #expect(alert?.since.text == "2025-07")
        (alert, log) = QueryEngine.walk(district([nil, nil, nil, 7, 7, 7]), level: .district, rule: rule)
        #expect(alert == nil && log.isEmpty, "7 is not above 7")
    }

    @Test("a rules file changes a threshold for one level, turns a rule off, adds one, and bad entries are refused naming the field")
    func rulesFile() throws {
        let json = try JSONValue.parse(Array("""
            {"rules": [{"id": "oversupply", "above": 8, "level": "subdistrict"}, {"id": "shortage", "enabled": false},
                       {"id": "hot", "metric": "yoy.median_list_price_per_m2", "above": 0.15, "severity": "critical", "title": "Hot"},
                       {"id": "weak_demand", "enabled": false, "level": "city"}]}
            """.utf8))
        let rules = try AlertRules.parsing(json: json, source: "rules.json")
        #expect(rules.rules(for: .subdistrict).first { $0.id == "oversupply" }?.threshold == 8)
        #expect(rules.rules(for: .subdistrict).first { $0.id == "oversupply" }?.title == "Oversupply: months_of_supply above 8",
                "a changed threshold does not keep the default's title")
        #expect(rules.rules(for: .district).first { $0.id == "oversupply" }?.threshold == 7)
        #expect(!rules.rules(for: .district).contains { $0.id == "shortage" })
        #expect(rules.rules(for: .city).first { $0.id == "hot" }?.severity == "critical")
        #expect(!rules.rules(for: .city).contains { $0.id == "weak_demand" } && rules.rules(for: .district).contains { $0.id == "weak_demand" })
        #expect(rules.rules(for: .district).count == AlertRules.defaults.count)
        for (text, message) in [
            (#"{"rules": [{"id": "x", "metric": "mood", "above": 1}]}"#, "field metric"),
            (#"{"rules": [{"id": "x", "metric": "months_of_supply"}]}"#, "needs a metric and above or below"),
            (#"{"rules": [{"id": "oversupply", "above": 1, "below": 2}]}"#, "not both"),
            (#"{"rules": [{"id": "oversupply", "treshold": 1}]}"#, "unknown field 'treshold'"),
            (#"{"rules": [{"id": "oversupply", "level": "county"}]}"#, "field level"),
            (#"{"rules": [{"id": "oversupply", "severity": "panic"}]}"#, "field severity"),
            (#"{"alerts": []}"#, "a \"rules\" array"),
        ] {
            let error = try #require(throws: RGISError.self) { try AlertRules.parsing(json: try JSONValue.parse(Array(text.utf8)), source: "rules.json") }
            #expect(error.description.contains(message) && error.description.contains("rules.json"), "\(error.description)")
        }
    }

    @Test("the month read is the last complete one")
    func lastCompleteMonth() {
        #expect(QueryEngine.lastCompleteMonth(ISODate(parsing: "2026-11-30")!).text == "2026-11")
        #expect(QueryEngine.lastCompleteMonth(ISODate(parsing: "2026-12-02")!).text == "2026-11")
        #expect(QueryEngine.lastCompleteMonth(ISODate(parsing: "2024-02-29")!).text == "2024-02")
    }
}

@Suite("Medians")
struct MedianTests {
    @Test("the selected median equals the sorted one, for odd and even counts, ties and every order")
    func medianBySelection() {
        var random = SystemRandomNumberGenerator()
        for n in [1, 2, 3, 4, 5, 10, 11, 100, 101, 1000] {
            for _ in 0..<20 {
                let values = (0..<n).map { _ in Double(Int.random(in: 0...20, using: &random)) }
                let sorted = values.sorted()
                let expected = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
                #expect(median(values) == expected, "\(values)")
            }
        }
        #expect(median([]) == nil)
        #expect(median([3, 1, 2]) == 2 && median([4, 1, 3, 2]) == 2.5)
    }
}
