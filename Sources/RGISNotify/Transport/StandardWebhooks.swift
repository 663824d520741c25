import Crypto
import Foundation
import RGISCore

/// Standard Webhooks signing (standardwebhooks.com): HMAC-SHA256 with the secret's bytes over
/// `id.timestamp.body`, sent as `webhook-signature: v1,<base64>` beside `webhook-id` and `webhook-timestamp`.
public enum StandardWebhooks {
    public static func signature(secret: WebhookSecret, id: String, timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(id).\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret.key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The three headers of a delivery attempt (the id is the same on every attempt; the timestamp is the attempt's).
    public static func headers(secret: WebhookSecret, id: String, timestamp: Int64, body: [UInt8]) -> [(String, String)] {
        [("webhook-id", id), ("webhook-timestamp", String(timestamp)),
         ("webhook-signature", signature(secret: secret, id: id, timestamp: timestamp, body: body))]
    }
}

/// Signed links in messages (unsubscribe, reactions, a digest's full list): the purpose and its
/// values, then an HMAC with the store's link key, so that no link can be forged or altered.
public struct LinkSigner: Sendable {
    private let key: SymmetricKey

    public init(key: [UInt8]) { self.key = SymmetricKey(data: key) }

    /// A signed token of `parts` that stops working at `expires` (a link in an e-mail is read long
    /// after, and forwarded: it must not act for ever).
    public func token(_ parts: [String], expires: Date) -> String {
        signed(parts + ["exp:\(Int64(expires.timeIntervalSince1970.rounded(.down)))"])
    }

    /// What a token this signer made says, and whether it has expired at `now` (a token of a release
    /// that wrote no expiry counts as expired).
    public func verify(_ token: String, now: Date) -> (parts: [String], expired: Bool)? {
        guard var parts = parts(of: token) else { return nil }
        guard let last = parts.last, last.hasPrefix("exp:"), let seconds = Int64(last.dropFirst(4)) else { return (parts, true) }
        parts.removeLast()
        return (parts, now.timeIntervalSince1970 >= Double(seconds))
    }

    public func signed(_ parts: [String]) -> String {
        let payload = Data(parts.joined(separator: "\n").utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return Self.base64url(payload) + "." + Self.base64url(Data(mac.prefix(16)))
    }

    /// The parts of a token this signer made, or nil.
    public func parts(of token: String) -> [String]? {
        let halves = token.split(separator: ".", omittingEmptySubsequences: false)
        guard halves.count == 2, let payload = Self.data(base64url: halves[0]), let mac = Self.data(base64url: halves[1]) else { return nil }
        let expected = HMAC<SHA256>.authenticationCode(for: payload, using: key).prefix(16)
        guard mac.count == 16, zip(mac, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        return String(decoding: payload, as: UTF8.self).components(separatedBy: "\n")
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func data(base64url text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}
