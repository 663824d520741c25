import Foundation
import RGISCore
import RGISStore

/// The operator's operations on the file (``StoreMaintenance``): each runs on the calling task, as
/// the CLI runs one at a time; the file's own locks give the contracts (a reader's snapshot for
/// check, info, export and backup; one write transaction for each import).
extension SpatiaLiteStore: Store {
    public var location: String { database.path }

    public func check(maxPerLayer: Int) async throws -> [CheckProblem] {
        try database.check(maxPerLayer: maxPerLayer)
    }

    public func info() async throws -> DatabaseInfo {
        try database.info()
    }

    public func backup(to path: String, replacing: Bool) async throws -> BackupReport {
        try database.backup(to: path, replacing: replacing)
    }

    public func importFeatures(from input: FeatureInput, options: ImportOptions, progress: ((ImportProgress) -> Void)?) async throws -> ImportReport {
        try database.importFeatures(from: input, options: options, progress: progress)
    }

    public func isOwnFile(_ path: String) -> Bool {
        database.isOwnFile(path)
    }

    public func importEvents(from input: ChangeInput) async throws -> EventImportReport {
        try database.importEvents(from: input)
    }

    public func registerArchive(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) async throws -> ArchiveChange {
        try ArchiveRegister(database).register(layer, from: input, record: record)
    }

    public func exportText(layer: Layer, bbox: BBox?, format: TextExportFormat, write: (String) throws -> Void) async throws -> Int {
        switch format {
        case .geojson: try database.exportGeoJSON(layer: layer, bbox: bbox, write: write)
        case .csv: try database.exportCSV(layer: layer, bbox: bbox, write: write)
        }
    }

    public func exportFile(layer: Layer, bbox: BBox?, format: ExportFormat, to path: String) async throws -> Int {
        try database.exportFile(layer: layer, bbox: bbox, format: format, to: path)
    }

    public func setLocalCRS(_ crs: CRSReference?) async throws {
        try database.setLocalCRS(crs)
    }
}
