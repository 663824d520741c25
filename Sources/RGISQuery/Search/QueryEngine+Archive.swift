import RGISCore
import RGISStore

/// Reads and changes of the property archive.
extension QueryEngine {
    /// The versions matching `query`, in storage order, each with its rights (for parcels).
    public func archive(_ query: ArchiveQuery) async throws -> FeaturePage { try await archive.archive(query) }

    /// One stored version by its storage key (the feature id of the `archive-parcels` collection).
    public func archiveVersion(_ layer: ArchiveLayer, fid: Int64) async throws -> StoredFeature {
        try await archive.archiveVersion(layer, fid: fid)
    }

    /// The rights on a parcel valid on a day as known at a time.
    public func rights(parcel: String, at instant: ArchiveInstant) async throws -> ParcelRights {
        try await archive.rights(parcel: parcel, at: instant)
    }

    /// A parcel's ancestors and descendants through splits and merges, with the events.
    public func lineage(parcel: String) async throws -> ParcelLineage { try await archive.lineage(parcel: parcel) }

    /// Every recorded version of a parcel and of its ancestors and descendants.
    public func lineageVersions(parcel: String) async throws -> FeaturePage { try await archive.lineageVersions(parcel: parcel) }

    /// Applies one change to the archive in one transaction.
    public func apply(_ change: ArchiveChangeRequest) async throws -> ArchiveChange { try await archive.apply(change) }
}
