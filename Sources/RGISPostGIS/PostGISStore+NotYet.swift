import Foundation
import RGISCore
import RGISStore

// What the PostgreSQL backend does not do yet. Each refuses with `.notSupported` naming the operation,
// never with a made-up answer, so a caller (and the conformance suite's list of what each backend
// covers) sees exactly what runs where.
extension PostGISStore: Store {
    func notYet(_ what: String) -> RGISError {
        RGISError(.notSupported, "\(what) is not available on PostgreSQL yet; use a SpatiaLite file for it", at: location)
    }


    // ArchiveStore.
    public func archive(_ query: ArchiveQuery) async throws -> FeaturePage { throw notYet("the archive") }
    public func archiveVersion(_ layer: ArchiveLayer, fid: Int64) async throws -> StoredFeature { throw notYet("the archive") }
    public func rights(parcel: String, at instant: ArchiveInstant) async throws -> ParcelRights { throw notYet("the archive") }
    public func lineage(parcel: String) async throws -> ParcelLineage { throw notYet("the archive") }
    public func lineageVersions(parcel: String) async throws -> FeaturePage { throw notYet("the archive") }
    public func apply(_ change: ArchiveChangeRequest) async throws -> ArchiveChange { throw notYet("the archive") }

    // StoreMaintenance.
    public func registerArchive(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) async throws -> ArchiveChange {
        throw notYet("the archive")
    }
}
