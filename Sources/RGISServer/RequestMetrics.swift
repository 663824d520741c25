import Foundation
import Metrics
import Prometheus
import RGISStore

/// `/metrics`: swift-metrics with the Prometheus backend. Hummingbird's `MetricsMiddleware` records
/// request counts and latency histograms per route, method and status; this adds gauges for the
/// database file and the heavy-query slots, set when scraped.
struct RequestMetrics: Sendable {
    /// One registry per process: the metrics system is global and can be bootstrapped only once.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    let storage: any FeatureStore
    let slots: RequestLimits.Slots
    let notifications: any NotificationStore
    let now: @Sendable () -> Date

    init(storage: any FeatureStore, slots: RequestLimits.Slots, notifications: any NotificationStore, now: @escaping @Sendable () -> Date) {
        _ = Self.registry
        self.storage = storage
        self.slots = slots
        self.notifications = notifications
        self.now = now
    }

    func prometheusText() async throws -> String {
        // The full metric name as given (no unit suffix appended), as the dashboards know it.
        func gauge(_ name: String, labels: [(String, String)] = [], help: String) -> Prometheus.Gauge {
            Self.registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        let health = storage.storageHealth()
        gauge("rgis_database_bytes", help: "Size of the database file.").set(health.storageBytes)
        gauge("rgis_database_wal_bytes", help: "Size of the database's write-ahead log.").set(health.logBytes)
        gauge("rgis_database_fault", help: "1 when the database file or its log was deleted or replaced under this process (see /health), else 0.")
            .set(Double(health.fault == nil ? 0 : 1))
        gauge("rgis_database_refused_writes", help: "Writes refused since start because the database's files were deleted or replaced under this process.")
            .set(Double(health.refusedWrites))
        let usage = slots.usage
        gauge("rgis_heavy_slots", help: "Heavy-query slots in all.").set(Double(slots.capacity))
        gauge("rgis_heavy_slots_in_use", help: "Heavy queries running.").set(Double(usage.inUse))
        gauge("rgis_heavy_queries_waiting", help: "Heavy queries waiting for a slot.").set(Double(usage.waiting))
        let counts = try await notifications.notificationCounts(agent: nil, now: now())
        let outbox = "rgis_notifications"
        let help = "Notifications in the outbox by state: queued (never tried), retrying, sent, failed."
        gauge(outbox, labels: [("state", "queued")], help: help).set(Double(counts.queued))
        gauge(outbox, labels: [("state", "retrying")], help: help).set(Double(counts.retryBacklog))
        gauge(outbox, labels: [("state", "sent")], help: help).set(Double(counts.sent))
        gauge(outbox, labels: [("state", "failed")], help: help).set(Double(counts.failed))
        gauge("rgis_notifications_oldest_pending_seconds", help: "Age of the oldest notification not yet sent.")
            .set(counts.oldestPendingAgeSeconds)
        return Self.registry.emitToString()
    }
}
