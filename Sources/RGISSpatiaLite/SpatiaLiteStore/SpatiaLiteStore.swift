import Foundation
import GRDB
import RGISCore
import RGISStore

/// The embedded store: one SpatiaLite file (``RGISDatabase``) behind ``FeatureStore`` and ``ArchiveStore``.
///
/// Every spatial predicate is pre-filtered through the layer's R*Tree (`idx_<table>_geom`), then decided
/// exactly by SpatiaLite/GEOS or, for point distances, by PROJ's geodesic in process.
public struct SpatiaLiteStore: FeatureStore, ArchiveStore {
    public let database: RGISDatabase

    public init(_ database: RGISDatabase) {
        self.database = database
    }

    /// Opens an RGIS file (see ``RGISDatabase/open(at:)``).
    public static func open(at path: String) throws -> SpatiaLiteStore {
        SpatiaLiteStore(try RGISDatabase.open(at: path))
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.read(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.write(body)
    }

    public func ping() async throws {
        _ = try await read { db in try db.value("SELECT 1", as: Int.self) }
    }

    public func storageHealth() -> StorageHealth {
        // stat only: opening the file would drop this process's locks on it when closed.
        func size(_ path: String) -> Double {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.doubleValue ?? 0
        }
        return StorageHealth(fault: database.fileFault, refusedWrites: database.refusedWrites,
                             storageBytes: size(database.path), logBytes: size(database.path + "-wal"))
    }

    public func layerStatistics() async throws -> [LayerStatistics] {
        try await read { db in try LayerStatisticsTable.read(db) }
    }

    public func apply(_ change: ArchiveChangeRequest) async throws -> ArchiveChange {
        let register = ArchiveRegister(database)
        return try await database.offloaded { try register.apply(change) }
    }
}
