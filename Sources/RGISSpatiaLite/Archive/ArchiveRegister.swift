import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISStore

/// The land register on a SpatiaLite file: each change is one write transaction in which ``Register``
/// (the rules) works through ``SpatiaLiteRegisterSteps``. Nothing is updated in place or deleted (the
/// schema's triggers refuse it).
public struct ArchiveRegister: Sendable {
    public let database: RGISDatabase

    public init(_ database: RGISDatabase) {
        self.database = database
    }

    /// Runs one change of the register in its own write transaction.
    private func change(_ body: (inout Register<SpatiaLiteRegisterSteps>) throws -> ArchiveChange) throws -> ArchiveChange {
        try database.writeTransaction { db in
            var register = Register(SpatiaLiteRegisterSteps(db))
            return try body(&register)
        }
    }

    /// Applies one requested change: the one entry point both the CLI and the server use.
    public func apply(_ request: ArchiveChangeRequest) throws -> ArchiveChange {
        try change { try $0.apply(request) }
    }

    // MARK: Registration

    /// Registers every Polygon/MultiPolygon feature of a GeoJSON file as a parcel (or building) valid from
    /// the record's date. Ids come from the property `idField`, else the feature's `id`.
    public func register(_ layer: ArchiveLayer, fromFile path: String, idField: String?, record: ArchiveRecord,
                         parcelField: String? = nil) throws -> ArchiveChange {
        try database.refuseOwnFile(path, as: "register from")
        return try register(layer, from: try HistoryFiles.archiveFeatures(path, idField: idField, parcelField: parcelField), record: record)
    }

    /// Registers what `input` reads; stops it when done (also on failure).
    public func register(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) throws -> ArchiveChange {
        defer { input.stop() }
        if let path = input.path { try database.refuseOwnFile(path, as: "register from") }
        do {
            return try database.writeTransaction { db in
                // A register is many rows at once: its spatial index is filled once at the end.
                let bulk = try BulkSpatialIndex(db: db, table: layer.table, geometryCode: 6)
                var register = Register(SpatiaLiteRegisterSteps(db))
                let change = try register.register(layer, from: input, record: record)
                try bulk.finish()
                return change
            }
        } catch let error as RGISError {
            throw error.located(input.name)
        }
    }

    // MARK: Changes, one by one (as ``apply(_:)``, for callers that hold the values already)

    public func split(parcel: String, line: Geometry, newIDs: [String]? = nil, record: ArchiveRecord) throws -> ArchiveChange {
        try change { try $0.split(parcel: parcel, line: line, newIDs: newIDs, record: record) }
    }

    public func merge(parcels: [String], newID: String? = nil, allowDisjoint: Bool = false, record: ArchiveRecord) throws -> ArchiveChange {
        try change { try $0.merge(parcels: parcels, newID: newID, allowDisjoint: allowDisjoint, record: record) }
    }

    public func transfer(_ transfer: Transfer, record: ArchiveRecord) throws -> ArchiveChange {
        try change { try $0.transfer(transfer, record: record) }
    }

    public func correctTransfer(event: Int64, to party: String, recordedAt: RecordTime = .now, document: String? = nil) throws -> ArchiveChange {
        try change { try $0.correctTransfer(event: event, to: party, recordedAt: recordedAt, document: document) }
    }

    public func correctGeometry(_ layer: ArchiveLayer, id: String, geometry: Geometry, recordedAt: RecordTime = .now,
                                document: String? = nil) throws -> ArchiveChange {
        try change { try $0.correctGeometry(layer, id: id, geometry: geometry, recordedAt: recordedAt, document: document) }
    }

    public func addBuilding(id: String, parcel: String?, geometry: Geometry, record: ArchiveRecord) throws -> ArchiveChange {
        try change { try $0.addBuilding(id: id, parcel: parcel, geometry: geometry, record: record) }
    }

    public func demolish(building: String, record: ArchiveRecord) throws -> ArchiveChange {
        try change { try $0.demolish(building: building, record: record) }
    }
}
