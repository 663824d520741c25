import Foundation
import RGISCore
import RGISStore
import RGISTesting
import Synchronization
import Testing

/// A request's deadline cancels its task; the store call it was making must see that and end with
/// `CancellationError` (no further call runs), leaving the store ready for the next call. How soon,
/// in milliseconds, is the benchmark's deadline check (a timing under the whole suite's load says
/// nothing); SpatiaLite's interrupt of a statement that never ends by itself is `CancellationTests`.
@Suite("Deadlines reach the store", .timeLimit(.minutes(2)))
struct DeadlineConformance {
    @Test("heavy reads cancelled mid-way (a request past its deadline) end with CancellationError from the store itself: the call in flight is the last, and the store answers the next call",
          arguments: Backends.all)
    func cancelledReadsEnd(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let completed = Mutex(0)
        // Every subdistrict's two years of history and the fit of a listing against every demand, again
        // and again; no check of its own: only a store call that sees the cancellation ends the loop.
        let heavy = Task {
            while true {
                _ = try await store.marketHistory(level: .subdistrict, districts: nil)
                completed.withLock { $0 += 1 }
                _ = try await store.demandsFitting(ListingFacts(price: 300_000, livingAreaM2: 70, bedrooms: 2, propertyType: "apartment"),
                                                   at: Position(lon: 9.06, lat: 48.03), reach: .everywhere)
                completed.withLock { $0 += 1 }
            }
        }
        while completed.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        let atCancel = completed.withLock { $0 }
        heavy.cancel()
        await #expect(throws: CancellationError.self) { try await heavy.value }
        let after = completed.withLock { $0 } - atCancel
        #expect(after <= 1, "\(after) store calls completed after the cancellation; at most the one in flight may")
        // The store is free again: a read answers.
        #expect(try await store.layerStatistics().count == Layer.allCases.count)
    }
}
