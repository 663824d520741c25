import Foundation
import GRDB
import RGISCore

/// An RGIS SpatiaLite database file: WAL mode, one writer and many readers, SpatiaLite on every connection.
public final class RGISDatabase: Sendable {
    /// SQLite's `application_id` header field for RGIS files ("RGIS" in ASCII), so that a file can be
    /// recognised without guessing from table names.
    static let applicationID: Int32 = 0x5247_4953

    public let path: String
    let pool: DatabasePool

    private init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
    }

    /// Creates the file (or upgrades an RGIS file in place) with the SpatiaLite metadata and every layer.
    ///
    /// Throws ``RGISError/Code/notAnRGISDatabase`` for an existing SQLite file that holds tables of some
    /// other application: RGIS never writes into a database it did not create.
    @discardableResult
    public static func create(at path: String) throws -> RGISDatabase {
        let database = try RGISDatabase(path: path, pool: openPool(path))
        try database.translatingErrors {
            if try database.pool.read({ try isRGIS($0) }) == false {
                let foreign = try database.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
                }
                if foreign > 0 { throw notRGIS(path) }
            }
            try Schema.migrate(database.pool)
        }
        return database
    }

    /// Opens an existing RGIS database, applying migrations it lacks.
    public static func open(at path: String) throws -> RGISDatabase {
        guard FileManager.default.fileExists(atPath: path) else {
            throw RGISError(.notFound, "no such database file (create it with `rgis init \(path)`)", at: path)
        }
        let database = try RGISDatabase(path: path, pool: openPool(path))
        try database.translatingErrors {
            guard try database.pool.read({ try isRGIS($0) }) else { throw notRGIS(path) }
            try Schema.migrate(database.pool)
        }
        return database
    }

    private static func notRGIS(_ path: String) -> RGISError {
        RGISError(.notAnRGISDatabase, "not an RGIS database (it was not created by `rgis init`)", at: path)
    }

    private static func openPool(_ path: String) throws -> DatabasePool {
        var configuration = Configuration()
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

    static func isRGIS(_ db: Database) throws -> Bool {
        try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID
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
            throw RGISError(.database, "the database is locked by another writer; try again", at: path)
        } catch let error as DatabaseError {
            throw RGISError(.database, error.message ?? "\(error)", at: path)
        }
    }

    /// Reads in a snapshot (concurrent with writes).
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try translatingErrors { try pool.read(body) }
    }
}
