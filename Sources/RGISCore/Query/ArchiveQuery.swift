/// What an as-of query asks of the archive: the versions of a layer valid at a day (or during an
/// interval) as the register knew them at `knownAt`, optionally within a box or an area.
public struct ArchiveQuery: Sendable {
    public var layer: ArchiveLayer
    /// Valid time: an instant or an interval of days (OGC `datetime`); nil for any valid time.
    public var valid: DateTimeInterval?
    public var knownAt: RecordTime
    public var bbox: BBox?
    public var area: SearchArea?
    public var limit: Limit
    /// Keyset paging: versions after this storage key.
    public var afterFid: Int64?

    public init(layer: ArchiveLayer = .parcels, valid: DateTimeInterval?, knownAt: RecordTime = .now, limit: Limit) {
        self.layer = layer
        self.valid = valid
        self.knownAt = knownAt
        self.limit = limit
    }
}
