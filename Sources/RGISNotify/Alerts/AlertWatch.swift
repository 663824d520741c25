import Foundation
import RGISCore
import RGISQuery
import RGISStore
import Synchronization

/// What the notifier needs to push the early warning: the engine that reads the alerts, the rules,
/// and how often at most it reads them (a read walks every district's series at every level).
public struct AlertWatchConfiguration: Sendable {
    public var engine: QueryEngine
    public var rules: AlertRules
    public var minimumIntervalSeconds: Double

    public init(engine: QueryEngine, rules: AlertRules = AlertRules(), minimumIntervalSeconds: Double = 300) {
        self.engine = engine
        self.rules = rules
        self.minimumIntervalSeconds = minimumIntervalSeconds
    }
}

/// The raisings and clearings between the alerts the watcher last saw and those in force now, as
/// `district.alert.raised` and `district.alert.cleared` webhooks (Standard Webhooks' `type`,
/// `timestamp`, `data`; `data` is what `/collections/alerts/items` says of the alert).
enum AlertWatch {
    /// The state to keep and the transitions to send. An alert whose run starts later than the one
    /// seen (cleared and raised again between two reads) is a clearing and a raising; one whose run
    /// starts earlier (a rule changed) is the same alert.
    static func compare(previous: [AlertStateEntry], report: AlertReport, now: Date, publicURL: String) -> (state: [AlertStateEntry], transitions: [AlertTransition]) {
        let before = Dictionary(previous.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var state: [AlertStateEntry] = []
        var raised: [AlertTransition] = []
        var kept = Set<String>()
        for alert in report.active {
            var data = QueryEngine.alertProperties(alert, month: report.month)
            data["links"] = links(alert.level.rawValue, alert.districtID, publicURL: publicURL)
            let properties = JSONValue.object(data).jsonText
            let fresh = AlertStateEntry(level: alert.level.rawValue, districtID: alert.districtID, rule: alert.rule.id, since: alert.since.text,
                                        raisedAt: now, properties: properties)
            if let old = before[fresh.key], old.since >= fresh.since {
                state.append(old)
                kept.insert(old.key)
                continue
            }
            state.append(fresh)
            raised.append(AlertTransition(kind: .raised, alert: fresh, body: body(.raised, data, now: now)))
        }
        var cleared: [AlertTransition] = []
        for old in previous where !kept.contains(old.key) {
            guard case .object(var data)? = try? JSONValue.parse(Array(old.properties.utf8)) else { continue }
            // The clearing as the series walk saw it; else the rule or the district is no longer watched.
            let clearing = report.changes.last { change in
                change.kind == .cleared && change.alert.level.rawValue == old.level && change.alert.districtID == old.districtID
                    && change.alert.rule.id == old.rule && change.alert.since.text == old.since
            }
            if let clearing {
                data["value"] = .double(clearing.alert.value)
                data["cleared"] = .string(clearing.alert.month.text)
            } else {
                data["cleared"] = .string(report.month.text)
                data["cleared_because"] = .string("the rule changed, or the district is no longer watched")
            }
            data["as_of_month"] = .string(report.month.text)
            cleared.append(AlertTransition(kind: .cleared, alert: old, body: body(.cleared, data, now: now)))
        }
        return (state, cleared + raised)
    }

    static func links(_ level: String, _ district: String, publicURL: String) -> JSONValue {
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        let id = district.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? district
        return .object([
            "alerts": .string("\(base)/collections/alerts/items"),
            "series": .string("\(base)/indicators/series?level=\(level)&district=\(id)"),
        ])
    }

    static func body(_ kind: AlertTransition.Kind, _ data: [String: JSONValue], now: Date) -> String {
        JSONValue.object(["type": .string(kind.rawValue), "timestamp": .string(Timestamp.text(now)), "data": .object(data)]).jsonText
    }
}

/// When the watcher last read the alerts (this process's memory: a restart reads at once).
final class AlertWatchTimer: Sendable {
    private let last = Mutex<Date?>(nil)

    /// True, and the time taken, when `interval` has passed since the last read.
    func due(_ now: Date, interval: Double) -> Bool {
        last.withLock { last in
            if let previous = last, now.timeIntervalSince(previous) < interval, now >= previous { return false }
            last = now
            return true
        }
    }
}

extension Notifier {
    /// Reads the alerts when the market, the month or the rules changed since the stored watch, at
    /// most once per ``AlertWatchConfiguration/minimumIntervalSeconds``, and queues what changed.
    /// Without an active receiver nothing is read and the state is forgotten, so that a receiver
    /// hears only of raisings and clearings from when it is added.
    func watchAlerts(into round: inout NotifyRound) async throws {
        guard let watch = alertWatch else { return }
        let now = clock()
        guard alertWatchTimer.due(now, interval: watch.minimumIntervalSeconds) else { return }
        let stored = try await store.alertWatch()
        guard try await store.alertHooks(owner: nil).contains(where: \.active) else {
            if stored != nil { try await store.resetAlertWatch() }
            return
        }
        let day = ISODate.today(now)
        let mark = AlertWatchMark(market: try await store.marketChangeToken(), month: QueryEngine.lastCompleteMonth(day).text,
                                  rules: watch.rules.fingerprint)
        if stored?.mark == mark { return }
        let report = try await watch.engine.alerts(asOf: day, levels: DistrictLevel.allCases, rules: watch.rules)
        let (state, transitions) = AlertWatch.compare(previous: stored?.state ?? [], report: report, now: now, publicURL: configuration.publicURL)
        // The first read is a start: what is in force then is not news.
        let queued = try await store.recordAlertWatch(previous: stored?.mark, mark: mark, state: state,
                                                      transitions: stored == nil ? [] : transitions, now: now)
        round.alertsQueued += queued ?? 0
    }

    /// Sends one alert message with the saved searches' retry rules, and records the outcome; nil
    /// when the receiver was turned off since the claim (its messages have failed).
    func attempt(_ delivery: AlertDelivery) async -> Outcome? {
        do {
            guard try await store.alertHook(delivery.hookID).active else { return nil }
            let secret = try WebhookSecret(delivery.secret)
            let now = clock()
            let body = Array(delivery.body.utf8)
            let headers = StandardWebhooks.headers(secret: secret, id: delivery.messageID, timestamp: Int64(now.timeIntervalSince1970), body: body)
            let reply: HTTPReply
            do {
                reply = try await webhooks.post(url: delivery.url, headers: headers, body: body, timeoutSeconds: configuration.webhookTimeoutSeconds)
            } catch {
                logger.info("alert webhook \(delivery.messageID) not delivered: \((error as? TransportError)?.detail ?? "\(error)")")
                return try await failed(delivery, error: "\(TransportError.classifying(error))", retryAfter: nil)
            }
            switch Self.verdict(reply) {
            case .accepted:
                try await store.recordSent(.alert(delivery), now: clock())
                return .sent
            case .gone:
                try await store.recordFailure(.alert(delivery), error: "failed: HTTP 410 (gone)", retryAt: nil,
                                              disable: .hook(reason: "the receiver answered 410 Gone at \(Timestamp.text(now))"), now: clock())
                return .failed
            case .retry(let retryAfter):
                return try await failed(delivery, error: "failed: HTTP \(reply.status)", retryAfter: retryAfter)
            }
        } catch {
            logger.error("alert delivery \(delivery.messageID) could not be recorded: \(error)")
            return .retry
        }
    }

    private func failed(_ delivery: AlertDelivery, error: String, retryAfter: Double?) async throws -> Outcome {
        let now = clock()
        let delay = RetryPolicy.delay(afterAttempt: delivery.attempt, jitter: jitter(), retryAfter: retryAfter)
        let failingSince = try await store.recordFailure(.alert(delivery), error: error, retryAt: delay.map { now.addingTimeInterval($0) }, disable: nil, now: now)
        if let failingSince, now.timeIntervalSince(failingSince) >= RetryPolicy.endpointGiveUpSeconds {
            try await store.recordFailure(.alert(delivery), error: error, retryAt: nil,
                                          disable: .hook(reason: "failing since \(Timestamp.text(failingSince)) (last: \(error))"), now: now)
            return .failed
        }
        return delay == nil ? .failed : .retry
    }
}
