/// The error every RGIS module throws for a problem a user can act on.
///
/// Matchable by ``code`` (`error.code == .invalidValue`), it carries what a user needs to fix the input:
/// where the problem is (a file and feature, a parameter) and the rule that failed. ``description`` is
/// the full message; ``code``'s description is short and fixed, safe for logs and metrics.
public struct RGISError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case malformedInput = "malformed input"
            case invalidValue = "invalid value"
            case notFound = "not found"
            case conflict = "conflict"
            case forbidden = "forbidden"
            case preconditionFailed = "precondition failed"
            case notAnRGISDatabase = "not an RGIS database"
            case io = "i/o error"
            case database = "database error"
            case unavailable = "unavailable"
            case notSupported = "not supported"
        }
        fileprivate let base: Base
        public var description: String { base.rawValue }

        /// The input cannot be read at all: not JSON, not CSV, a wrong top-level shape, a malformed parameter.
        public static let malformedInput = Code(base: .malformedInput)
        /// Well-formed input with a value that breaks a rule: an invalid ring, a latitude of 91, a negative radius.
        public static let invalidValue = Code(base: .invalidValue)
        /// A file, layer, record or id that does not exist.
        public static let notFound = Code(base: .notFound)
        /// A duplicate id, or a write that would contradict stored data.
        public static let conflict = Code(base: .conflict)
        /// The caller may not read or change this record (another agent's client, a role without the right).
        public static let forbidden = Code(base: .forbidden)
        /// A conditional write whose condition no longer holds (`If-Match` names an older version).
        public static let preconditionFailed = Code(base: .preconditionFailed)
        /// A location that holds no RGIS store (a file or database not made by `rgis init`).
        public static let notAnRGISDatabase = Code(base: .notAnRGISDatabase)
        /// Reading or writing a file failed.
        public static let io = Code(base: .io)
        /// The storage engine failed for a reason that is not the caller's input.
        public static let database = Code(base: .database)
        /// The store cannot take the request now, through no fault of the input: another writer holds
        /// the database, or the files this process writes are no longer the database's. Retrying later
        /// (or after a restart) may succeed.
        public static let unavailable = Code(base: .unavailable)
        /// The store's backend does not do this (yet): retrying will not help; another backend does it.
        public static let notSupported = Code(base: .notSupported)
    }

    public let code: Code
    /// Where the problem is: `listings.geojson: feature 12`, `parameter radius_m`.
    public var location: String?
    /// What is wrong, naming the field and the rule.
    public var reason: String

    public init(_ code: Code, _ reason: String, at location: String? = nil) {
        self.code = code
        self.reason = reason
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): \(reason)" }
        return reason
    }

    /// The same error, located more precisely: `at("file.geojson")` turns `feature 3: …` into `file.geojson: feature 3: …`.
    public func located(_ outer: String) -> RGISError {
        var copy = self
        copy.location = location.map { "\(outer): \($0)" } ?? outer
        return copy
    }
}
