import NIOCore
import NIOHTTPTypes

/// Closes a connection that sends a request too slowly: its headers must be complete within
/// `headers` of the connection opening (or of the previous response on a kept-alive connection,
/// `keepAlive`), and its body within `body` of its headers. Without it a client that sends a byte
/// of header every few seconds (slowloris) holds a connection as long as it likes, since each byte
/// resets an idle timer; enough of them and nobody else is served.
final class RequestReadDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let limits: RequestReadLimits
    private var deadline: Scheduled<Void>?

    init(_ limits: RequestReadLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(.seconds(limits.headersSeconds), context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(.seconds(limits.headersSeconds), context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(.seconds(limits.bodySeconds), context: context)
        case .end: disarm()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(.seconds(limits.keepAliveSeconds), context: context) }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func arm(_ amount: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: amount) { channel.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// How long a client may take over a request (``RequestReadDeadlines``), in whole seconds.
public struct RequestReadLimits: Sendable {
    /// From the connection opening to the request's last header.
    public var headersSeconds: Int64 = 10
    /// From the headers to the body's end.
    public var bodySeconds: Int64 = 60
    /// From a response to the next request's last header on a kept-alive connection.
    public var keepAliveSeconds: Int64 = 30

    public init() {}
}
