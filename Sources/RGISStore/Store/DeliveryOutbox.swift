import Foundation
import RGISCore

/// The one outbox every message leaves by: saved-search notifications (``NotificationStore/queue(_:window:now:)``)
/// and alert webhooks (``AlertHookStore/recordAlertWatch(previous:mark:state:transitions:now:)``) now;
/// each kind queues its own messages, and this protocol claims, records and gives them back the same
/// way for all. A message id is the same on every attempt (receivers drop repeats by it).
///
/// Under concurrent workers a caller may assume:
/// - **A claim is one worker's.** ``claimDue(now:worker:limit:leaseSeconds:)`` never hands out a
///   message another worker holds, unless that claim's `leaseSeconds` ran out or its worker's lease
///   (``renewWorkerLease(worker:until:now:)``) did; so a worker killed mid-delivery loses nothing,
///   and a receiver sees a message twice only when the first attempt was never answered.
/// - **Outcomes are final.** A message recorded sent (or failed for good) is never claimed again.
public protocol DeliveryOutbox: Sendable {
    /// Says that `worker` is alive until `until` (a heartbeat): its claims are its own till then.
    func renewWorkerLease(worker: String, until: Date, now: Date) async throws
    /// Ends `worker`'s lease (a shutdown) and gives back its claims: due again at once.
    func endWorkerLease(worker: String) async throws
    /// Claims what is due for `worker`, oldest first, for `leaseSeconds`: instant notifications and
    /// alert messages one by one, a daily digest whole. Expired claims and those of a worker whose
    /// lease has run out are taken over.
    func claimDue(now: Date, worker: String, limit: Int, leaseSeconds: Double) async throws -> [OutboxMessage]
    func recordSent(_ message: OutboxMessage, now: Date) async throws
    /// Records a failed attempt: retried at `retryAt`, or failed for good when nil. `disable` turns
    /// off what the message went to (an endpoint, a search, an alert receiver), with the reason,
    /// failing what it had pending. Returns since when the webhook receiver has been failing (nil for e-mail).
    @discardableResult
    func recordFailure(_ message: OutboxMessage, error: String, retryAt: Date?, disable: DeliveryDisable?, now: Date) async throws -> Date?
}

/// A claimed message of the outbox, of whichever kind.
public enum OutboxMessage: Sendable {
    /// A saved search's notification (or daily digest).
    case search(Delivery)
    /// A planner's alert webhook.
    case alert(AlertDelivery)

    public var search: Delivery? {
        if case .search(let delivery) = self { return delivery }
        return nil
    }

    public var alert: AlertDelivery? {
        if case .alert(let delivery) = self { return delivery }
        return nil
    }

    /// Where it goes: deliveries to one receiver are made one at a time, in order.
    public var lane: String {
        switch self {
        case .search(let delivery): delivery.endpoint?.url ?? "mail"
        case .alert(let delivery): delivery.url
        }
    }
}
