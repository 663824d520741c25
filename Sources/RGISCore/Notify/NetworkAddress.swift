import Foundation

/// An IP address as a URL's host or a resolver may give it.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// Sixteen bytes, network order.
    case v6([UInt8])

    /// Reads an IP literal the way a resolver would: IPv4 in any of `inet_aton`'s notations (one to
    /// four parts, each decimal, octal with a leading 0, or hex with 0x: `127.1`, `0x7f000001`,
    /// `2130706433`, `0177.0.0.1`), or IPv6 with or without brackets, with an IPv4 tail or not. Nil
    /// for anything else (a host name). A zone (`fe80::1%eth0`) is not read: nil.
    public init?(literal text: String) {
        var host = Substring(text)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if host.contains(":") {
            guard let bytes = Self.ipv6(host) else { return nil }
            self = .v6(bytes)
        } else {
            if host.hasSuffix(".") { host = host.dropLast() }
            guard let value = Self.ipv4(host) else { return nil }
            self = .v4(value)
        }
    }

    public var description: String {
        switch self {
        case .v4(let v): return "\(v >> 24).\((v >> 16) & 255).\((v >> 8) & 255).\(v & 255)"
        case .v6(let b): return stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
    }

    /// The IPv4 address an IPv6 one carries where the network would reach that IPv4 host instead:
    /// mapped (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`).
    public var embeddedIPv4: UInt32? {
        guard case .v6(let b) = self else { return nil }
        func word(_ i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
        if b[0..<10].allSatisfy({ $0 == 0 }), (b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0) { return word(12) }
        if b[0..<12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0][...] { return word(12) }
        if b[0] == 0x20, b[1] == 0x02 { return word(2) }
        return nil
    }

    private static func ipv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 12 else { return nil }
            let lower = part.lowercased()
            let value: UInt64?
            if lower.hasPrefix("0x") {
                value = lower.count == 2 ? 0 : UInt64(lower.dropFirst(2), radix: 16)
            } else if lower.hasPrefix("0"), lower.count > 1 {
                value = UInt64(lower.dropFirst(), radix: 8)
            } else {
                value = UInt64(lower, radix: 10)
            }
            guard let value else { return nil }
            numbers.append(value)
        }
        // The last part fills what the others leave: a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits).
        let lastBits = UInt64(32 - 8 * (numbers.count - 1))
        guard numbers.dropLast().allSatisfy({ $0 <= 255 }), numbers.last! < (UInt64(1) << lastBits) else { return nil }
        var result: UInt64 = 0
        for (i, n) in numbers.dropLast().enumerated() { result |= n << UInt64(24 - 8 * i) }
        return UInt32(result | numbers.last!)
    }

    private static func ipv6(_ text: Substring) -> [UInt8]? {
        guard !text.contains("%"), text.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if i == pieces.count - 1, piece.contains(".") {
                    guard piece.split(separator: ".", omittingEmptySubsequences: false).count == 4,
                          piece.split(separator: ".").allSatisfy({ $0.count <= 3 && $0.allSatisfy(\.isNumber) }),
                          let v4 = ipv4(piece) else { return nil }
                    out += [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
                } else {
                    guard (1...4).contains(piece.count), let g = UInt16(piece, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        let tail = halves.count == 2 ? groups(halves[1]) : []
        guard let tail else { return nil }
        let count = head.count + tail.count
        guard halves.count == 2 ? count <= 7 : count == 8 else { return nil }
        let all = head + [UInt16](repeating: 0, count: 8 - count) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }
}

/// A block of addresses: `10.0.0.0/8`, `::1/128`, or one address alone.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Reads `ADDRESS/BITS` (or an address alone, all its bits). Throws naming the rule.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let address = IPAddress(literal: first) else {
            throw RGISError(.invalidValue, "'\(text)' is not an address block (10.0.0.0/8, ::1/128)")
        }
        let bits: Int = if case .v4 = address { 32 } else { 128 }
        let length = parts.count == 2 ? Int(parts[1]) : bits
        guard let length, (0...bits).contains(length) else {
            throw RGISError(.invalidValue, "'\(text)': the prefix length is 0 to \(bits)")
        }
        self.address = address
        prefixLength = length
    }

    init(_ address: IPAddress, _ prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public var description: String { "\(address)/\(prefixLength)" }

    public func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case (.v4(let net), .v4(let a)):
            let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength)
            return net & mask == a & mask
        case (.v6(let net), .v6(let a)):
            for i in 0..<16 {
                let bits = max(0, min(8, prefixLength - 8 * i))
                let mask: UInt8 = bits == 0 ? 0 : ~UInt8(0) << UInt8(8 - bits)
                if net[i] & mask != a[i] & mask { return false }
            }
            return true
        default:
            return false
        }
    }
}

/// Where webhooks may go: only to the public internet, unless the operator allows a block (tests on
/// loopback, a CRM on the office network). Agents and planners name the URLs, so without this an
/// agent's token would be a way to make the server knock on internal services.
public struct WebhookNetworkPolicy: Sendable, Equatable {
    /// Blocks the operator allows although they are not public (`--allow-webhook-network`).
    public var allowed: [IPNetwork]

    public init(allowing allowed: [IPNetwork] = []) {
        self.allowed = allowed
    }

    /// Why a webhook may not be sent to `address`, or nil when it may.
    public func refusal(_ address: IPAddress) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        if let v4 = address.embeddedIPv4, allowed.contains(where: { $0.contains(.v4(v4)) }) { return nil }
        if let reserved = Self.reserved(address) { return "\(reserved) addresses are not webhook receivers" }
        return nil
    }

    /// The kind of a non-public address (loopback, private, link-local…), or nil for a public one.
    public static func reserved(_ address: IPAddress) -> String? {
        if case .v6(let b) = address, b[0..<15].allSatisfy({ $0 == 0 }), b[15] <= 1 { return b[15] == 0 ? "unspecified" : "loopback" }
        if let v4 = address.embeddedIPv4 { return reserved(.v4(v4)) }
        for (network, kind) in reservedBlocks where network.contains(address) { return kind }
        return nil
    }

    private static let reservedBlocks: [(IPNetwork, String)] = [
        ("0.0.0.0/8", "unspecified"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared (CGNAT)"), ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"), ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"), ("192.168.0.0/16", "private"), ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"), ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("::/96", "reserved"), ("64:ff9b:1::/48", "reserved"),
        ("100::/64", "reserved"), ("2001::/32", "reserved"), ("2001:db8::/32", "documentation"), ("fc00::/7", "private"),
        ("fe80::/10", "link-local"), ("fec0::/10", "site-local"), ("ff00::/8", "multicast"),
    ].map { (try! IPNetwork(parsing: $0.0), $0.1) }
}
