import Crypto
import Foundation

/// Hashes behind tokens, ETags and idempotency keys (swift-crypto's SHA-256 and HMAC).
public enum Digest {
    public static func sha256Hex(_ text: String) -> String {
        hex(SHA256.hash(data: Data(text.utf8)))
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// HMAC-SHA-256 of `text` under `key`, first 128 bits in hex: a tag that changes with the text and,
    /// without the key, cannot be used to test a guess of it.
    package static func keyedTag(_ text: String, key: Data) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key))
        return hex(code.prefix(16))
    }

    /// Equality whose time depends only on the lengths, not on where the texts differ.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }

    /// A new bearer token: `rgis_` and 32 random bytes (the system's CSPRNG) in base64url, 43 characters.
    package static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "rgis_" + text
    }

    /// Whether a text has a token's shape, before any lookup.
    public static func looksLikeToken(_ text: String) -> Bool {
        text.hasPrefix("rgis_") && text.utf8.count == 48
            && text.utf8.dropFirst(5).allSatisfy { c in (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 }
    }

    private static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
