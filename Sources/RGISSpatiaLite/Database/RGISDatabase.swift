import Foundation
import GRDB
import RGISCore
import RGISStore
import Synchronization

/// An RGIS SpatiaLite database file: WAL mode, one writer and many readers, SpatiaLite on every connection.
public final class RGISDatabase: Sendable {
    /// SQLite's `application_id` header field for RGIS files ("RGIS" in ASCII), so that a file can be
    /// recognised without guessing from table names.
    static let applicationID: Int32 = 0x5247_4953

    public let path: String
    let pool: DatabasePool
    /// The files this process holds, watched for being deleted or replaced under it.
    let files: DatabaseFiles

    private init(path: String, pool: DatabasePool) throws {
        self.path = path
        self.pool = pool
        files = try DatabaseFiles(path: path)
    }

    /// The databases this process has open, by file: a second open of the same file (by any path)
    /// gets the same pool. Two pools would be harmless to SQLite, but each open inspects the file, and
    /// one open per process is the rule that keeps every descriptor of the file under SQLite's care.
    private static let opened = Mutex<[FileIdentity: WeakDatabase]>([:])

    private struct WeakDatabase {
        weak var database: RGISDatabase?
    }

    /// The database already open in this process at `path`, if any.
    static func alreadyOpen(_ path: String) -> RGISDatabase? {
        guard let identity = FileIdentity(path: path) else { return nil }
        return opened.withLock { $0[identity]?.database }
    }

    private static func register(_ database: RGISDatabase) -> RGISDatabase {
        opened.withLock { open in
            if let existing = open[database.files.identity]?.database { return existing }
            open = open.filter { $0.value.database != nil }
            open[database.files.identity] = WeakDatabase(database: database)
            return database
        }
    }

    /// Creates the file (or upgrades an RGIS file in place) with the SpatiaLite metadata and every layer.
    ///
    /// Throws ``RGISError/Code/notAnRGISDatabase`` for an existing SQLite file that holds tables of some
    /// other application: RGIS never writes into a database it did not create.
    @discardableResult
    public static func create(at path: String) throws -> RGISDatabase {
        if let open = alreadyOpen(path) { return open }
        switch try FileKind(inspecting: path) {
        case .absent, .blank, .rgis: break
        case .notSQLite: throw RGISError(.notAnRGISDatabase, "not a SQLite database", at: path)
        case .foreign: throw notRGIS(path)
        case .newer: throw newerRGIS(path)
        }
        let database = try RGISDatabase(path: path, pool: openPool(path))
        try database.translatingErrors { try Schema.migrate(database.pool) }
        return register(database)
    }

    /// Opens an existing RGIS database, applying migrations it lacks.
    public static func open(at path: String) throws -> RGISDatabase {
        if let open = alreadyOpen(path) { return open }
        switch try FileKind(inspecting: path) {
        case .absent: throw RGISError(.notFound, "no such database file (create it with `rgis init \(path)`)", at: path)
        case .notSQLite: throw RGISError(.notAnRGISDatabase, "not a SQLite database", at: path)
        case .blank, .foreign: throw notRGIS(path)
        // Its tables may hold what this program does not know to keep in step: refused, not written.
        case .newer: throw newerRGIS(path)
        case .rgis: break
        }
        let database = try RGISDatabase(path: path, pool: openPool(path))
        try database.translatingErrors {
            // Only a file that lacks migrations takes the write lock; opening for reading stays concurrent.
            if try !database.pool.read({ try Schema.isCurrent($0) }) { try Schema.migrate(database.pool) }
        }
        return register(database)
    }

    /// What a path holds, found without changing it: a read-only look, before the pool (which would
    /// switch the file to WAL mode) touches it.
    ///
    /// The file is read only through SQLite, never through a descriptor of this code's own: closing a
    /// descriptor of a database file drops every lock this process holds on it (SQLite keeps its own
    /// descriptors open while any connection of the process holds a lock).
    enum FileKind {
        case absent, blank, notSQLite, foreign, rgis
        /// An RGIS file a newer RGIS upgraded: it has migrations this program does not know.
        case newer

        init(inspecting path: String) throws {
            let attributes: [FileAttributeKey: Any]
            do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
                self = .absent
                return
            }
            if attributes[.type] as? FileAttributeType == .typeDirectory {
                throw RGISError(.io, "is a directory, not a database file", at: path)
            }
            if (attributes[.size] as? NSNumber)?.intValue == 0 {
                self = .blank
                return
            }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw RGISError(.io, "cannot be opened for reading", at: path)
            }
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            do {
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                defer { try? queue.close() }
                let (applicationID, tables, newer) = try queue.read { db in
                    (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                     try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0,
                     try Schema.migrator.hasBeenSuperseded(db))
                }
                // Read here, before a pool loads SpatiaLite (whose start on a connection rewrites part of the schema).
                self = applicationID == RGISDatabase.applicationID ? (newer ? .newer : .rgis) : tables == 0 ? .blank : .foreign
            } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
                self = .notSQLite
            } catch let error as DatabaseError {
                throw RGISError(.database, error.message ?? "\(error)", at: path)
            }
        }
    }

    static func newerRGIS(_ path: String) -> RGISError {
        RGISError(.invalidValue, "this database was upgraded by a newer RGIS; open it with that version (or restore a backup made before the upgrade)", at: path)
    }

    private static func notRGIS(_ path: String) -> RGISError {
        RGISError(.notAnRGISDatabase, "not an RGIS database (it was not created by `rgis init`)", at: path)
    }

    private static func openPool(_ path: String) throws -> DatabasePool {
        var configuration = Configuration()
        // No memory map (PRAGMA mmap_size): it saved a tenth of a radius search's time in read()
        // calls, but every page it touched counted in the server's resident memory (1.1 GB on a
        // million listings against a budget of 250 MB).
        configuration.prepareDatabase { db in try SpatiaLiteConnection.load(into: db) }
        configuration.busyMode = .timeout(10)
        configuration.label = "RGIS"
        do {
            return try DatabasePool(path: path, configuration: configuration)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw RGISError(.notAnRGISDatabase, "not a SQLite database", at: path)
        } catch let error as DatabaseError {
            throw RGISError(.database, error.message ?? "\(error)", at: path)
        }
    }

    /// Runs `body`, turning SQLite errors into ``RGISError`` so that they never leave the store raw.
    func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as RGISError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw RGISError(.notAnRGISDatabase, "not a SQLite database", at: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw RGISError(.unavailable, "the database is locked by another writer; try again", at: path)
        } catch let error as DatabaseError {
            throw RGISError(.database, error.message ?? "\(error)", at: path)
        }
    }

    /// Reads in a snapshot (concurrent with writes).
    package func read<T>(_ body: (Database) throws -> T) throws -> T {
        try translatingErrors { try pool.read(body) }
    }

    /// Reads in a snapshot on one of GRDB's reader queues, never on the caller's thread. When the
    /// calling task is cancelled the running statement is interrupted and `CancellationError` is thrown.
    package func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await translatingAsync { try await pool.read(body) }
    }

    /// Writes in one transaction on GRDB's writer queue, never on the caller's thread. Refused with
    /// ``RGISError/Code/unavailable`` when this process's files are no longer the database's
    /// (``DatabaseFiles``): looked at before the write and again just before it commits.
    package func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try files.checkAttached()
        return try await translatingAsync {
            try await pool.write { [files] db in
                let result = try body(db)
                try files.checkAttached()
                return result
            }
        }
    }

    /// Throws when `path` is this database's own file (or its log): importing from it or writing an
    /// export over it would open and close a descriptor of the database, which drops this process's
    /// locks on it, or replace the file under every process that has it open.
    /// Whether `path` is the database file or one of its logs.
    public func isOwnFile(_ path: String) -> Bool { path != "-" && files.isOwn(path) }

    package func refuseOwnFile(_ path: String, as role: String) throws {
        guard path != "-", files.isOwn(path) else { return }
        throw RGISError(.invalidValue, "is the database itself (or its log); \(role) another file", at: path)
    }

    /// Why this process's files are no longer the database's (deleted or replaced under it), or nil
    /// while they are; see ``DatabaseFiles``.
    public var fileFault: String? { files.fault }

    /// Writes refused since the database was opened because its files were no longer the database's.
    public var refusedWrites: Int { files.refusedWrites }

    /// An interrupted statement is a cancellation; other errors as ``translatingErrors(_:)`` says.
    private func translatingAsync<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            throw CancellationError()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return try translatingErrors { throw error }
        }
    }

    /// Runs a synchronous store call (an import step, an archive change) off the cooperative thread pool.
    package func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Folds the write-ahead log into the file, so that the file alone holds every committed row (a
    /// copy of it is then a complete database).
    package func checkpoint() throws {
        try translatingErrors { _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) } }
    }

    /// Runs `body` in one immediate transaction: all of its writes land, or none do.
    package func writeTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try files.checkAttached()
        return try translatingErrors {
            try pool.writeWithoutTransaction { [files] db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    try files.checkAttached()
                    return .commit
                }
                return result!
            }
        }
    }
}
