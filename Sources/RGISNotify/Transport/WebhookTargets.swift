import Foundation
import NIOCore
import RGISCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a webhook URL leads, judged by the operator's ``WebhookNetworkPolicy``: the one gate that
/// every registration (an agent's saved search, a planner's alert receiver) and every delivery
/// passes. A delivery connects only to the addresses judged here, so a name that resolves to a
/// public address when checked cannot lead elsewhere when connected (DNS rebinding).
public struct WebhookTargets: Sendable {
    public let policy: WebhookNetworkPolicy

    public init(policy: WebhookNetworkPolicy = WebhookNetworkPolicy()) {
        self.policy = policy
    }

    /// At registration: the URL's form, then its host. An IP literal in any notation, or `localhost`,
    /// is judged now; a name by every address it resolves to now. A name that does not resolve yet
    /// is accepted and judged at each delivery. Throws ``RGISError/Code/invalidValue`` at `field`.
    public func checkRegistration(_ url: String, at field: String) async throws {
        try AlertSettings.checkWebhook(url: url, at: field)
        guard let host = URLComponents(string: url)?.host else { return }
        do {
            _ = try await addresses(host: host, port: 80, mustResolve: false)
        } catch let error as TransportError {
            throw RGISError(.invalidValue, "\(host): \(error.detail)", at: field)
        }
    }

    /// At delivery: the addresses to connect to, every one allowed. Throws ``TransportError`` (a host
    /// not found, or an address the policy refuses).
    func addresses(host rawHost: String, port: Int, mustResolve: Bool = true) async throws -> [SocketAddress] {
        var host = rawHost
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let lower = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        let literal: [IPAddress]? = if lower == "localhost" || lower.hasSuffix(".localhost") {
            [.v4(0x7f00_0001), .v6([UInt8](repeating: 0, count: 15) + [1])]
        } else {
            IPAddress(literal: host).map { [$0] }
        }
        let found: [IPAddress]
        if let literal {
            found = literal
        } else {
            found = try await Self.resolve(host)
            if found.isEmpty {
                if mustResolve { throw TransportError(.hostNotFound, "\(host) does not resolve") }
                return []
            }
        }
        // One refused address refuses the host: a name with a public and a private address could
        // otherwise be made to lead to the private one.
        for address in found {
            if let refusal = policy.refusal(address) {
                throw TransportError(.addressNotAllowed, "\(host) is \(address): \(refusal) (an operator may allow a block with --allow-webhook-network)")
            }
        }
        return try found.map { try SocketAddress(ipAddress: $0.description, port: port) }
    }

    /// The host's addresses by the system resolver (getaddrinfo, which also reads numeric forms),
    /// off the cooperative pool: empty when the name does not resolve.
    static func resolve(_ host: String) async throws -> [IPAddress] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
                    continuation.resume(returning: [])
                    return
                }
                defer { freeaddrinfo(list) }
                var found: [IPAddress] = []
                var next: UnsafeMutablePointer<addrinfo>? = first
                while let info = next {
                    if let address = info.pointee.ai_addr {
                        switch Int32(address.pointee.sa_family) {
                        case AF_INET:
                            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                                found.append(.v4(UInt32(bigEndian: v4.pointee.sin_addr.s_addr)))
                            }
                        case AF_INET6:
                            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                                let bytes = withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) }
                                found.append(.v6(bytes))
                            }
                        default: break
                        }
                    }
                    next = info.pointee.ai_next
                }
                var unique: [IPAddress] = []
                for address in found where !unique.contains(address) { unique.append(address) }
                continuation.resume(returning: unique)
            }
        }
    }
}
