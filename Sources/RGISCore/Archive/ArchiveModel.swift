/// The kinds of right the archive registers (after LADM's RRR, kept to what a land register records).
public enum RightType: String, Sendable, CaseIterable, Codable {
    case ownership, lease, mortgage, easement

    public init(parsing raw: String) throws {
        guard let type = RightType(rawValue: raw.lowercased()) else {
            throw RGISError(.invalidValue, "right type '\(raw)' is not one of \(RightType.allCases.map(\.rawValue).joined(separator: ", "))",
                            at: "parameter type")
        }
        self = type
    }
}

/// What happened to the register. Every change is one event, and every version and right it opens or
/// closes names it.
public enum ArchiveEventKind: String, Sendable, CaseIterable {
    case registration, transfer, split, merge, newBuilding = "new_building", demolition, correction
}

/// The two layers that keep versions.
public enum ArchiveLayer: String, Sendable, CaseIterable {
    case parcels, buildings

    public init(parsing raw: String) throws {
        guard let layer = ArchiveLayer(rawValue: raw) else {
            throw RGISError(.invalidValue, "layer '\(raw)' is not one of parcels, buildings", at: "parameter layer")
        }
        self = layer
    }

    /// The table of versions, and its column holding the stable id a version belongs to.
    public var table: String { "archive_\(rawValue)" }
    public var idColumn: String { self == .parcels ? "parcel_id" : "building_id" }
    public var singular: String { self == .parcels ? "parcel" : "building" }
}

/// A point in both times: the register's view of `validAt` as it stood at `knownAt`.
public struct ArchiveInstant: Hashable, Sendable {
    public var validAt: ValidDate
    public var knownAt: RecordTime

    public init(validAt: ValidDate, knownAt: RecordTime = .now) {
        self.validAt = validAt
        self.knownAt = knownAt
    }
}

/// Who records a change, when, and on what document. `recordedAt` defaults to now; the register
/// refuses a record time earlier than its last record, since it cannot learn in the past.
public struct ArchiveRecord: Sendable {
    public var date: ValidDate
    public var recordedAt: RecordTime
    public var document: String?

    public init(date: ValidDate, recordedAt: RecordTime = .now, document: String? = nil) {
        self.date = date
        self.recordedAt = recordedAt
        self.document = document
    }
}
