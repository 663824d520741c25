import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A reply of an SMTP server: its code and text lines (RFC 5321 §4.2).
public struct SMTPReply: Sendable, Equatable {
    public let code: Int
    public let lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    public var text: String { "\(code) " + lines.joined(separator: " / ") }
    public var isPermanentFailure: Bool { (500..<600).contains(code) }
}

/// An SMTP exchange that did not succeed: the server's reply, or a transport failure (no reply).
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    public let reply: SMTPReply?
    public let stage: String
    public let detail: String

    public init(reply: SMTPReply?, stage: String, detail: String) {
        self.reply = reply
        self.stage = stage
        self.detail = detail
    }

    public var description: String { "SMTP \(stage): " + (reply?.text ?? detail) }
    /// A 5xx reply: the address or the message is refused for good.
    public var isPermanent: Bool { reply?.isPermanentFailure ?? false }
}

/// Where and how to send mail.
public struct SMTPConfiguration: Sendable {
    public enum StartTLS: String, Sendable { case never, ifOffered = "if-offered", required }

    public var host: String
    public var port: Int
    public var startTLS: StartTLS
    public var username: String?
    public var password: String?
    /// PEM file of the roots to trust for STARTTLS (default: the system's).
    public var trustRootsFile: String?
    /// The name sent in EHLO.
    public var heloName: String
    public var timeoutSeconds: Double

    public init(host: String, port: Int = 25, startTLS: StartTLS = .ifOffered, username: String? = nil, password: String? = nil,
                trustRootsFile: String? = nil, heloName: String = "localhost", timeoutSeconds: Double = 30) {
        self.host = host
        self.port = port
        self.startTLS = startTLS
        self.username = username
        self.password = password
        self.trustRootsFile = trustRootsFile
        self.heloName = heloName
        self.timeoutSeconds = timeoutSeconds
    }

    /// `smtp://HOST[:PORT]` (port 25 by default).
    public init(url: String) throws {
        guard let parts = URLComponents(string: url), parts.scheme == "smtp", let host = parts.host, !host.isEmpty else {
            throw SMTPError(reply: nil, stage: "configuration", detail: "'\(url)' is not smtp://HOST:PORT")
        }
        self.init(host: host, port: parts.port ?? 25)
    }
}

/// One message for one recipient.
public struct OutgoingMail: Sendable {
    public let from: String
    public let to: String
    /// The whole RFC 5322 message, CRLF line ends.
    public let data: String

    public init(from: String, to: String, data: String) {
        self.from = from
        self.to = to
        self.data = data
    }
}

public protocol MailTransport: Sendable {
    func send(_ mail: OutgoingMail) async throws
}

/// A small SMTP client on SwiftNIO: EHLO, STARTTLS when offered or required, AUTH PLAIN or LOGIN
/// when a user is configured, MAIL/RCPT/DATA with dot-stuffing, QUIT. One connection per message.
public struct SMTPClient: MailTransport {
    public let configuration: SMTPConfiguration
    let group: any EventLoopGroup

    public init(_ configuration: SMTPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    public func send(_ mail: OutgoingMail) async throws {
        let session = try await SMTPSession.connect(configuration, group: group)
        do {
            try await session.deliver(mail)
            await session.close()
        } catch {
            await session.close()
            throw error
        }
    }
}

/// The commands of one connection, each awaiting its reply.
/// Used by one task from connect to close.
final class SMTPSession {
    let channel: any Channel
    var replies: AsyncThrowingStream<SMTPReply, any Error>.Iterator
    let forwarder: SMTPReplyForwarder
    let configuration: SMTPConfiguration

    private init(channel: any Channel, replies: AsyncThrowingStream<SMTPReply, any Error>, forwarder: SMTPReplyForwarder,
                 configuration: SMTPConfiguration) {
        self.channel = channel
        self.forwarder = forwarder
        self.replies = replies.makeAsyncIterator()
        self.configuration = configuration
    }

    static func connect(_ c: SMTPConfiguration, group: any EventLoopGroup) async throws -> SMTPSession {
        let (stream, continuation) = AsyncThrowingStream<SMTPReply, any Error>.makeStream()
        let timeout = TimeAmount.milliseconds(Int64(c.timeoutSeconds * 1000))
        let forwarder = SMTPReplyForwarder(continuation, timeout: timeout, seconds: c.timeoutSeconds)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        try channel.pipeline.syncOperations.addHandler(forwarder)
                        forwarder.arm(channel)  // for the greeting
                    }
                }
                .connect(host: c.host, port: c.port).get()
        } catch {
            throw SMTPError(reply: nil, stage: "connect", detail: "cannot reach \(c.host):\(c.port): \(error)")
        }
        return SMTPSession(channel: channel, replies: stream, forwarder: forwarder, configuration: c)
    }

    func deliver(_ mail: OutgoingMail) async throws {
        _ = try await expect([220], stage: "greeting")
        var capabilities = try await ehlo()
        let offered = capabilities.contains { $0.uppercased() == "STARTTLS" }
        if configuration.startTLS == .required && !offered {
            throw SMTPError(reply: nil, stage: "STARTTLS", detail: "the server does not offer STARTTLS, which is required")
        }
        var secured = false
        if configuration.startTLS != .never && offered {
            try await command("STARTTLS", expect: [220], stage: "STARTTLS")
            try await startTLS()
            capabilities = try await ehlo()
            secured = true
        }
        if let user = configuration.username {
            // Credentials go in clear only to this machine.
            guard secured || ["127.0.0.1", "::1", "localhost"].contains(configuration.host) else {
                throw SMTPError(reply: nil, stage: "AUTH", detail: "refusing to send the password to \(configuration.host) without TLS (the server offers no STARTTLS)")
            }
            try await authenticate(user: user, password: configuration.password ?? "", capabilities: capabilities)
        }
        try await command("MAIL FROM:<\(mail.from)>", expect: [250], stage: "MAIL FROM")
        try await command("RCPT TO:<\(mail.to)>", expect: [250, 251], stage: "RCPT TO")
        try await command("DATA", expect: [354], stage: "DATA")
        try await write(Self.dotStuffed(mail.data) + ".\r\n")
        _ = try await expect([250], stage: "message")
        try? await command("QUIT", expect: [221], stage: "QUIT")
    }

    private func ehlo() async throws -> [String] {
        try await write("EHLO \(configuration.heloName)\r\n")
        let reply = try await expect([250], stage: "EHLO")
        // The first line is the server's name; the others are its extensions.
        return Array(reply.lines.dropFirst())
    }

    private func authenticate(user: String, password: String, capabilities: [String]) async throws {
        let mechanisms = capabilities.filter { $0.uppercased().hasPrefix("AUTH") }.flatMap { $0.uppercased().split(separator: " ").dropFirst() }
        if mechanisms.contains("PLAIN") || mechanisms.isEmpty {
            let credentials = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
            try await command("AUTH PLAIN \(credentials)", expect: [235], stage: "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            try await command("AUTH LOGIN", expect: [334], stage: "AUTH LOGIN")
            try await command(Data(user.utf8).base64EncodedString(), expect: [334], stage: "AUTH LOGIN")
            try await command(Data(password.utf8).base64EncodedString(), expect: [235], stage: "AUTH LOGIN")
        } else {
            throw SMTPError(reply: nil, stage: "AUTH", detail: "the server offers neither PLAIN nor LOGIN (\(mechanisms.joined(separator: " ")))")
        }
    }

    private func startTLS() async throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let file = configuration.trustRootsFile { tls.trustRoots = .file(file) }
        let context = try NIOSSLContext(configuration: tls)
        let host = TLSName.serverName(configuration.host)
        try await channel.eventLoop.submit { [channel] in
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: host), position: .first)
        }.get()
    }

    @discardableResult
    private func command(_ line: String, expect codes: Set<Int>, stage: String) async throws -> SMTPReply {
        try await write(line + "\r\n")
        return try await expect(codes, stage: stage)
    }

    private func write(_ text: String) async throws {
        do {
            // The reply is due within the timeout from now, whenever this task next runs.
            let (channel, forwarder) = (channel, forwarder)
            channel.eventLoop.execute { forwarder.arm(channel) }
            try await channel.writeAndFlush(ByteBuffer(string: text))
        } catch {
            // Name the command (never AUTH's credentials, nor a message's text).
            let command = text.hasPrefix("AUTH") ? "AUTH" : text.count < 100 ? text.trimmingCharacters(in: .whitespacesAndNewlines) : "the message"
            throw SMTPError(reply: nil, stage: "write", detail: "\(command): \(error)")
        }
    }

    private func expect(_ codes: Set<Int>, stage: String) async throws -> SMTPReply {
        let reply: SMTPReply?
        do {
            reply = try await replies.next()
        } catch {
            throw SMTPError(reply: nil, stage: stage, detail: "\(error)")
        }
        guard let reply else { throw SMTPError(reply: nil, stage: stage, detail: "the server closed the connection") }
        guard codes.contains(reply.code) else { throw SMTPError(reply: reply, stage: stage, detail: "") }
        return reply
    }

    func close() async {
        try? await channel.close()
    }

    /// CRLF line ends, a leading dot doubled (RFC 5321 §4.5.2), and a final line end.
    static func dotStuffed(_ data: String) -> String {
        var lines = data.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n"
    }
}

/// Splits the byte stream into replies; a multiline reply (`250-…` lines then `250 …`) is one.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw SMTPError(reply: nil, stage: "reply", detail: "a reply line over 4096 bytes") }
            return .needMoreData
        }
        var bytes = buffer.readBytes(length: end - buffer.readerIndex + 1) ?? []
        // Bytes, not Characters: "\r\n" is one Character in Swift.
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        let line = String(decoding: bytes, as: UTF8.self)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes.prefix(3), as: UTF8.self)) else {
            throw SMTPError(reply: nil, stage: "reply", detail: "not an SMTP reply: \(line)")
        }
        let more = bytes.count > 3 && bytes[3] == UInt8(ascii: "-")
        lines.append(bytes.count > 4 ? String(decoding: bytes.dropFirst(4), as: UTF8.self) : "")
        if !more {
            context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
            lines = []
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Hands replies to the session. A reply not in within the timeout of the command that asks for it
/// (timed on the event loop, so a busy caller cannot make a prompt server look slow) or a closed
/// connection ends the stream.
final class SMTPReplyForwarder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SMTPReply
    let continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation
    let timeout: TimeAmount
    let seconds: Double
    /// Touched on the channel's event loop only.
    private var timer: Scheduled<Void>?

    init(_ continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation, timeout: TimeAmount, seconds: Double) {
        self.continuation = continuation
        self.timeout = timeout
        self.seconds = seconds
    }

    /// Starts the wait for the next reply (on the channel's event loop).
    func arm(_ channel: any Channel) {
        timer?.cancel()
        let (continuation, seconds) = (continuation, seconds)
        timer = channel.eventLoop.scheduleTask(in: timeout) {
            continuation.finish(throwing: SMTPError(reply: nil, stage: "reply", detail: "no reply within \(Int(seconds)) s"))
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer?.cancel()
        timer = nil
        continuation.yield(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        timer?.cancel()
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        continuation.finish()
        context.fireChannelInactive()
    }
}

/// The name a TLS client sends (SNI) and checks: a host name, never an IP address (which SNI cannot
/// carry; the certificate is then checked against the address).
enum TLSName {
    static func serverName(_ host: String) -> String? {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 ? nil : host
    }
}
