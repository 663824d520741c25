import RGISCore

/// What one archive change did: its event and the ids of what it opened and closed.
public struct ArchiveChange: Sendable, Equatable {
    public let event: Int64
    public let kind: ArchiveEventKind
    /// Parcels or buildings that came into being (split pieces, the merged parcel, a new building).
    public var opened: [String] = []
    /// Parcels or buildings whose valid time this change ended.
    public var closed: [String] = []
    /// Area in m² of each opened parcel or building, in the order of ``opened``.
    public var areas: [Double] = []

    package init(event: Int64, kind: ArchiveEventKind, opened: [String] = [], closed: [String] = [], areas: [Double] = []) {
        self.event = event
        self.kind = kind
        self.opened = opened
        self.closed = closed
        self.areas = areas
    }

    public var json: JSONValue {
        .object(["event": .int(event), "kind": .string(kind.rawValue), "opened": .array(opened.map(JSONValue.string)),
                 "closed": .array(closed.map(JSONValue.string)), "areas_m2": .array(areas.map { .double(($0 * 100).rounded() / 100) })])
    }
}
