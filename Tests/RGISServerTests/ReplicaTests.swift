import Foundation
import RGISCore
import RGISTesting
import Testing

/// Stateless replicas: two `rgis serve` on one PostgreSQL database through PgBouncer in transaction
/// pooling mode, checked from outside by `tools/replicas.py` (readers on both, writes through one read
/// through the other, one replica killed with SIGKILL under load); and a server reading from a streaming
/// hot standby (`--read-url`), checked by `tools/standby_reads.py` on a primary and standby of its own.
@Suite("Replicas on PostgreSQL")
struct ReplicaTests {
    /// How long the readers read (`RGIS_REPLICA_SECONDS`; 60 for the full check, 10 in the test run).
    static let seconds = ProcessInfo.processInfo.environment["RGIS_REPLICA_SECONDS"] ?? "10"

    @Test("two replicas behind PgBouncer answer 200 concurrent readers alike with no error; a write through one is read through the other within 2 s; one killed under load leaves the other answering and loses nothing")
    func replicasAgree() async throws {
        let direct = try PostgresServer.newDatabase("replicas")
        let name = try #require(direct.split(separator: "/").last?.split(separator: "?").first)
        let pooled = "\(try PgBouncer.base.get())/\(name)?sslmode=disable&pool=transaction"
        // Made and filled directly (DDL and COPY), served only through the pooler.
        #expect(try await rgis("init", direct).status == 0)
        for layer in Layer.allCases {
            let imported = try await rgis("import", direct, Fixtures.demo("\(layer.rawValue).geojson"), "--layer", layer.rawValue)
            #expect(imported.status == 0, "\(imported.stderr)")
        }
        #expect(try await rgis("users", "add", pooled, "amir", "--role", "agent", "--agent", "agent-05").status == 0)
        let token = try await rgis("tokens", "create", pooled, "amir").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // One public address, as behind a load balancer: both replicas' links carry it. Heavy queries run on
        // the database server, so each replica lets as many run at once as it has connections to spare for
        // them (the default, half this machine's cores, is one: 200 readers would queue past the deadline).
        // The deadline is a minute: on this test machine's two cores the replicas, PgBouncer, PostgreSQL
        // and 200 reader threads share the CPU with the rest of the test run.
        let options = ["--no-notify", "--rate-limit", "0", "--base-url", "http://rgis.example", "--heavy-slots", "4", "--request-timeout", "60"]
        let a = try ServerProcess(database: pooled, arguments: options)
        defer { a.stop() }
        let b = try ServerProcess(database: pooled, arguments: options)
        defer { b.stop() }
        let check = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/replicas.py").path, "--a", a.url, "--b", b.url,
                                                       "--token", token, "--kill-pid", String(a.pid), "--readers", "200", "--seconds", Self.seconds])
        print(check.stdout, terminator: "")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("replicas: all checks passed"))
    }

    @Test("with --read-url, requests read from a streaming standby (the old value while its replay is paused), a writer reads its own write by RGIS-Read-After or its cookie, every read shows it once replay resumes, and a token revoked on the primary is refused at once")
    func standbyReads() async throws {
        _ = try PostgresServer.base.get()
        let result = try await Fixtures.runOracle("standby_reads.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path])
        print(result.stdout, terminator: "")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("standby reads: all checks passed"))
    }
}
