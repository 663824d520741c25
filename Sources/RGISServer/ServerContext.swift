import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RGISCore
import RGISQuery
import RGISStore

/// The per-request context: Hummingbird's core context plus a request id for logs and problems.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let requestID: String

    init(source: Source) {
        coreContext = .init(source: source)
        requestID = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    var maxUploadSize: Int { ServerLimits.maxBodyBytes }
}

/// What the handlers share: the query engine, the record and account stores, the clock, and how to
/// write absolute links.
struct ServerState: Sendable {
    let engine: QueryEngine
    let records: any RecordStore
    let accounts: any AccountStore
    /// Saved searches and deliveries (with the features and archive a backfill's match reads).
    let notifications: any NotificationStore & FeatureStore & ArchiveStore
    /// Planners' receivers of the early warning.
    let alertHooks: any AlertHookStore
    /// Fixed public base URL, if configured; otherwise taken from each request's Host header.
    let baseURL: String?
    let alertRules: AlertRules
    let now: @Sendable () -> Date
    /// POSTs with an Idempotency-Key that are running.
    let inFlight = InFlightKeys()

    func base(_ request: Request) -> String {
        if let baseURL { return baseURL }
        let host = request.head.authority ?? "localhost"
        return "http://\(host)"
    }
}
