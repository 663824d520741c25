import Foundation
import GRDB
import RGISCore
import RGISNotify
import RGISQuery
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Synchronization

/// A clock the test moves.
final class TestClock: Sendable {
    private let time: Mutex<Date>
    init(_ start: String) { time = Mutex(Timestamp.date(start)!) }
    var now: Date { time.withLock { $0 } }
    func set(_ text: String) { time.withLock { $0 = Timestamp.date(text)! } }
    func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A webhook receiver in process: records every request and answers what `answer` says for the
/// request's id and attempt number (1-based).
final class FakeWebhooks: WebhookTransport, Sendable {
    struct Received: Sendable { let url: String; let headers: [String: String]; let body: [UInt8] }
    private let log = Mutex<[Received]>([])
    let answer: @Sendable (_ id: String, _ attempt: Int) -> HTTPReply

    init(answer: @escaping @Sendable (String, Int) -> HTTPReply = { _, _ in HTTPReply(status: 200) }) { self.answer = answer }

    var received: [Received] { log.withLock { $0 } }

    func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) async throws -> HTTPReply {
        let h = Dictionary(headers, uniquingKeysWith: { a, _ in a })
        let attempt = log.withLock { log in
            log.append(Received(url: url, headers: h, body: body))
            return log.filter { $0.headers["webhook-id"] == h["webhook-id"] }.count
        }
        return answer(h["webhook-id"] ?? "", attempt)
    }
}

/// A mail server in process: records messages, or throws what `refuse` says for an address.
final class FakeMail: MailTransport, Sendable {
    private let log = Mutex<[OutgoingMail]>([])
    let refuse: @Sendable (_ to: String, _ attempt: Int) -> SMTPError?

    init(refuse: @escaping @Sendable (String, Int) -> SMTPError? = { _, _ in nil }) { self.refuse = refuse }

    var sent: [OutgoingMail] { log.withLock { $0 } }
    private let attempts = Mutex<[String: Int]>([:])

    func send(_ mail: OutgoingMail) async throws {
        let n = attempts.withLock { a -> Int in a[mail.to, default: 0] += 1; return a[mail.to]! }
        if let error = refuse(mail.to, n) { throw error }
        log.withLock { $0.append(mail) }
    }
}

/// The demo city with a notifier on a test clock.
struct Harness: Sendable {
    /// A polygon demand of the demo city: apartments of 39–64 m² up to 235,000 in a box around (9.0805, 48.0337).
    static let demand = "R00002"
    static let inside = Position(lon: 9.0805, lat: 48.0337)

    let directory: TemporaryDirectory
    let database: RGISDatabase
    let store: SpatiaLiteStore
    let clock: TestClock
    let webhooks: FakeWebhooks
    let mail: FakeMail
    let notifier: Notifier

    init(start: String = "2026-06-01T10:00:00Z", webhooks: FakeWebhooks = FakeWebhooks(), mail: FakeMail = FakeMail(),
         demandsPerEvent: Int = QueryEngine.defaultDemandLimit) throws {
        directory = try Fixtures.temporaryDirectory()
        database = try Templates.demoCity(in: directory)
        store = SpatiaLiteStore(database)
        let clock = TestClock(start)
        self.clock = clock
        self.webhooks = webhooks
        self.mail = mail
        var configuration = NotifierConfiguration(worker: "test:1")
        configuration.publicURL = "http://rgis.test"
        configuration.mailFrom = "alerts@rgis.test"
        configuration.demandsPerEvent = demandsPerEvent
        notifier = Notifier(store: store, webhooks: webhooks, mail: mail, configuration: configuration, clock: { clock.now }, jitter: { 0.5 })
    }

    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    /// The test peers listen on loopback, which webhooks may reach only when the operator allows it.
    static let loopback = WebhookTargets(policy: WebhookNetworkPolicy(allowing: [try! IPNetwork(parsing: "127.0.0.0/8")]))

    func subscribe(_ demand: String = Harness.demand, email: String? = nil, schedule: String? = nil, digestHour: Int? = nil, timeZone: String? = nil,
                   quietHours: String? = nil, priceUpdates: Bool = false, backfill: Bool = false) async throws -> Subscription {
        let request = try SubscriptionRequest(demand: demand, email: email, webhook: email == nil ? "http://crm.test/hooks" : nil,
                                              secret: email == nil ? Self.secret : nil, schedule: schedule, digestHour: digestHour,
                                              timeZone: timeZone, quietHours: quietHours, priceUpdates: priceUpdates, backfill: backfill)
        return try await Subscriptions.add(request, store: store, targets: Self.loopback, by: .fileOwner, now: clock.now).subscription
    }

    /// Adds a listing (as an HTTP write does) and returns its id.
    @discardableResult
    func list(_ id: String, at p: Position = Harness.inside, price: Double = 200_000, area: Double = 50, type: String = "apartment") async throws -> String {
        let body = try JSONValue.parse(Array("""
            {"type":"Feature","id":"\(id)","geometry":{"type":"Point","coordinates":[\(p.lon),\(p.lat)]},
             "properties":{"status":"active","property_type":"\(type)","list_price":\(price),"living_area_m2":\(area),"bedrooms":2,"agent":"agent-08"}}
            """.utf8))
        return try await store.create(.listing, body, owner: nil, client: nil, idempotency: nil).id
    }

    func patch(_ id: String, _ properties: String) async throws {
        let patch = try JSONValue.parse(Array(#"{"properties":\#(properties)}"#.utf8))
        _ = try await store.change(.listing, id: id, .mergePatch(patch), condition: WriteCondition(ifMatch: nil, owner: nil))
    }

    /// The `webhook-id`s received, in order, and the listing each carried.
    var delivered: [(id: String, listing: String, reason: String)] {
        webhooks.received.map { r in
            let json = try! JSONValue.parse(r.body)
            return (r.headers["webhook-id"]!, json["data"]?["listing"]?["id"]?.stringValue ?? "", json["data"]?["reason"]?.stringValue ?? "")
        }
    }

    func outboxStates() throws -> [String] {
        try database.read { db in try String.fetchAll(db, sql: "SELECT listing_id || ' ' || state || ' ' || attempts FROM deliveries WHERE kind = 'search' ORDER BY id") }
    }
}
