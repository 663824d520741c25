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

    public static func + (a: Share, b: Share) -> Share {
        try! Share(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator)
    }

    /// `a - b`, or nil when b is larger than a.
    public static func - (a: Share, b: Share) -> Share? {
        let n = a.numerator * b.denominator - b.numerator * a.denominator
        return n < 0 ? nil : try! Share(n, a.denominator * b.denominator)
    }

    public static func < (a: Share, b: Share) -> Bool {
        a.numerator * b.denominator < b.numerator * a.denominator
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return max(a, 1)
    }
}
