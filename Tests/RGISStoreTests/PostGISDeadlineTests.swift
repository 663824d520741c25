import Foundation
import RGISCore
@testable import RGISPostGIS
import RGISStore
import RGISTesting
import Testing

/// PostgreSQL's own mechanics under the store: a statement under a deadline is stopped by the server
/// (`statement_timeout` from the time left), not only by a cancel this process must still be alive to
/// send. The store-level contract (a cancelled call ends with CancellationError) is DeadlineConformance.
@Suite("PostgreSQL stops statements at the deadline by itself")
struct PostGISDeadlineTests {
    @Test("six slow statements whose tasks nobody cancels: the server stops each at its deadline (57014, 'unavailable'); sampled in pg_stat_activity, none runs past its timeout plus 1 s; the pooled connections keep no timeout")
    func serverStopsStatements() async throws {
        let store = try await PostGISStore.create(try PostgresServer.newDatabase("deadline"))
        let timeout = Duration.milliseconds(500)
        // The server's clock, not this process's: how long each of the slow statements has been running,
        // sampled until the sampler is cancelled; the longest seen.
        let sampler = Task<Double, Never> {
            let sample: SQLText = """
                SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start) * 1000), 0)::float8
                FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()
                """
            var longest = 0.0
            while !Task.isCancelled {
                if let milliseconds = try? await store.rows(sample)[0][0].decode(Double.self) { longest = max(longest, milliseconds) }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return longest
        }
        let errors = await withTaskGroup(of: RGISError?.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    do {
                        try await StoreDeadline.$instant.withValue(.now + timeout) {
                            _ = try await store.rows("SELECT pg_sleep(30)")
                        }
                        return nil
                    } catch {
                        return error as? RGISError ?? RGISError(.io, "not an RGISError: \(error)")
                    }
                }
            }
            var errors: [RGISError] = []
            for await error in group { if let error { errors.append(error) } }
            return errors
        }
        sampler.cancel()
        #expect(errors.count == 6)
        for error in errors {
            #expect(error.code == .unavailable)
            #expect(error.reason.contains("57014"), "\(error)")
        }
        let longest = await sampler.value
        #expect(longest > 0, "the sampler saw none of the slow statements running")
        #expect(longest <= 1500, "a statement ran \(Int(longest)) ms against a 500 ms deadline")
        // SET LOCAL ended with each transaction: a call without a deadline runs with the server's default.
        let after = try await store.rows("SHOW statement_timeout")[0][0].decode(String.self)
        #expect(after == "0")
    }

    @Test("a deadline already past ends the call with CancellationError before any statement runs")
    func pastDeadline() async throws {
        let store = try await PostGISStore.create(try PostgresServer.newDatabase("pastdeadline"))
        await #expect(throws: CancellationError.self) {
            try await StoreDeadline.$instant.withValue(.now - .seconds(1)) {
                _ = try await store.rows("SELECT 1")
            }
        }
        #expect(try await store.rows("SELECT 1")[0][0].decode(Int32.self) == 1)
    }
}
