import Foundation
import Logging
import RGISCore
import RGISQuery
import RGISStore
import ServiceLifecycle

/// Keeps the monthly series current in the background: after writes (the market version moved), the
/// series of the districts they touched are computed again and kept, so that a planner's next request
/// for them, and the alerts walked over them, read kept figures instead of every row of a district.
struct SeriesKeeper: Service {
    let engine: QueryEngine
    let features: any FeatureStore
    /// How often the market version is looked at.
    let intervalSeconds: Double
    let now: @Sendable () -> Date
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var seen: ChangeToken?
            // A first look after one interval: a server started and stopped at once (a test, a check) costs nothing.
            try? await Task.sleep(for: .seconds(intervalSeconds))
            while !Task.isCancelled {
                do {
                    // Read before computing: a write that lands meanwhile is seen on the next look.
                    let version = try await features.marketChangeToken()
                    if version != seen {
                        let start = ContinuousClock.now
                        let computed = try await engine.keepSeriesCurrent(today: ISODate.today(now()))
                        seen = version
                        if computed > 0 {
                            let ms = Int((ContinuousClock.now - start) / .milliseconds(1))
                            logger.info("kept series", metadata: ["districts": "\(computed)", "ms": "\(ms)"])
                        }
                    }
                } catch is CancellationError {
                    return
                } catch let error as RGISError where error.code == .notSupported {
                    // The store does not keep series: said once, then idle till the shutdown (a service that
                    // ends would end the server with it).
                    logger.notice("series are not kept: \(error.reason)")
                    try? await gracefulShutdown()
                    return
                } catch {
                    logger.warning("keeping series failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(intervalSeconds))
            }
        }
    }
}
