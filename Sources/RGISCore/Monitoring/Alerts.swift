import Foundation

/// An early-warning rule: a district's monthly figure beyond a threshold.
///
/// `metric` is a series figure (`months_of_supply`), its change from a year before
/// (`yoy.active_inventory`) or from three months before (`quarter.median_list_price_per_m2`), as a
/// fraction. An alert is raised after ``AlertRules/monthsToRaise`` consecutive months beyond the
/// threshold and cleared after ``AlertRules/monthsToClear`` month back within it; a month whose figure
/// is withheld or undefined counts neither way.
public struct AlertRule: Sendable, Equatable {
    public enum Comparison: String, Sendable { case above, below }

    public var id: String
    public var metric: String
    public var comparison: Comparison
    public var threshold: Double
    public var severity: String
    public var title: String
    /// The level it applies to, or nil for every level.
    public var level: DistrictLevel?

    public init(id: String, metric: String, _ comparison: Comparison, _ threshold: Double, severity: String, title: String, level: DistrictLevel? = nil) {
        self.id = id
        self.metric = metric
        self.comparison = comparison
        self.threshold = threshold
        self.severity = severity
        self.title = title
        self.level = level
    }

    public func isBeyond(_ value: Double) -> Bool {
        comparison == .above ? value > threshold : value < threshold
    }
}

/// The rules in force, per level: the defaults, overridden from a file.
public struct AlertRules: Sendable {
    public static let monthsToRaise = 2
    public static let monthsToClear = 1

    /// The defaults, for every level.
    public static let defaults: [AlertRule] = [
        AlertRule(id: "oversupply", metric: "months_of_supply", .above, 7, severity: "warning", title: "Oversupply: more than 7 months of supply"),
        AlertRule(id: "shortage", metric: "months_of_supply", .below, 3, severity: "warning", title: "Shortage: under 3 months of supply"),
        AlertRule(id: "long_unsold", metric: "long_unsold_share", .above, 0.30, severity: "warning",
                  title: "Vacancy: over 30 % of active listings unsold for more than 180 days"),
        AlertRule(id: "inventory_growth", metric: "yoy.active_inventory", .above, 0.25, severity: "notice",
                  title: "Inventory up more than 25 % on a year before"),
        AlertRule(id: "price_rise", metric: "quarter.median_list_price_per_m2", .above, 0.10, severity: "notice",
                  title: "Median list price per m² up more than 10 % in a quarter"),
        AlertRule(id: "price_fall", metric: "quarter.median_list_price_per_m2", .below, -0.10, severity: "notice",
                  title: "Median list price per m² down more than 10 % in a quarter"),
        AlertRule(id: "weak_demand", metric: "demand_supply_ratio", .below, 0.5, severity: "warning",
                  title: "Weak demand: under 0.5 active demands per active listing"),
        AlertRule(id: "strong_demand", metric: "demand_supply_ratio", .above, 2, severity: "warning",
                  title: "Strong demand: over 2 active demands per active listing"),
    ]

    public private(set) var rules: [AlertRule]
    /// Rules turned off: `id` everywhere, `id@level` at one level.
    public private(set) var disabled: Set<String>

    public init(_ rules: [AlertRule] = AlertRules.defaults, disabled: Set<String> = []) {
        self.rules = rules
        self.disabled = disabled
    }

    /// The rules of one level: a rule for that level replaces the general rule of the same id.
    public func rules(for level: DistrictLevel) -> [AlertRule] {
        var byID: [String: AlertRule] = [:]
        var order: [String] = []
        for rule in rules where (rule.level == nil || rule.level == level)
            && !disabled.contains(rule.id) && !disabled.contains("\(rule.id)@\(level.rawValue)") {
            if byID[rule.id] == nil { order.append(rule.id) }
            if rule.level == level || byID[rule.id]?.level != level { byID[rule.id] = rule }
        }
        return order.compactMap { byID[$0] }
    }

    /// The rules in force at every level, as one text: equal for equal rules, so that a watcher can
    /// tell that the rules changed.
    public var fingerprint: String {
        DistrictLevel.allCases.map { level in
            level.rawValue + ":" + rules(for: level).map { r in
                "\(r.id),\(r.metric),\(r.comparison.rawValue),\(r.threshold),\(r.severity)"
            }.joined(separator: ";")
        }.joined(separator: "|")
    }

    /// The defaults with the changes of a rules file (JSON, see ``parsing(json:source:)``).
    public static func reading(file path: String) throws -> AlertRules {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RGISError(FileManager.default.fileExists(atPath: path) ? .io : .notFound, "cannot read the alert rules file", at: path)
        }
        let json: JSONValue
        do { json = try JSONValue.parse(Array(data)) } catch let error as RGISError { throw error.located(path) }
        return try parsing(json: json, source: path)
    }

    static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }

    /// The metrics a rule may name.
    public static var metrics: [String] {
        let figures = SeriesFigure.allCases.map(\.rawValue)
        return figures + figures.map { "yoy." + $0 } + figures.map { "quarter." + $0 }
    }

    /// The defaults with a file's changes: `{"rules": [{"id": "oversupply", "above": 8, "level":
    /// "subdistrict"}, {"id": "shortage", "enabled": false}, {"id": "new_rule", "metric": …, "below": …,
    /// "severity": …, "title": …}]}`. An entry with a known id changes only what it names (for its
    /// level, when it names one); a new id needs a metric and a threshold.
    public static func parsing(json: JSONValue, source: String) throws -> AlertRules {
        func fail(_ i: Int, _ rule: String) -> RGISError { RGISError(.invalidValue, "rules[\(i)]: \(rule)", at: source) }
        guard case .object(let top) = json, case .array(let entries)? = top["rules"] else {
            throw RGISError(.invalidValue, "must be a JSON object with a \"rules\" array", at: source)
        }
        var rules = defaults
        var disabled: [(String, DistrictLevel?)] = []
        for (i, entry) in entries.enumerated() {
            guard case .object(let o) = entry else { throw fail(i, "is not an object") }
            let known: Set<String> = ["id", "metric", "above", "below", "severity", "title", "level", "enabled"]
            if let unknown = o.keys.first(where: { !known.contains($0) }) {
                throw fail(i, "unknown field '\(unknown)'; fields are \(known.sorted().joined(separator: ", "))")
            }
            guard case .string(let id)? = o["id"], !id.isEmpty else { throw fail(i, "field id: a rule needs an id") }
            var level: DistrictLevel?
            if let value = o["level"] {
                guard case .string(let text) = value, let l = DistrictLevel(rawValue: text) else {
                    throw fail(i, "field level: one of \(DistrictLevel.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                level = l
            }
            if case .bool(false)? = o["enabled"] {
                disabled.append((id, level))
                continue
            }
            let base = rules.last { $0.id == id && $0.level == nil }
            var rule = base ?? AlertRule(id: id, metric: "", .above, .nan, severity: "warning", title: id)
            rule.level = level
            if let value = o["metric"] {
                guard case .string(let metric) = value, metrics.contains(metric) else {
                    throw fail(i, "field metric: a series figure, yoy.<figure> or quarter.<figure> (\(SeriesFigure.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                rule.metric = metric
            }
            if o["above"] != nil && o["below"] != nil { throw fail(i, "give above or below, not both") }
            for (name, comparison) in [("above", AlertRule.Comparison.above), ("below", .below)] {
                guard let value = o[name] else { continue }
                guard let threshold = value.number, threshold.isFinite else { throw fail(i, "field \(name): a number") }
                rule.comparison = comparison
                rule.threshold = threshold
            }
            if let value = o["severity"] {
                guard case .string(let s) = value, ["notice", "warning", "critical"].contains(s) else { throw fail(i, "field severity: notice, warning or critical") }
                rule.severity = s
            }
            if let value = o["title"] {
                guard case .string(let t) = value else { throw fail(i, "field title: text") }
                rule.title = t
            }
            guard !rule.metric.isEmpty, !rule.threshold.isNaN else { throw fail(i, "a new rule '\(id)' needs a metric and above or below") }
            // A default's title states its threshold: a changed threshold without a new title says so.
            if let base, o["title"] == nil, base.threshold != rule.threshold || base.comparison != rule.comparison {
                rule.title = "\(rule.title.split(separator: ":").first.map(String.init) ?? id): \(rule.metric) \(rule.comparison.rawValue) \(Self.number(rule.threshold))"
            }
            rules.append(rule)
        }
        return AlertRules(rules, disabled: Set(disabled.map { entry in entry.1.map { "\(entry.0)@\($0.rawValue)" } ?? entry.0 }))
    }
}

/// A rule's state in one district as of a month.
public struct DistrictAlert: Sendable {
    public var districtID: String
    public var districtName: String?
    public var level: DistrictLevel
    public var rule: AlertRule
    /// The figure in the last month it was known.
    public var value: Double
    /// The first month of the run beyond the threshold.
    public var since: YearMonth
    /// The month it was raised (or, for a cleared alert, the month it cleared).
    public var month: YearMonth

    public init(districtID: String, districtName: String?, level: DistrictLevel, rule: AlertRule, value: Double, since: YearMonth, month: YearMonth) {
        self.districtID = districtID
        self.districtName = districtName
        self.level = level
        self.rule = rule
        self.value = value
        self.since = since
        self.month = month
    }
}

/// What the early warning says as of a day: the alerts in force and what was raised and cleared.
public struct AlertReport: Sendable {
    public enum ChangeKind: String, Sendable { case raised, cleared }
    public struct Change: Sendable {
        public var kind: ChangeKind
        public var alert: DistrictAlert
        public init(kind: ChangeKind, alert: DistrictAlert) { self.kind = kind; self.alert = alert }
    }

    /// The last complete month (the one whose figures the alerts read).
    public var month: YearMonth
    public var active: [DistrictAlert]
    /// Raised and cleared over the months read, oldest first.
    public var changes: [Change]

    public init(month: YearMonth, active: [DistrictAlert], changes: [Change]) {
        self.month = month
        self.active = active
        self.changes = changes
    }
}
