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
    @Test("six slow statements whose tasks nobody cancels: the server stops each at its deadline (57014, 'unavailable'); sampled in pg_stat_activity, none runs past its deadline plus 1 s; the pooled connections keep no timeout")
    func serverStopsStatements() async throws {
        let store = try await PostGISStore.create(try PostgresServer.newDatabase("deadline"))
        let timeout = Duration.seconds(4)
        // The server's clock, not this process's: how long each of the slow statements has been running,
        // sampled until the sampler is cancelled; the longest seen.
        let sampler = Task<Double, Never> {
            let sample: SQLText = """
                SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start) * 1000), 0)::float8
                FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()
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
                            _ = try await store.rows("SELECT pg_sleep(60)")
                        }
                        return RGISError(.io, "the statement ran its whole 60 s")
                    } catch is CancellationError {
                        // The deadline passed before the statement was sent (the test process is busy): nothing ran.
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
        // Each statement that was sent is stopped by the server, and under this suite's load most are sent.
        #expect(errors.count >= 1)
        for error in errors {
            #expect(error.code == .unavailable)
            #expect(error.reason.contains("57014"), "\(error)")
        }
        let longest = await sampler.value
        #expect(longest > 0, "the sampler saw none of the slow statements running")
        #expect(longest <= 5000, "a statement ran \(Int(longest)) ms against a 4 s deadline")
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
