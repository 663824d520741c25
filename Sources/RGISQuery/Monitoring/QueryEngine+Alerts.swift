import RGISCore
import RGISStore

/// Early warning: each district's monthly series walked through the rules (``AlertRules``).
extension QueryEngine {
    /// Months walked before the month of the answer, so that an alert's run and its raising and
    /// clearing are seen (two years).
    static let alertHistoryMonths = 24

    /// The alerts in force at the last complete month on or before `asOf` (the month of `asOf` when
    /// it is that month's last day, else the month before), and the alerts raised and cleared over
    /// the two years before, for the levels given, from the series as `reusing` says.
    public func alerts(asOf: ISODate, levels: [DistrictLevel], rules: AlertRules = AlertRules(), reusing: SeriesReuse = .all) async throws -> AlertReport {
        let month = Self.lastCompleteMonth(asOf)
        var active: [DistrictAlert] = []
        var changes: [AlertReport.Change] = []
        for level in levels {
            let levelRules = rules.rules(for: level)
            guard !levelRules.isEmpty else { continue }
            // Three months more, for the quarterly changes of the first months walked.
            let options = try SeriesOptions(level: level, from: month.adding(-Self.alertHistoryMonths - 3), to: month)
            let series = try await series(options, reusing: reusing)
            for district in series.districts {
                for rule in levelRules {
                    let (alert, log) = Self.walk(district, level: level, rule: rule)
                    if let alert { active.append(alert) }
                    changes += log
                }
            }
        }
        changes.sort { ($0.alert.month, $0.kind == .cleared ? 0 : 1) < ($1.alert.month, $1.kind == .cleared ? 0 : 1) }
        return AlertReport(month: month, active: active, changes: changes)
    }

    public static func lastCompleteMonth(_ day: ISODate) -> YearMonth {
        let month = YearMonth(day)
        return day.addingDays(0).text == month.lastDay.text ? month : month.adding(-1)
    }

    /// The value of a rule's metric in a month (nil where withheld, undefined or before the series).
    static func metric(_ name: String, _ months: [MarketSeries.Month], at i: Int) -> Double? {
        if name.hasPrefix("yoy.") {
            return SeriesFigure(rawValue: String(name.dropFirst(4))).flatMap { months[i].yearOverYear[$0]?.number }
        }
        if name.hasPrefix("quarter.") {
            guard i >= 3, let figure = SeriesFigure(rawValue: String(name.dropFirst(8))),
                  let now = months[i].values[figure]?.number, let before = months[i - 3].values[figure]?.number, before != 0 else { return nil }
            return ((now - before) / abs(before) * 1000).rounded() / 1000
        }
        return SeriesFigure(rawValue: name).flatMap { months[i].values[$0]?.number }
    }

    /// One rule through one district's months (from the fourth: the first three only feed the
    /// quarterly changes): the alert in force at the end, and every raising and clearing.
    static func walk(_ district: MarketSeries.District, level: DistrictLevel, rule: AlertRule) -> (DistrictAlert?, [AlertReport.Change]) {
        var log: [AlertReport.Change] = []
        var raised: DistrictAlert?
        var run: (since: YearMonth, months: Int)?
        var within = 0
        let months = district.months
        for i in min(3, months.count)..<months.count {
            guard let value = metric(rule.metric, months, at: i) else { continue }
            let month = months[i].month
            if rule.isBeyond(value) {
                within = 0
                run = run.map { ($0.since, $0.months + 1) } ?? (month, 1)
                if raised == nil, let run, run.months >= AlertRules.monthsToRaise {
                    let alert = DistrictAlert(districtID: district.id, districtName: district.name, level: level, rule: rule,
                                              value: value, since: run.since, month: month)
                    raised = alert
                    log.append(.init(kind: .raised, alert: alert))
                }
                raised?.value = value
            } else {
                run = nil
                within += 1
                if var alert = raised, within >= AlertRules.monthsToClear {
                    alert.value = value
                    alert.month = month
                    log.append(.init(kind: .cleared, alert: alert))
                    raised = nil
                }
            }
        }
        return (raised, log)
    }
}

extension QueryEngine {
    /// The alerts in force as GeoJSON features: each on its district's polygon, with what it says.
    public func alertFeatures(_ report: AlertReport) async throws -> FeaturePage {
        var districts: [DistrictLevel: [String: StoredFeature]] = [:]
        for level in Set(report.active.map(\.level)) {
            districts[level] = Dictionary(try await features.districts(level: level).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        }
        let features = report.active.compactMap { alert -> StoredFeature? in
            guard let district = districts[alert.level]?[alert.districtID] else { return nil }
            return StoredFeature(fid: district.fid, id: "\(alert.rule.id).\(alert.districtID)", geometryGeoJSON: district.geometryGeoJSON,
                                 properties: Self.alertProperties(alert, month: report.month))
        }
        return FeaturePage(features: features, next: nil)
    }

    public static func alertProperties(_ alert: DistrictAlert, month: YearMonth) -> [String: JSONValue] {
        [
            "district_id": .string(alert.districtID), "district_name": alert.districtName.map(JSONValue.string) ?? .null,
            "level": .string(alert.level.rawValue), "rule": .string(alert.rule.id), "title": .string(alert.rule.title),
            "metric": .string(alert.rule.metric), "value": .double(alert.value), "comparison": .string(alert.rule.comparison.rawValue),
            "threshold": .double(alert.rule.threshold), "severity": .string(alert.rule.severity),
            "since": .string(alert.since.text), "raised": .string(alert.month.text), "as_of_month": .string(month.text),
        ]
    }

    /// The raisings and clearings as an Atom feed (RFC 4287), newest first, each with its district's
    /// box in GeoRSS Simple (`georss:box`: south west north east).
    public func alertFeed(_ report: AlertReport, feedURL: String, siteURL: String) async throws -> String {
        var boxes: [String: String] = [:]
        for level in Set(report.changes.map(\.alert.level)) {
            for district in try await features.districts(level: level) {
                guard let geometry = try? Geometry(geoJSON: JSONValue.parse(Array(district.geometryGeoJSON.utf8))) else { continue }
                let p = geometry.positions
                guard let w = p.map(\.lon).min(), let e = p.map(\.lon).max(), let s = p.map(\.lat).min(), let n = p.map(\.lat).max() else { continue }
                boxes["\(level.rawValue)/\(district.id)"] = "\(s) \(w) \(n) \(e)"
            }
        }
        let escape = MarkupText.escape
        // A month's change is dated at the end of that month (when its figures were complete).
        func updated(_ m: YearMonth) -> String { m.lastDay.text + "T23:59:59Z" }
        var out = """
            <?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom" xmlns:georss="http://www.georss.org/georss">
              <title>RGIS district early warning</title>
              <id>\(escape(feedURL))</id>
              <link rel="self" type="application/atom+xml" href="\(escape(feedURL))"/>
              <link rel="alternate" type="application/geo+json" href="\(escape(siteURL))"/>
              <updated>\(updated(report.month))</updated>
              <author><name>RGIS</name></author>

            """
        for change in report.changes.reversed() {
            let a = change.alert
            let verb = change.kind == .raised ? "raised" : "cleared"
            let title = "\(a.districtName ?? a.districtID): \(a.rule.title) (\(verb))"
            let summary = "\(a.rule.metric) \(a.value) \(change.kind == .raised ? (a.rule.comparison == .above ? "above" : "below") : "back within") "
                + "\(a.rule.threshold) in \(a.month.text); beyond since \(a.since.text); severity \(a.rule.severity)"
            out += """
                  <entry>
                    <title>\(escape(title))</title>
                    <id>urn:rgis:alert:\(escape(a.level.rawValue)):\(escape(a.districtID)):\(escape(a.rule.id)):\(a.since.text):\(verb)</id>
                    <updated>\(updated(a.month))</updated>
                    <category term="district.alert.\(verb)"/>
                    <category term="\(escape(a.rule.severity))" label="severity"/>
                    <summary>\(escape(summary))</summary>

                """
            if let box = boxes["\(a.level.rawValue)/\(a.districtID)"] { out += "    <georss:box>\(box)</georss:box>\n" }
            out += "  </entry>\n"
        }
        out += "</feed>\n"
        return out
    }
}
