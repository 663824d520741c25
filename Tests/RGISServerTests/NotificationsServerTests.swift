import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RGISCore
import RGISNotify
import RGISServer
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// Saved searches over HTTP: an agent adds and turns off their own, a message's links unsubscribe in
/// one click and record reactions the agent sees in the ledger, and `/metrics` counts the outbox.
@Suite struct NotificationsServerTests {
    /// Accepts every webhook.
    struct Accepting: WebhookTransport {
        func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) async throws -> HTTPReply { HTTPReply(status: 200) }
    }

    @Test func anAgentSavesASearchAndTheMessageLinksWorkWithoutAnAccount() async throws {
        let server = try await AccessServer()
        let store = try SpatiaLiteStore.open(at: server.path)
        let signer = LinkSigner(key: try await store.linkKey())
        try await server.test { client in
            func send(_ who: Who, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> (Int, JSONValue?, String) {
                var headers = server.headers(who)
                if body != nil { headers[.contentType] = "application/json" }
                return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                    let text = String(buffer: response.body)
                    return (Int(response.status.code), try? JSONValue.parse(Array(text.utf8)), text)
                }
            }
            let path = "/demands/\(AccessFixture.demandA)/subscriptions"
            // Bad settings are refused by name.
            for (body, field) in [(#"{"email":"x@example.test","shedule":"daily"}"#, "shedule"), (#"{"webhook":"http://crm.test/h","secret":"nope"}"#, "secret"),
                                  (#"{"email":"x@example.test","timezone":"Mars/Olympus"}"#, "timezone"),
                                  (#"{"webhook":"http://crm.test/h","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","schedule":"daily"}"#, "schedule")] {
                let (status, problem, _) = try await send(.agentA, .post, path, body)
                #expect(status == 422, "\(body)")
                #expect(problem?["detail"]?.stringValue?.contains(field) == true || problem?["invalid-params"] != nil, "\(problem?.jsonText ?? "")")
            }
            let (created, subscription, _) = try await send(.agentA, .post, path, #"{"email":"buyer@example.test","schedule":"daily","digest_hour":7,"timezone":"Europe/Prague"}"#)
            #expect(created == 201)
            let id = try #require(subscription?["id"]?.number.map { Int64($0) })
            #expect(subscription?["digest_hour"]?.number == 7)
            let (_, mine, _) = try await send(.agentA, .get, "/subscriptions")
            #expect(mine?["subscriptions"]?.arrayValue?.contains { $0["id"]?.number == Double(id) } == true)
            let (_, theirs, _) = try await send(.agentB, .get, "/subscriptions")
            #expect(theirs?["subscriptions"]?.arrayValue?.isEmpty == true, "another agent sees none of them")
            #expect(try await send(.agentB, .patch, "/subscriptions/\(id)", #"{"active":false}"#).0 == 403)

            // The unsubscribe link: a page with a button (a GET changes nothing), then the one-click POST.
            let token = signer.token(["unsubscribe", String(id)], expires: Date().addingTimeInterval(86_400))
            let (pageStatus, _, page) = try await send(.anonymous, .get, "/notifications/unsubscribe?token=\(token)")
            #expect(pageStatus == 200 && page.contains("<form method=\"post\""))
            #expect(try await store.subscription(id).active)
            let (done, _, _) = try await send(.anonymous, .post, "/notifications/unsubscribe?token=\(token)", "List-Unsubscribe=One-Click")
            #expect(done == 200)
            let stopped = try await store.subscription(id)
            #expect(!stopped.active && stopped.disabledReason?.hasPrefix("unsubscribed by the recipient") == true)
            #expect(try await send(.anonymous, .post, "/notifications/unsubscribe?token=\(token.dropLast(2))xx", "").0 == 422, "a forged link")

            // A match is sent; the client's "favourite" shows in the agent's ledger.
            _ = try await send(.agentA, .post, path, #"{"webhook":"http://crm.test/alice","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#)
            _ = try await send(.agentA, .post, "/collections/listings/items",
                               #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.0551586,48.0451599]},"properties":{"status":"active","property_type":"apartment","list_price":150000,"living_area_m2":35,"bedrooms":1}}"#)
            var configuration = NotifierConfiguration(worker: "server-test:1")
            configuration.publicURL = "http://rgis.test"
            let round = try await Notifier(store: store, webhooks: Accepting(), mail: nil, configuration: configuration, clock: { AccessServer.clock }).runOnce()
            #expect(round.sent == 1)
            let messageID = try #require(try await store.notifications(agent: AccessFixture.agentA, limit: 1).first?.messageID)
            let react = signer.token(["react", messageID, "favourite"], expires: Date().addingTimeInterval(86_400))
            #expect(try await send(.anonymous, .post, "/notifications/react?token=\(react)").0 == 200)
            let (ledgerStatus, ledger, _) = try await send(.agentA, .get, "/clients/\(AccessFixture.clientA)/ledger")
            #expect(ledgerStatus == 200)
            #expect(ledger?["sent"]?.arrayValue?.first?["reaction"]?.stringValue == "favourite")
            #expect(try await send(.agentB, .get, "/clients/\(AccessFixture.clientA)/ledger").0 == 403)
            let (_, notifications, _) = try await send(.agentA, .get, "/notifications")
            #expect(notifications?["counts"]?["sent"]?.number == 1)
            let (_, _, metrics) = try await send(.anonymous, .get, "/metrics")
            #expect(metrics.contains(#"rgis_notifications{state="sent"} 1"#), "\(metrics.split(separator: "\n").filter { $0.contains("notif") })")
        }
    }
}
