import Foundation
import GRDB
import RGISCore
import RGISStore
import RGISTesting
import Testing

/// `rgis notify run` killed with SIGKILL in the middle of deliveries, again and again: the receiver
/// kills the worker while it holds the worker's request unanswered, and the next worker takes over.
@Suite struct KillTests {
    @Test func killedWorkersLoseNothingAndNoWebhookIdIsAnsweredTwice() async throws {
        let h = try Harness()
        defer { h.directory.remove() }
        let pidFile = h.directory.path("worker.pid")
        let receiver = try Peer("webhook_receiver.py", ["--secret", Harness.secret, "--no-timestamp-check", "--kill-pid-file", pidFile, "--kill-every", "3"],
                                log: h.directory.path("hooks.jsonl"))
        defer { receiver.stop() }
        _ = try await SpatiaLiteStore(h.database).addSubscription(
            demand: Harness.demand, try AlertSettings(channel: .webhook(url: "http://127.0.0.1:\(receiver.port)/crm", secret: Harness.secret)),
            by: .fileOwner, now: Date())
        let count = 45
        for i in 0..<count {
            try await h.list("K\(i)", at: Position(lon: 9.075 + Double(i % 9) * 0.0015, lat: 48.03 + Double(i / 9) * 0.002))
        }

        var kills = 0, workers = 0
        func answered() throws -> [String] {
            try receiver.entries().filter { $0["status"]?.number == 200 }.compactMap { $0["id"]?.stringValue }
        }
        let deadline = Date().addingTimeInterval(240)
        var last: Process?
        while try Set(answered()).count < count && Date() < deadline {
            let worker = Process()
            worker.executableURL = URL(fileURLWithPath: Fixtures.rgisExecutable)
            worker.arguments = ["notify", "run", h.database.path, "--allow-webhook-network", "127.0.0.0/8"]
            worker.standardOutput = Fixtures.devNull()
            worker.standardError = Fixtures.devNull()
            try worker.run()
            workers += 1
            try String(worker.processIdentifier).write(toFile: pidFile, atomically: true, encoding: .utf8)
            last = worker
            // Until the receiver kills it, or everything has been answered.
            while worker.isRunning, try Set(answered()).count < count, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if !worker.isRunning {
                worker.waitUntilExit()
                if worker.terminationReason == .uncaughtSignal && worker.terminationStatus == SIGKILL { kills += 1 }
            }
        }
        // The survivor stops on SIGTERM, cleanly.
        if let last, last.isRunning {
            last.terminate()
            last.waitUntilExit()
            #expect(last.terminationStatus == 0, "graceful shutdown")
        }

        let ids = try answered()
        #expect(kills >= 20, "\(kills) workers killed mid-delivery, \(workers) started")
        #expect(Set(ids).count == count, "every notification answered 2xx: \(Set(ids).count) of \(count)")
        #expect(ids.count == Set(ids).count, "no webhook-id answered 2xx twice")
        let killedRequests = try receiver.entries().filter { $0["killed"] == .bool(true) }.compactMap { $0["id"]?.stringValue }
        #expect(Set(killedRequests).isSubset(of: Set(ids)), "each request cut short was delivered later, under the same webhook-id")
        let states = try await h.database.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT state FROM outbox") }
        #expect(states == ["sent"])
    }
}
