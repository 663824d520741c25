import Foundation
import Testing
import RGISCore
import RGISNotify
import RGISQuery
import RGISStore
import RGISTesting

/// The early warning pushed to planners' receivers, on the demo city's market (whose alerts change
/// from month to month: Altstadt drifts into shortage, Hafen into oversupply).
@Suite("Alert webhooks")
struct AlertHookTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    func watcher(_ h: Harness, rules: AlertRules = AlertRules()) -> Notifier {
        var configuration = NotifierConfiguration(worker: "test:1")
        configuration.publicURL = "http://rgis.test"
        return Notifier(store: h.store, webhooks: h.webhooks, mail: nil, configuration: configuration,
                        alerts: AlertWatchConfiguration(engine: QueryEngine(h.store), rules: rules, minimumIntervalSeconds: 0),
                        clock: { h.clock.now }, jitter: { 0.5 })
    }

    func hook(_ h: Harness, _ url: String, level: String? = nil, owner: String = "petra") async throws -> AlertHook {
        try await h.store.addAlertHook(owner: owner, try AlertHookRequest(url: url, secret: Self.secret, level: level), now: h.clock.now)
    }

    /// The keys (`level|district|rule`) of the alerts in force on a day, from the engine directly.
    func inForce(_ h: Harness, _ day: String, rules: AlertRules = AlertRules()) async throws -> Set<String> {
        let report = try await QueryEngine(h.store).alerts(asOf: ISODate(parsing: day)!, levels: DistrictLevel.allCases, rules: rules)
        return Set(report.active.map { "\($0.level.rawValue)|\($0.districtID)|\($0.rule.id)" })
    }

    struct Received {
        let id: String, type: String, key: String, url: String, data: JSONValue
    }

    func received(_ h: Harness) throws -> [Received] {
        try h.webhooks.received.map { r in
            let event = try JSONValue.parse(r.body)
            let data = try #require(event["data"])
            let key = "\(data["level"]?.stringValue ?? "")|\(data["district_id"]?.stringValue ?? "")|\(data["rule"]?.stringValue ?? "")"
            return Received(id: r.headers["webhook-id"] ?? "", type: event["type"]?.stringValue ?? "", key: key, url: r.url, data: data)
        }
    }

    @Test func theRaisingsAndClearingsOfAMonthReachEachReceiverOfTheirLevelOnceSigned() async throws {
        let h = try Harness(start: "2026-10-01T08:00:00Z")
        let all = try await hook(h, "http://planner.test/all")
        let districts = try await hook(h, "http://planner.test/districts", level: "district")
        let notifier = watcher(h)
        let first = try await notifier.runOnce()
        #expect(first.alertsQueued == 0 && h.webhooks.received.isEmpty, "the first read is a start: the alerts in force are not news")

        // October completes: what changed between the end of September and the end of October is sent.
        h.clock.set("2026-11-01T08:00:00Z")
        let before = try await inForce(h, "2026-09-30"), after = try await inForce(h, "2026-10-31")
        let raised = after.subtracting(before), cleared = before.subtracting(after)
        try #require(!raised.isEmpty && !cleared.isEmpty, "the demo's October raises and clears alerts")
        let districtLevel = { (key: String) in key.hasPrefix("district|") }
        let round = try await notifier.runOnce()
        let expected = raised.count + cleared.count + raised.filter(districtLevel).count + cleared.filter(districtLevel).count
        #expect(round.alertsQueued == expected && round.sent == expected)

        let got = try received(h)
        let toAll = got.filter { $0.url == all.url }, toDistricts = got.filter { $0.url == districts.url }
        #expect(Set(toAll.filter { $0.type == "district.alert.raised" }.map(\.key)) == raised)
        #expect(Set(toAll.filter { $0.type == "district.alert.cleared" }.map(\.key)) == cleared)
        #expect(Set(toDistricts.map(\.key)) == raised.union(cleared).filter(districtLevel), "a level's receiver gets that level only")
        #expect(Set(got.map(\.id)).count == got.count, "one webhook-id per message")
        for r in h.webhooks.received {
            let timestamp = try #require(Int64(r.headers["webhook-timestamp"] ?? ""))
            #expect(r.headers["webhook-signature"] == StandardWebhooks.signature(secret: try WebhookSecret(Self.secret), id: r.headers["webhook-id"]!,
                                                                                 timestamp: timestamp, body: r.body))
        }
        // D1 runs short of supply in October (the demo's shortage): what the receiver reads of it.
        let shortage = try #require(toAll.first { $0.key == "district|D1|shortage" && $0.type == "district.alert.raised" })
        #expect(shortage.data["metric"]?.stringValue == "months_of_supply" && shortage.data["comparison"]?.stringValue == "below")
        #expect(shortage.data["threshold"]?.number == 3 && (shortage.data["value"]?.number ?? 99) < 3)
        #expect(shortage.data["raised"]?.stringValue == "2026-10" && shortage.data["as_of_month"]?.stringValue == "2026-10")
        #expect(shortage.data["links"]?["series"]?.stringValue == "http://rgis.test/indicators/series?level=district&district=D1")
        for clearing in toAll where clearing.type == "district.alert.cleared" {
            #expect(clearing.data["cleared"]?.stringValue == "2026-10", "\(clearing.key)")
            #expect(clearing.data["since"]?.stringValue != nil && clearing.data["value"]?.number != nil)
        }

        // Nothing changed since: a second round and a replay of the same month send nothing again.
        #expect(try await notifier.runOnce().alertsQueued == 0)
        #expect(try await watcher(h).runOnce().alertsQueued == 0, "a restarted worker reads the stored state")
        #expect(h.webhooks.received.count == got.count)
        let listed = try await h.store.alertHooks(owner: "petra")
        #expect(listed.map { $0.deliveries["sent"] ?? 0 } == [toAll.count, toDistricts.count])
        #expect(!listed.contains { $0.json.jsonText.contains("whsec_") }, "never the secret")
    }

    @Test func aChangedRuleIsARaisingAndAClearingAndALateReceiverHearsOnlyWhatFollows() async throws {
        let h = try Harness(start: "2026-12-01T08:00:00Z")
        let early = try await hook(h, "http://planner.test/early")
        _ = try await watcher(h).runOnce()
        // Long unsold above a fifth for districts: more districts are beyond it. (A share, which the
        // series never withholds as a complement, so the months it walks are the same under both rules.)
        let stricter = try AlertRules.parsing(json: try JSONValue.parse(Array(#"{"rules":[{"id":"long_unsold","above":0.2,"level":"district"}]}"#.utf8)), source: "test")
        let now = try await inForce(h, "2026-11-30"), strict = try await inForce(h, "2026-11-30", rules: stricter)
        let newlyRaised = strict.subtracting(now)
        try #require(!newlyRaised.isEmpty)
        h.clock.advance(60)
        let late = try await hook(h, "http://planner.test/late")
        h.clock.advance(60)
        #expect(try await watcher(h, rules: stricter).runOnce().alertsQueued == newlyRaised.count * 2, "both hear of the raisings")
        // Back to the defaults: those alerts clear, for the receiver that heard of them and the late one alike.
        h.clock.advance(60)
        _ = try await watcher(h).runOnce()
        let got = try received(h)
        #expect(Set(got.filter { $0.url == late.url && $0.type == "district.alert.cleared" }.map(\.key)) == newlyRaised)
        #expect(Set(got.filter { $0.url == early.url && $0.type == "district.alert.cleared" }.map(\.key)) == newlyRaised)
        #expect(got.filter { $0.type == "district.alert.cleared" }.allSatisfy { $0.data["cleared_because"]?.stringValue != nil })
        #expect(got.filter { $0.url == late.url }.count == newlyRaised.count * 2, "none of the alerts in force before it was added")
    }

    @Test func aFailingReceiverIsRetriedOnTheScheduleAndGoneTurnsItOff() async throws {
        let h = try Harness(start: "2026-10-01T08:00:00Z", webhooks: FakeWebhooks { _, attempt in
            HTTPReply(status: attempt == 1 ? 503 : 200)
        })
        _ = try await hook(h, "http://planner.test/flaky")
        let notifier = watcher(h)
        _ = try await notifier.runOnce()
        h.clock.set("2026-11-01T08:00:00Z")
        let round = try await notifier.runOnce()
        #expect(round.alertsQueued > 0 && round.retried == round.alertsQueued && round.sent == 0)
        h.clock.advance(4)
        #expect(try await notifier.runOnce().sent == 0, "not yet due: 5 s after the first failure")
        h.clock.advance(1)
        #expect(try await notifier.runOnce().sent == round.alertsQueued)
        let ids = h.webhooks.received.map { $0.headers["webhook-id"]! }
        #expect(Set(ids).count * 2 == ids.count, "the same webhook-id on the retry")

        let gone = try Harness(start: "2026-10-01T08:00:00Z", webhooks: FakeWebhooks { _, _ in HTTPReply(status: 410) })
        let hook = try await hook(gone, "http://planner.test/gone")
        _ = try await watcher(gone).runOnce()
        gone.clock.set("2026-11-01T08:00:00Z")
        let failed = try await watcher(gone).runOnce()
        #expect(failed.failed == 1, "the first 410 turns the receiver off and fails the rest")
        let after = try await gone.store.alertHook(hook.id)
        #expect(!after.active && after.disabledReason?.contains("410") == true)
        #expect(after.deliveries["failed"] == failed.alertsQueued && after.deliveries["pending"] == nil)
    }

    @Test func aReceiverIsAnHttpURLWithAStandardWebhooksSecret() throws {
        for (url, secret, level, field) in [("ftp://x.test/h", Self.secret, nil, "url"), ("http://x.test/h", "s3cret", nil, "secret"),
                                            ("http://x.test/h", Self.secret, "county", "level")] as [(String, String, String?, String)] {
            let error = try #require(throws: RGISError.self) { try AlertHookRequest(url: url, secret: secret, level: level) }
            #expect(error.location == field, "\(error.description)")
        }
        let error = try #require(throws: RGISError.self) { try AlertHookRequest(json: try JSONValue.parse(Array(#"{"url":"http://x.test","secret":"\#(Self.secret)","levle":"city"}"#.utf8))) }
        #expect(error.description.contains("unknown member 'levle'"))
    }
}
