import Foundation
import RGISCore
import RGISStore

// What the PostgreSQL backend does not do yet. Each refuses with `.notSupported` naming the operation,
// never with a made-up answer, so a caller (and the conformance suite's list of what each backend
// covers) sees exactly what runs where.
extension PostGISStore: Store {
    func notYet(_ what: String) -> RGISError {
        RGISError(.notSupported, "\(what) is not available on PostgreSQL yet; use a SpatiaLite file for it", at: location)
    }


    // ArchiveStore.
    public func archive(_ query: ArchiveQuery) async throws -> FeaturePage { throw notYet("the archive") }
    public func archiveVersion(_ layer: ArchiveLayer, fid: Int64) async throws -> StoredFeature { throw notYet("the archive") }
    public func rights(parcel: String, at instant: ArchiveInstant) async throws -> ParcelRights { throw notYet("the archive") }
    public func lineage(parcel: String) async throws -> ParcelLineage { throw notYet("the archive") }
    public func lineageVersions(parcel: String) async throws -> FeaturePage { throw notYet("the archive") }
    public func apply(_ change: ArchiveChangeRequest) async throws -> ArchiveChange { throw notYet("the archive") }

    // NotificationStore.
    public func addSubscription(demand: String, _ settings: AlertSettings, by caller: Caller, now: Date) async throws -> Subscription { throw notYet("saved searches") }
    public func subscriptions(agent: String?) async throws -> [Subscription] { throw notYet("saved searches") }
    public func subscription(_ id: Int64) async throws -> Subscription { throw notYet("saved searches") }
    public func setSubscription(_ id: Int64, active: Bool, reason: String?) async throws -> Subscription { throw notYet("saved searches") }
    public func webhookEndpoints(agent: String?) async throws -> [WebhookEndpoint] { throw notYet("webhooks") }
    public func matchWindow(limit: Int) async throws -> MatchWindow { throw notYet("the change feed") }
    public func matchCandidates(_ window: MatchWindow, reach: FitReach, beyond: FitReach?, excluding settled: Set<Int64>) async throws -> [MatchCandidate] {
        throw notYet("the change feed")
    }
    public func queue(_ matches: [ScoredMatch], window: MatchWindow, now: Date) async throws -> Int { throw notYet("the outbox") }
    public func backfill(_ subscription: Int64, _ matches: [ScoredMatch], now: Date) async throws -> Int { throw notYet("the outbox") }
    public func notificationCounts(agent: String?, now: Date) async throws -> NotificationCounts { throw notYet("notifications") }
    public func notifications(agent: String?, limit: Int) async throws -> [NotificationRecord] { throw notYet("notifications") }
    public func ledger(client: String) async throws -> [LedgerEntry] { throw notYet("the ledger") }
    public func react(messageID: String, _ reaction: Reaction, now: Date) async throws -> LedgerEntry { throw notYet("reactions") }
    public func digest(subscription: Int64, day: String) async throws -> [String] { throw notYet("digests") }
    public func linkKey() async throws -> [UInt8] { throw notYet("signed links") }

    // AlertHookStore.
    public func addAlertHook(owner: String, _ request: AlertHookRequest, now: Date) async throws -> AlertHook { throw notYet("alert receivers") }
    public func alertHooks(owner: String?) async throws -> [AlertHook] { throw notYet("alert receivers") }
    public func alertHook(_ id: Int64) async throws -> AlertHook { throw notYet("alert receivers") }
    public func setAlertHook(_ id: Int64, active: Bool, reason: String?) async throws -> AlertHook { throw notYet("alert receivers") }
    public func alertWatch() async throws -> (mark: AlertWatchMark, state: [AlertStateEntry])? { throw notYet("the alert watch") }
    public func recordAlertWatch(previous: AlertWatchMark?, mark: AlertWatchMark, state: [AlertStateEntry], transitions: [AlertTransition],
                                 now: Date) async throws -> Int? { throw notYet("the alert watch") }
    public func resetAlertWatch() async throws { throw notYet("the alert watch") }

    // DeliveryOutbox.
    public func renewWorkerLease(worker: String, until: Date, now: Date) async throws { throw notYet("the outbox") }
    public func endWorkerLease(worker: String) async throws { throw notYet("the outbox") }
    public func claimDue(now: Date, worker: String, limit: Int, leaseSeconds: Double) async throws -> [OutboxMessage] { throw notYet("the outbox") }
    public func recordSent(_ message: OutboxMessage, now: Date) async throws { throw notYet("the outbox") }
    public func recordFailure(_ message: OutboxMessage, error: String, retryAt: Date?, disable: DeliveryDisable?, now: Date) async throws -> Date? {
        throw notYet("the outbox")
    }

    // StoreMaintenance.
    public func registerArchive(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) async throws -> ArchiveChange {
        throw notYet("the archive")
    }
}
