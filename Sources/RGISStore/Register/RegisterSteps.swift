import Foundation
import RGISCore

/// A version of a parcel or building as the register knows it now: the backend's key for it and the
/// day it began.
public struct RegisterVersion: Sendable {
    public let key: Int64
    public let validFrom: String
    public init(key: Int64, validFrom: String) {
        self.key = key
        self.validFrom = validFrom
    }
}

/// The latest version of an id in current knowledge, whether or not it has ended.
public struct LatestVersion: Sendable {
    public let version: RegisterVersion
    /// The day it ended, and the event that ended it (with its kind); nil while it holds.
    public let validTo: String?
    public let endedBy: Int64?
    public let endedByKind: String?
    /// The event that recorded it.
    public let eventID: Int64
    public init(version: RegisterVersion, validTo: String?, endedBy: Int64?, endedByKind: String?, eventID: Int64) {
        self.version = version
        self.validTo = validTo
        self.endedBy = endedBy
        self.endedByKind = endedByKind
        self.eventID = eventID
    }
}

/// Who holds what of a parcel: the part of a right two parcels must share to be merged.
public struct RightHolding: Hashable, Sendable {
    public let party: String
    public let type: RightType
    public let share: Share
}

/// A right in force on a parcel: the backend's key for it and its holding.
public struct RegisterRight: Sendable {
    public let key: Int64
    public let party: String
    public let type: RightType
    public let share: Share
    public let validFrom: String
    public init(key: Int64, party: String, type: RightType, share: Share, validFrom: String) {
        self.key = key
        self.party = party
        self.type = type
        self.share = share
        self.validFrom = validFrom
    }
    public var holding: RightHolding { RightHolding(party: party, type: type, share: share) }
}

/// A right an event gave, as a correction finds it: and whether a later event changed it.
public struct GivenRight: Sendable {
    public let right: RegisterRight
    public let supersededBy: Int64?
    public init(right: RegisterRight, supersededBy: Int64?) {
        self.right = right
        self.supersededBy = supersededBy
    }
}

/// A recorded archive event, as a correction reads it.
public struct RegisterEvent: Sendable {
    public let kind: String
    public let validDate: String
    public let detail: JSONValue?
    public init(kind: String, validDate: String, detail: JSONValue?) {
        self.kind = kind
        self.validDate = validDate
        self.detail = detail
    }
}

/// A footprint to store: one given (checked, as read), or one the backend's geometry engine made
/// (a split piece, a union), in the backend's own encoding.
public enum RegisterGeometry: Sendable {
    case value(Geometry)
    case made(Data)
}

/// A piece a split cut, with its ellipsoidal area.
public struct RegisterPiece: Sendable {
    public let geometry: RegisterGeometry
    public let areaSquareMetres: Double
    public init(geometry: RegisterGeometry, areaSquareMetres: Double) {
        self.geometry = geometry
        self.areaSquareMetres = areaSquareMetres
    }
}

/// What the union of parcels is.
public struct RegisterUnion: Sendable {
    public let geometry: RegisterGeometry
    /// How many polygons it has (1 when the parcels touch along a boundary).
    public let parts: Int
    public let areaSquareMetres: Double
    /// The parcels' own areas, summed (more than the union's when they overlap).
    public let partsAreaSquareMetres: Double
    public init(geometry: RegisterGeometry, parts: Int, areaSquareMetres: Double, partsAreaSquareMetres: Double) {
        self.geometry = geometry
        self.parts = parts
        self.areaSquareMetres = areaSquareMetres
        self.partsAreaSquareMetres = partsAreaSquareMetres
    }
}

/// The reads and writes one archive change is made of, inside the one transaction a backend opens for
/// it; ``Register`` decides with them. Writes come after ``recordEvent(kind:record:corrects:detail:)``
/// and are stamped with that event: nothing is updated in place or deleted, a version or right is
/// closed by superseding it with a copy that ends on the event's date. Geometry (validity, the
/// polygons a line cuts, a union, areas) is the backend's geometry engine's work.
public protocol RegisterSteps {
    /// The latest record time in the register, nil while it is empty.
    func lastRecordedAt() throws -> String?
    /// Records the change's event; its id.
    mutating func recordEvent(kind: ArchiveEventKind, record: ArchiveRecord, corrects: Int64?, detail: [String: JSONValue]?) throws -> Int64
    /// The latest version of `id`, nil when the register never had it.
    func latestVersion(_ layer: ArchiveLayer, id: String) throws -> LatestVersion?
    /// The day `id` was first used on, nil when never: ids are never reused.
    func firstUse(_ layer: ArchiveLayer, id: String) throws -> String?
    /// The last day a right (of `type`, or any) on the parcel began or ended, in current knowledge.
    func lastRightChange(parcel: String, type: RightType?) throws -> String?
    /// The rights on a parcel in force now, by type then party.
    func currentRights(parcel: String) throws -> [RegisterRight]
    func event(_ id: Int64) throws -> RegisterEvent?
    /// The rights event `event` gave `party` that no later event ended.
    func rightsGiven(event: Int64, party: String) throws -> [GivenRight]
    /// Whether `party` held a right that event `event` ended.
    func heldBefore(event: Int64, party: String) throws -> Bool
    /// A party's recorded name, nil when unknown or recorded without one.
    func partyName(_ id: String) throws -> String?
    /// What a line cuts a parcel's version into: how many parts the version had and its area, how many
    /// pieces the cut gives (nil when it cannot cut), and, when that is more than the parts, the
    /// pieces, each a valid polygon with its area (nil when one is invalid).
    func split(_ version: RegisterVersion, by line: Geometry) throws -> (parentParts: Int, parentArea: Double, pieceCount: Int?, pieces: [RegisterPiece]?)
    /// The union of parcels' versions; nil when it is not a valid polygon.
    func union(_ versions: [RegisterVersion]) throws -> RegisterUnion?

    /// Ends a version on the event's date (no ended copy when it began that day: then it never held).
    mutating func close(_ layer: ArchiveLayer, version: RegisterVersion) throws
    /// Re-records a version with a corrected footprint and the same valid time; its area.
    mutating func reopen(_ layer: ArchiveLayer, version: RegisterVersion, geometry: RegisterGeometry) throws -> Double
    /// A new parcel or building valid from the event's date; its area. An invalid footprint is refused.
    mutating func open(_ layer: ArchiveLayer, id: String, geometry: RegisterGeometry, properties: [String: JSONValue]?, parcel: String?) throws -> Double
    mutating func link(from parent: String, to child: String) throws
    /// A right from `validFrom` (the event's date when nil).
    mutating func insertRight(parcel: String, party: String, type: RightType, share: Share, validFrom: String?) throws
    mutating func closeRight(_ right: RegisterRight) throws
    /// Supersedes a right without an ended copy (a correction replaces it whole).
    mutating func supersedeRight(key: Int64) throws
    /// Records a party, or gives a known one without a name the name.
    mutating func addParty(_ id: String, kind: String, name: String?) throws
}
