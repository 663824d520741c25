import RGISCore

/// The property archive: versions of parcels and buildings in valid time and record time, rights and
/// lineage, and the changes that write them. Same contracts as ``FeatureStore``: async, one snapshot
/// per call, ``RGISError`` only; each change is one transaction that lands whole or not at all.
public protocol ArchiveStore: Sendable {
    /// The versions valid in `query.valid` as known at `query.knownAt`, in storage order, each parcel
    /// with the rights of that time (`rights`); paged by storage key.
    func archive(_ query: ArchiveQuery) async throws -> FeaturePage

    /// One stored version by its storage key; `.notFound` when there is none.
    func archiveVersion(_ layer: ArchiveLayer, fid: Int64) async throws -> StoredFeature

    /// The rights on a parcel valid on a day as known at a time, by type, party and start.
    /// `.notFound` for a parcel unknown at that time, `.invalidValue` for a day outside its life.
    func rights(parcel: String, at instant: ArchiveInstant) async throws -> ParcelRights

    /// A parcel's ancestors and descendants through splits and merges, with the events, as known now.
    func lineage(parcel: String) async throws -> ParcelLineage

    /// Every recorded version of a parcel and of its ancestors and descendants, in storage order.
    func lineageVersions(parcel: String) async throws -> FeaturePage

    /// Applies one change (split, merge, transfer, correction, building, demolition) in one transaction.
    func apply(_ change: ArchiveChangeRequest) async throws -> ArchiveChange
}
