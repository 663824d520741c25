import Foundation
import RGISCore
import RGISStore
import RGISTesting
import Synchronization
import Testing

/// A request's deadline cancels its task; the store call it was making must end soon after, with
/// `CancellationError`, and leave the store ready for the next call. (SpatiaLite interrupts the
/// running statement: `CancellationTests` in RGISStoreTests holds one that never ends by itself.)
@Suite("Deadlines reach the store", .timeLimit(.minutes(2)))
struct DeadlineConformance {
    @Test("heavy reads cancelled mid-way (a request past its deadline) end within a second with CancellationError, and the store answers the next call at once",
          arguments: Backends.all)
    func cancelledReadsEnd(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let started = Mutex(false)
        // Every subdistrict's two years of history and the fit of a listing against every demand, again
        // and again, until a store call throws.
        let heavy = Task {
            while true {
                started.withLock { $0 = true }
                _ = try await store.marketHistory(level: .subdistrict, districts: nil)
                _ = try await store.demandsFitting(ListingFacts(price: 300_000, livingAreaM2: 70, bedrooms: 2, propertyType: "apartment"),
                                                   at: Position(lon: 9.06, lat: 48.03), reach: .everywhere)
                // No check of its own here: only the store's calls can end the loop, by seeing the cancellation.
            }
        }
        while !started.withLock({ $0 }) { await Task.yield() }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        heavy.cancel()
        await #expect(throws: CancellationError.self) { try await heavy.value }
        let ended = ContinuousClock.now - cancelled
        #expect(ended < .seconds(1), "the store call ran on \(ended) past its cancellation")
        // The store is free again: a read answers.
        #expect(try await store.layerStatistics().count == Layer.allCases.count)
    }
}
