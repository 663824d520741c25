import Foundation

/// A share of a right as an exact fraction (`1/2`, `2/3`, `1`): shares are added and compared without
/// rounding, so three thirds make exactly one.
public struct Share: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int

    public static let zero = Share(reduced: 0, 1)
    public static let whole = Share(reduced: 1, 1)

    private init(reduced numerator: Int, _ denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// A fraction in lowest terms; the denominator must be positive.
    public init(_ numerator: Int, _ denominator: Int) throws {
        guard denominator > 0 else { throw RGISError(.invalidValue, "share \(numerator)/\(denominator): the denominator must be positive") }
        guard numerator >= 0 else { throw RGISError(.invalidValue, "share \(numerator)/\(denominator) is negative") }
        let g = Share.gcd(numerator, denominator)
        self.init(reduced: numerator / g, denominator / g)
    }

    /// Parses `N/D` or a whole number. A share of a right lies in (0, 1].
    public init(parsing text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let n = Int(parts[0]), let d = parts.count == 2 ? Int(parts[1]) : 1 else {
            throw RGISError(.malformedInput, "share '\(text)' is not a fraction (write it as N/D, e.g. 1/2, or 1)")
        }
        try self.init(n, d)
        guard self > .zero, self <= .whole else {
            throw RGISError(.invalidValue, "share \(text) must be more than 0 and at most 1")
        }
    }

    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    /// The sum, worked out in 128 bits; throws when it cannot be written in 64 (shares such as
    /// 1/9223372036854775807 added to 1/3), rather than trapping.
    public static func + (a: Share, b: Share) throws -> Share {
        try exact(Int128(a.numerator) * Int128(b.denominator) + Int128(b.numerator) * Int128(a.denominator),
                  Int128(a.denominator) * Int128(b.denominator))
    }

    /// `a - b`, or nil when b is larger than a (throws as ``+(_:_:)`` does).
    public static func - (a: Share, b: Share) throws -> Share? {
        let n = Int128(a.numerator) * Int128(b.denominator) - Int128(b.numerator) * Int128(a.denominator)
        return n < 0 ? nil : try exact(n, Int128(a.denominator) * Int128(b.denominator))
    }

    public static func < (a: Share, b: Share) -> Bool {
        Int128(a.numerator) * Int128(b.denominator) < Int128(b.numerator) * Int128(a.denominator)
    }

    private static func exact(_ numerator: Int128, _ denominator: Int128) throws -> Share {
        var (x, y) = (numerator, denominator)
        while y != 0 { (x, y) = (y, x % y) }
        let g = max(x, 1)
        guard let n = Int(exactly: numerator / g), let d = Int(exactly: denominator / g) else {
            throw RGISError(.invalidValue, "the shares add up to a fraction too fine to record (its denominator passes 9.2 × 10^18); write the shares with smaller denominators")
        }
        return Share(reduced: n, d)
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return max(a, 1)
    }
}
