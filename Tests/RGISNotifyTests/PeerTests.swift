import Foundation
import RGISCore
import RGISNotify
import RGISTesting
import Testing

/// The SMTP client and the webhook client against real peers: aiosmtpd, and a receiver that checks
/// signatures with the `standardwebhooks` reference library.
@Suite(.serialized) struct PeerTests {
    static let message = "From: alerts@rgis.test\r\nTo: c@example.test\r\nSubject: test\r\n\r\nfirst line\r\n.a line that starts with a dot\r\n..two dots\r\nlast\r\n"

    @Test func sendsPlainWithAuthPlainAndLoginAndOverStartTLS() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let plain = try Peer("smtp_sink.py", [], log: dir.path("plain.jsonl"))
        defer { plain.stop() }
        try await Self.labelled("plain") {
            try await SMTPClient(SMTPConfiguration(host: "127.0.0.1", port: plain.port)).send(OutgoingMail(from: "alerts@rgis.test", to: "c@example.test", data: Self.message))
        }
        let got = try #require(try plain.entries().first)
        #expect(got["rcpt_tos"] == .array([.string("c@example.test")]))
        #expect(got["mail_from"]?.stringValue == "alerts@rgis.test")
        // Dot-stuffed on the wire, unstuffed by the server: the text arrives as written.
        #expect(got["data"]?.stringValue?.contains("\r\n.a line that starts with a dot\r\n..two dots\r\nlast") == true)

        for mechanism in ["PLAIN", "LOGIN"] {
            let auth = try Peer("smtp_sink.py", ["--auth", "rgis:s3cret", "--auth-only", mechanism], log: dir.path("auth-\(mechanism).jsonl"))
            defer { auth.stop() }
            var c = SMTPConfiguration(host: "127.0.0.1", port: auth.port)
            c.username = "rgis"
            c.password = "wrong"
            await #expect(throws: SMTPError.self) { try await SMTPClient(c).send(OutgoingMail(from: "a@rgis.test", to: "c@example.test", data: Self.message)) }
            c.password = "s3cret"
            try await Self.labelled("AUTH \(mechanism)") { try await SMTPClient(c).send(OutgoingMail(from: "a@rgis.test", to: "c@example.test", data: Self.message)) }
            #expect(try auth.entries().map { $0["auth_user"] } == [.string("rgis")], "AUTH \(mechanism)")
        }

        // STARTTLS required by the server, with a certificate the client trusts through --smtp-ca-file.
        let cert = dir.path("cert.pem"), key = dir.path("key.pem")
        let made = try await run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                                                "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2", "-keyout", key, "-out", cert])
        #expect(made.status == 0, "\(made.stderr)")
        let tls = try Peer("smtp_sink.py", ["--tls-cert", cert, "--tls-key", key, "--require-tls", "--auth", "rgis:s3cret"], log: dir.path("tls.jsonl"))
        defer { tls.stop() }
        var c = SMTPConfiguration(host: "127.0.0.1", port: tls.port, startTLS: .required, username: "rgis", password: "s3cret")
        await #expect(throws: (any Error).self, "an untrusted certificate is refused") {
            try await SMTPClient(c).send(OutgoingMail(from: "a@rgis.test", to: "c@example.test", data: Self.message))
        }
        c.trustRootsFile = cert
        // aiosmtpd switches its socket to TLS after writing "220 Ready": a TLS hello arriving before the
        // switch is lost, which a loaded machine makes likely. That race is the peer's; try again.
        for attempt in 1...3 {
            do {
                try await SMTPClient(c).send(OutgoingMail(from: "a@rgis.test", to: "c@example.test", data: Self.message))
                break
            } catch let error as SMTPError where attempt < 3 && error.reply == nil {
                print("STARTTLS attempt \(attempt): \(error)")
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let secured = try #require(try tls.entries().first)
        #expect(secured["tls"] == .bool(true))
        #expect(secured["auth_user"]?.stringValue == "rgis")
    }

    static func labelled(_ label: String, _ body: () async throws -> Void) async throws {
        do { try await body() } catch {
            Issue.record("\(label): \(error)")
            throw error
        }
    }

    @Test func tellsAPermanentRefusalFromATemporaryOne() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let sink = try Peer("smtp_sink.py", ["--reject", "gone@example.test=550", "--tempfail-first", "1"], log: dir.path("mail.jsonl"))
        defer { sink.stop() }
        let client = SMTPClient(SMTPConfiguration(host: "127.0.0.1", port: sink.port))
        do {
            try await client.send(OutgoingMail(from: "a@rgis.test", to: "gone@example.test", data: Self.message))
            Issue.record("550 should throw")
        } catch let error as SMTPError {
            #expect(error.isPermanent)
            #expect(error.reply?.code == 550)
            #expect(error.stage == "RCPT TO")
        }
        do {
            try await client.send(OutgoingMail(from: "a@rgis.test", to: "c@example.test", data: Self.message))
            Issue.record("451 should throw")
        } catch let error as SMTPError {
            #expect(!error.isPermanent)
            #expect(error.reply?.code == 451)
        }
        try await client.send(OutgoingMail(from: "a@rgis.test", to: "c@example.test", data: Self.message))
        #expect(try sink.entries().count == 1)
        // Nobody listening: a transport failure, not a refusal.
        let closed = SMTPClient(SMTPConfiguration(host: "127.0.0.1", port: 1))
        await #expect(throws: SMTPError.self) { try await closed.send(OutgoingMail(from: "a@rgis.test", to: "c@example.test", data: Self.message)) }
    }

    @Test func signedWebhooksVerifyWithTheReferenceLibraryAndRetryAfterIsRead() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let receiver = try Peer("webhook_receiver.py", ["--secret", secret], log: dir.path("hooks.jsonl"))
        defer { receiver.stop() }
        let transport = try NIOWebhookTransport(targets: Harness.loopback)
        let body = Array(#"{"type":"listing.matched","data":{"x":"é"}}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        let headers = StandardWebhooks.headers(secret: try WebhookSecret(secret), id: "msg_1", timestamp: now, body: body)
        let reply = try await transport.post(url: "http://127.0.0.1:\(receiver.port)/hooks?agent=a", headers: headers, body: body, timeoutSeconds: 15)
        #expect(reply.status == 200)
        let forged = StandardWebhooks.headers(secret: try WebhookSecret("whsec_" + Data(repeating: 7, count: 32).base64EncodedString()), id: "msg_2", timestamp: now, body: body)
        #expect(try await transport.post(url: "http://127.0.0.1:\(receiver.port)/hooks", headers: forged, body: body, timeoutSeconds: 15).status == 401)
        let entries = try receiver.entries()
        #expect(entries.map { $0["verified"] } == [.bool(true), .bool(false)])
        #expect(entries.first?["path"]?.stringValue == "/hooks?agent=a")

        let busy = try Peer("webhook_receiver.py", ["--secret", secret, "--status", "503", "--retry-after", "30"], log: dir.path("busy.jsonl"))
        defer { busy.stop() }
        let answer = try await transport.post(url: "http://127.0.0.1:\(busy.port)/", headers: headers, body: body, timeoutSeconds: 15)
        #expect(answer.status == 503)
        #expect(answer.retryAfterSeconds == 30)
        await #expect(throws: (any Error).self) { _ = try await transport.post(url: "http://127.0.0.1:1/", headers: headers, body: body, timeoutSeconds: 2) }
    }
}

/// Webhooks only to the outside world: a receiver on loopback registered before the check (or a
/// name that now resolves inward) is refused at delivery, with no connection made, and the owner
/// sees only the class of the failure.
@Suite struct WebhookTargetTests {
    @Test func aLoopbackReceiverIsNeverConnectedToAndTheFailureSaysOnlyItsClass() async throws {
        let h = try Harness()
        defer { h.directory.remove() }
        let receiver = try Peer("webhook_receiver.py", ["--secret", Harness.secret, "--no-timestamp-check"], log: h.directory.path("hooks.jsonl"))
        defer { receiver.stop() }
        // Stored past the registration check, as an older release stored it.
        let request = try SubscriptionRequest(demand: Harness.demand, email: nil, webhook: "http://127.0.0.1:\(receiver.port)/crm", secret: Harness.secret,
                                              schedule: nil, digestHour: nil, timeZone: nil, quietHours: nil, priceUpdates: false, backfill: false)
        _ = try await h.store.addSubscription(demand: Harness.demand, request.settings, by: .fileOwner, now: h.clock.now)
        var configuration = NotifierConfiguration(worker: "targets:1")
        configuration.publicURL = "http://rgis.test"
        let clock = h.clock
        let notifier = Notifier(store: h.store, webhooks: try NIOWebhookTransport(), mail: nil, configuration: configuration, clock: { clock.now })
        try await h.list("T1")
        let round = try await notifier.runOnce()
        #expect(round.sent == 0 && round.retried + round.failed == 1, "\(round)")
        #expect(try receiver.entries().isEmpty, "the receiver on loopback was never reached")
        let errors = try await h.database.read { db in try String.fetchAll(db, sql: "SELECT last_error FROM deliveries WHERE last_error IS NOT NULL") }
        #expect(errors == ["failed: address not allowed"], "\(errors)")
        // The same worker with the operator's allowance delivers it.
        let allowed = Notifier(store: h.store, webhooks: try NIOWebhookTransport(targets: Harness.loopback), mail: nil, configuration: configuration,
                               clock: { clock.now })
        clock.advance(3600)
        #expect(try await allowed.runOnce().sent == 1)
    }

    @Test func deliveryErrorsShownToOwnersAreClassesOnly() async throws {
        let transport = try NIOWebhookTransport(targets: Harness.loopback)
        // A closed port on loopback: refused, said as a class.
        do {
            _ = try await transport.post(url: "http://127.0.0.1:9/x", headers: [], body: [], timeoutSeconds: 5)
            Issue.record("a closed port answered")
        } catch let error as TransportError {
            #expect(error.description == "failed: connection refused", "\(error.description) (\(error.detail))")
        }
        do {
            _ = try await NIOWebhookTransport().post(url: "http://0x7f000001:9/x", headers: [], body: [], timeoutSeconds: 5)
            Issue.record("loopback in hex was connected to")
        } catch let error as TransportError {
            #expect(error.description == "failed: address not allowed")
        }
    }
}
