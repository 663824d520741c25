import Foundation
import RGISCore

/// All of RGIS's storage as one value: the protocols a backend implements together. The server, the
/// notifier, the query engine and every CLI command are handed one (``StoreLocation/open(_:)``) and
/// know storage only through it; only the factory names a backend.
public protocol Store: FeatureStore, ArchiveStore, RecordStore, AccountStore, NotificationStore, AlertHookStore, DeliveryOutbox, StoreMaintenance, StoreCopying {
    /// Where the store is, as the factory read it (a file path, or a PostgreSQL URL without a password), for messages.
    var location: String { get }
}

/// The operator's operations on a whole store, each a requirement with its contract. They run in the
/// CLI, one at a time per command; a server may be running on the same store meanwhile unless the
/// contract says otherwise.
public protocol StoreMaintenance: Sendable {
    /// Reads every record against the rules (valid geometry, placements, counts) from one snapshot.
    /// Takes no write lock; a concurrent writer is neither blocked nor seen half-way.
    func check(maxPerLayer: Int) async throws -> [CheckProblem]

    /// Counts, schema version and extent per layer, from one snapshot (kept counts: no table is scanned).
    func info() async throws -> DatabaseInfo

    /// A complete, checked copy of one snapshot at `path`, put in place only once complete (killed
    /// part-way, nothing is at `path`). Writers go on meanwhile; the copy holds what was committed when
    /// it began. Refuses the store's own files and an existing file unless `replacing`.
    func backup(to path: String, replacing: Bool) async throws -> BackupReport

    /// Imports the features a file reader hands over (``FeatureInput``, opened by the files module)
    /// into a layer in one transaction: all or nothing (killed part-way, nothing of it is kept),
    /// rejected rows reported, writers after it see every row at once. Stops the input when done.
    func importFeatures(from input: FeatureInput, options: ImportOptions, progress: ((ImportProgress) -> Void)?) async throws -> ImportReport

    /// Whether `path` is one of the store's own files (a backend without files: never). Reading or
    /// replacing one beside the store would corrupt it, so importers and exporters refuse it.
    func isOwnFile(_ path: String) -> Bool

    /// Imports dated changes (read and checked by the files module from CSV
    /// `layer,record_id,kind,old_value,new_value,at`): all or nothing (the first change of a record the
    /// store does not hold stops it), a change already recorded is skipped, none is pushed to saved
    /// searches. Stops the input when done.
    func importEvents(from input: ChangeInput) async throws -> EventImportReport

    /// Registers the polygons an input reads as archive parcels or buildings valid from the record's
    /// date, in one transaction (the register's own rules: ids unique, geometry valid). Stops the
    /// input when done.
    func registerArchive(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) async throws -> ArchiveChange

    /// A layer's features in storage order (optionally in a box), written as GeoJSON or CSV text in
    /// pieces through `write`, from one snapshot; the count written.
    func exportText(layer: Layer, bbox: BBox?, format: TextExportFormat, write: (String) throws -> Void) async throws -> Int

    /// A layer's features as a file (GeoPackage, Shapefile, FlatGeobuf, XLSX) at `path`, put in place
    /// only once complete; the count written.
    func exportFile(layer: Layer, bbox: BBox?, format: ExportFormat, to path: String) async throws -> Int

    /// Sets the local CRS offered over HTTP beside CRS84, EPSG:4326 and EPSG:3857 (nil: none;
    /// ``FeatureStore/localCRS()`` reads it).
    func setLocalCRS(_ crs: CRSReference?) async throws
}

/// The text formats ``StoreMaintenance/exportText(layer:bbox:format:write:)`` writes.
public enum TextExportFormat: Sendable {
    case geojson, csv
}

extension StoreMaintenance {
    /// Refuses one of the store's own files as the source or target of `use` ("import from", "write to").
    public func refuseOwnFile(_ path: String, as use: String) throws {
        guard path != "-", isOwnFile(path) else { return }
        throw RGISError(.invalidValue, "is the database itself (or its log); \(use) another file", at: path)
    }

    public func check() async throws -> [CheckProblem] { try await check(maxPerLayer: 20) }
}
