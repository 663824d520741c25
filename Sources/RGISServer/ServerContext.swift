import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import Logging
import RGISCore
import RGISNotify
import RGISQuery
import RGISStore

/// The per-request context: Hummingbird's core context plus a request id for logs and problems.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let requestID: String
    /// The peer's IP address, what the limits on anonymous use and failed sign-ins count by.
    let remoteAddress: String

    init(source: Source) {
        coreContext = .init(source: source)
        requestID = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
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
    /// The base of every absolute link: the configured public URL, else this server's own address.
    /// Never the request's Host header, which a caller chooses (and a shared cache would keep).
    let baseURL: PublicBaseURL
    let alertRules: AlertRules
    let unmetBands: UnmetBands
    let webhookTargets: WebhookTargets
    let metricsFrom: AddressBlocks
    let now: @Sendable () -> Date
    /// POSTs with an Idempotency-Key that are running.
    let inFlight = InFlightKeys()

    func base(_ request: Request) -> String { baseURL.value }
}

/// The configured public base URL, or the address the server is bound to (known once it runs).
final class PublicBaseURL: Sendable {
    private let url: Mutex<String>

    init(_ url: String) { self.url = Mutex(url) }

    var value: String { url.withLock { $0 } }
    func set(_ value: String) { url.withLock { $0 = value } }

    /// Whether a host name is this machine's loopback, where nobody else can send requests.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        if let address = IPAddress(literal: bare), WebhookNetworkPolicy.reserved(address) == "loopback" { return true }
        return false
    }

    /// `http://HOST:PORT`, with an IPv6 host in brackets.
    static func address(host: String, port: Int) -> String {
        "http://\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host):\(port)"
    }
}

/// Peer addresses allowed something (`/metrics`). A request with no socket behind it (a test's
/// in-process router) comes from this process, and counts as allowed.
public struct AddressBlocks: Sendable {
    public var blocks: [IPNetwork]

    public init(_ blocks: [IPNetwork]) { self.blocks = blocks }

    public static let loopback = AddressBlocks([try! IPNetwork(parsing: "127.0.0.0/8"), try! IPNetwork(parsing: "::1/128")])

    func allows(_ address: String) -> Bool {
        if address == "unknown" { return true }
        guard let ip = IPAddress(literal: address) else { return false }
        let embedded = ip.embeddedIPv4.map { IPAddress.v4($0) }
        return blocks.contains { block in block.contains(ip) || embedded.map { block.contains($0) } == true }
    }
}
