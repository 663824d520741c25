import Foundation
import RGISCore
import RGISQuery
import RGISStore

/// Saving a search, the same for the CLI and the server: the subscription, and with `backfill` the
/// listings that fit it now (scored by the same engine as `/match`), queued at once.
public enum Subscriptions {
    /// A webhook's URL is judged by `targets` first (``WebhookTargets/checkRegistration(_:at:)``).
    public static func add(_ request: SubscriptionRequest, store: any NotificationStore & FeatureStore & ArchiveStore, targets: WebhookTargets,
                           by caller: Caller, now: Date) async throws -> (subscription: Subscription, backfilled: Int) {
        if case .webhook(let url, _) = request.settings.channel { try await targets.checkRegistration(url, at: "webhook") }
        let subscription = try await store.addSubscription(demand: request.demand, request.settings, by: caller, now: now)
        guard request.backfill else { return (subscription, 0) }
        let engine = QueryEngine(features: store, archive: store)
        let page = try await engine.listings(matchingDemand: request.demand, limit: try Limit(Limit.maximum), for: caller)
        let matches = page.features.map { f in
            ScoredMatch(eventID: 0, reason: .new, listingID: f.id, demandID: request.demand, subscriptionID: subscription.id,
                        score: f.properties["score"]?.number ?? 0, price: f.properties["list_price"]?.number)
        }
        return (subscription, try await store.backfill(subscription.id, matches, now: now))
    }
}

/// Adding a planner's receiver of the early warning, the same for the CLI and the server: its URL
/// judged by `targets`, then stored.
public enum AlertHooks {
    public static func add(_ request: AlertHookRequest, owner: String, store: any AlertHookStore, targets: WebhookTargets,
                           now: Date) async throws -> AlertHook {
        try await targets.checkRegistration(request.url, at: "url")
        return try await store.addAlertHook(owner: owner, request, now: now)
    }
}
