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

public struct TransportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Sends one webhook request.
public protocol WebhookTransport: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) async throws -> HTTPReply
}

/// A one-request-per-connection HTTP/1.1 client on SwiftNIO, TLS by NIOSSL for https. Webhooks need
/// no redirects, pooling or compression: a redirect is an answer like any other non-2xx.
public struct NIOWebhookTransport: WebhookTransport {
    let group: any EventLoopGroup
    let tls: NIOSSLContext

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.group = group
        self.tls = try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Double) async throws -> HTTPReply {
        guard let parts = URLComponents(string: url), let host = parts.host, let scheme = parts.scheme, scheme == "http" || scheme == "https" else {
            throw TransportError("not an http(s) URL: \(url)")
        }
        let secure = scheme == "https"
        let port = parts.port ?? (secure ? 443 : 80)
        let target = (parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath) + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
        let tls = tls
        let timeout = TimeAmount.milliseconds(Int64(timeoutSeconds * 1000))
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if secure {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: TLSName.serverName(host)))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                }
            }
            .connect(host: host, port: port).get()
        let reply = channel.eventLoop.makePromise(of: HTTPReply.self)
        let now = Date()
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(ReplyCollector(reply, now: now))
        }.get()
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            reply.fail(TransportError("no answer within \(Int(timeoutSeconds)) s"))
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
        promise.fail(TransportError("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let head {
            promise.succeed(HTTPReply(status: Int(head.status.code), retryAfterSeconds: HTTPReply.retryAfter(head.headers.first(name: "Retry-After"), now: now)))
        } else {
            promise.fail(TransportError("the connection closed before an answer"))
        }
        context.fireChannelInactive()
    }
}
