import ArgumentParser
import Foundation
import RGISCore
import RGISQuery
import RGISStore

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "District early warning: the alerts in force, from the monthly series and the rules.",
        discussion: """
            An alert is raised when a district's figure is beyond a rule's threshold two months running, and \
            cleared after one month back within; withheld or undefined months count neither way. The month \
            read is the last complete one on or before --as-of. Default rules (every level): \
            \(AlertRules.defaults.map { "\($0.id) (\($0.metric) \($0.comparison.rawValue) \(Self.number($0.threshold)))" }.joined(separator: ", ")).

            --rules FILE changes them: {"rules": [{"id": "oversupply", "above": 8, "level": "subdistrict"}, \
            {"id": "shortage", "enabled": false}, {"id": "hot", "metric": "yoy.median_list_price_per_m2", \
            "above": 0.15, "severity": "warning", "title": "Prices up 15 % on a year"}]}. A metric is a series \
            figure, yoy.<figure> (change on a year) or quarter.<figure> (change on three months), as a fraction.

            Output: the alerts as GeoJSON on their districts' polygons, a table, or the Atom feed of \
            raisings and clearings over two years (what GET /collections/alerts/items and /alerts.atom serve).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case geojson, table, atom }

    @OptionGroup var target: DatabaseArgument
    @Option(name: .customLong("as-of"), help: "The day (YYYY-MM-DD; default today).") var asOf: String?
    @Option(help: "Only this level: city, district or subdistrict (default every level).") var level: String?
    @Option(help: "A JSON file of rule changes (see above).") var rules: String?
    @Option(help: "Output: geojson, table or atom.") var format: Format = .geojson

    static func number(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

    func run() async throws {
        try await reportingErrors {
            var p = RequestParameters()
            p.set("as_of", asOf)
            let day = try p.date("as_of") ?? .today()
            let levels = try level.map { [try IndicatorOptions.level(parsing: $0)] } ?? DistrictLevel.allCases
            let engine = try await engine(target)
            let report = try await engine.alerts(asOf: day, levels: levels, rules: try rules.map(AlertRules.reading(file:)) ?? AlertRules())
            switch format {
            case .atom:
                Console.out(try await engine.alertFeed(report, feedURL: "urn:rgis:alerts", siteURL: "urn:rgis:alerts:items"))
            case .geojson:
                Console.out(try await engine.alertFeatures(report).geoJSON + "\n")
            case .table:
                Console.out("alerts in force at \(report.month.text): \(report.active.count)\n")
                for a in report.active {
                    Console.out("  \(a.level.rawValue) \(a.districtID) \(a.districtName ?? ""): \(a.rule.id) [\(a.rule.severity)] "
                                + "\(a.rule.metric) \(a.value) \(a.rule.comparison.rawValue) \(Self.number(a.rule.threshold)) since \(a.since.text)\n")
                }
            }
        }
    }
}
