import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What a receiver answered.
public struct HTTPReply: Sendable {
    public let status: Int
    /// `Retry-After` in seconds (delta-seconds or an HTTP date), when given.
    public let retryAfterSeconds: Double?

    public init(status: Int, retryAfterSeconds: Double? = nil) {
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
    }

    static func retryAfter(_ value: String?, now: Date) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSince(now)) }
    }
}

/// Why a webhook was not answered. ``description`` is the class alone ("failed: timeout"), which is
/// what is recorded and shown to the agent or planner who owns the receiver: enough to fix their own
/// endpoint, never enough to map a network. ``detail`` is for the operator's log.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case timeout
        case refused = "connection refused"
        case unreachable = "unreachable"
        case hostNotFound = "host not found"
        case addressNotAllowed = "address not allowed"
        case tls = "TLS"
        case closed = "connection closed"
        case invalidURL = "not an http(s) URL"
        case other = "connection failed"
    }

    public let kind: Kind
    public let detail: String
    public var description: String { "failed: \(kind.rawValue)" }

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The class of an error a connection or a read threw.
    static func classifying(_ error: any Error) -> TransportError {
        if let error = error as? TransportError { return error }
        let text = "\(error)"
        if let error = error as? ChannelError, case .connectTimeout = error { return TransportError(.timeout, text) }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return TransportError(.refused, text)
            case ENETUNREACH, EHOSTUNREACH: return TransportError(.unreachable, text)
            case ETIMEDOUT: return TransportError(.timeout, text)
            default: return TransportError(.other, text)
            }
        }
        if error is NIOSSLError || String(reflecting: type(of: error)).contains("SSL") { return TransportError(.tls, text) }
        return TransportError(.other, text)
    }
}

/// Sends one webhook request.
public protocol WebhookTransport: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) async throws -> HTTPReply
}

/// A one-request-per-connection HTTP/1.1 client on SwiftNIO, TLS by NIOSSL for https. Webhooks need
/// no redirects, pooling or compression: a redirect is an answer like any other non-2xx, never followed.
/// It connects only to the addresses ``WebhookTargets`` allows for the URL's host.
public struct NIOWebhookTransport: WebhookTransport {
    let group: any EventLoopGroup
    let tls: NIOSSLContext
    let targets: WebhookTargets

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, targets: WebhookTargets = WebhookTargets()) throws {
        self.group = group
        self.tls = try NIOSSLContext(configuration: .makeClientConfiguration())
        self.targets = targets
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) async throws -> HTTPReply {
        guard let parts = URLComponents(string: url), let host = parts.host, let scheme = parts.scheme, scheme == "http" || scheme == "https",
              parts.user == nil, parts.password == nil else {
            throw TransportError(.invalidURL, "not an http(s) URL without user information: \(url)")
        }
        let secure = scheme == "https"
        let port = parts.port ?? (secure ? 443 : 80)
        let addresses = try await targets.addresses(host: host, port: port)
        do {
            return try await post(to: addresses, host: host, parts: parts, secure: secure, headers: headers, body: body, timeoutSeconds: timeoutSeconds)
        } catch {
            throw TransportError.classifying(error)
        }
    }

    private func post(to addresses: [SocketAddress], host: String, parts: URLComponents, secure: Bool, headers: [(String, String)], body: [UInt8],
                      timeoutSeconds: Double) async throws -> HTTPReply {
        let target = (parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath) + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
        let tls = tls
        let timeout = TimeAmount.milliseconds(Int64(timeoutSeconds * 1000))
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if secure {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: TLSName.serverName(host)))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                }
            }
        // Each allowed address in turn (a host's IPv6 address may have no route here).
        var connected: (any Channel)?
        var lastError: any Error = TransportError(.hostNotFound, "\(host) has no address")
        for address in addresses {
            do {
                connected = try await bootstrap.connect(to: address).get()
                break
            } catch {
                lastError = error
            }
        }
        guard let channel = connected else { throw lastError }
        let reply = channel.eventLoop.makePromise(of: HTTPReply.self)
        let now = Date()
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(ReplyCollector(reply, now: now))
        }.get()
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            reply.fail(TransportError(.timeout, "no answer within \(Int(saturating: timeoutSeconds)) s"))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }

        var head = HTTPHeaders([("Host", parts.port.map { "\(host):\($0)" } ?? host), ("User-Agent", "rgis-webhooks"),
                                ("Content-Type", "application/json"), ("Content-Length", String(body.count)), ("Connection", "close")])
        head.add(contentsOf: headers)
        let request = HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: head)
        channel.write(HTTPClientRequestPart.head(request), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            let answer = try await reply.futureResult.get()
            channel.close(promise: nil)
            return answer
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}

/// Reads the response's status and `Retry-After`, then completes at its end.
private final class ReplyCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<HTTPReply>
    let now: Date
    var head: HTTPResponseHead?

    init(_ promise: EventLoopPromise<HTTPReply>, now: Date) {
        self.promise = promise
        self.now = now
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            if let head {
                promise.succeed(HTTPReply(status: Int(head.status.code), retryAfterSeconds: HTTPReply.retryAfter(head.headers.first(name: "Retry-After"), now: now)))
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(TransportError.classifying(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let head {
            promise.succeed(HTTPReply(status: Int(head.status.code), retryAfterSeconds: HTTPReply.retryAfter(head.headers.first(name: "Retry-After"), now: now)))
        } else {
            promise.fail(TransportError(.closed, "the connection closed before an answer"))
        }
        context.fireChannelInactive()
    }
}
