import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// Backups as PostgreSQL makes them: `pg_dump` in its custom format, of one snapshot that RGIS holds
/// open and counts in (`pg_export_snapshot`), so the report's counts are exactly the copy's; writers go
/// on meanwhile. The file appears whole or not at all. `pg_restore` makes a database of it again.
extension PostGISStore {
    public func backup(to path: String, replacing: Bool) async throws -> BackupReport {
        if PostgresLocation.isPostgres(path) {
            if path == location || (try? PostgresLocation(parsing: path)) == place {
                throw RGISError(.invalidValue, "is the database itself; back up to a file", at: path)
            }
            throw RGISError(.invalidValue, "is a PostgreSQL location; a backup is a file (rgis restore FILE LOCATION makes a database of it)", at: path)
        }
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        if FileManager.default.fileExists(atPath: target), !replacing {
            throw RGISError(.conflict, "exists; pass --force to replace it", at: path)
        }
        let directory = (target as NSString).deletingLastPathComponent
        guard FileManager.default.isWritableFile(atPath: directory.isEmpty ? "." : directory) else {
            throw RGISError(.io, "the directory cannot be written to", at: path)
        }
        let partial = target + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: partial)
        let start = Date()
        do {
            var report = try await read { session in
                let snapshot = try await session.rows("SELECT pg_export_snapshot()")[0][0].decode(String.self)
                let report = try await Self.counts(session, path: target)
                let dumped = try await ClientProgram.run("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--snapshot=\(snapshot)",
                                                                     "--file=\(partial)", "--dbname=\(ClientProgram.connectionString(place))"])
                guard dumped.status == 0 else { throw RGISError(.io, "pg_dump failed: \(ClientProgram.reason(dumped))") }
                return report
            }
            report.bytes = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int) ?? 0
            if replacing { try? FileManager.default.removeItem(atPath: target) }
            try FileManager.default.moveItem(atPath: partial, toPath: target)
            report.seconds = Date().timeIntervalSince(start)
            return report
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            if let error = error as? RGISError { throw error.located(path) }
            throw RGISError(.io, "the backup could not be written: \(error.localizedDescription)", at: path)
        }
    }

    /// Rows per layer and the last change event, as one snapshot sees them.
    static func counts(_ session: Session, path: String) async throws -> BackupReport {
        var layers: [(Layer, Int)] = []
        for layer in Layer.allCases {
            layers.append((layer, try await session.int(SQLText("SELECT count(*) FROM \(layer.table)"))))
        }
        let lastEvent = Int64(try await session.int("SELECT COALESCE(max(id), 0) FROM events"))
        return BackupReport(path: path, bytes: 0, seconds: 0, layers: layers, lastEvent: lastEvent)
    }

    /// Makes the database at `location` from a backup `rgis backup` wrote of a PostgreSQL store: checked
    /// first (a `pg_dump` archive holding RGIS's schema), restored in one transaction into a new
    /// database; an existing one is replaced only with `replacing`, and only while nothing is connected
    /// to it. A restore that fails leaves no database behind.
    @discardableResult
    public static func restore(from backup: String, to location: String, replacing: Bool) async throws -> BackupReport {
        let place = try PostgresLocation(parsing: location)
        guard FileManager.default.fileExists(atPath: backup) else { throw RGISError(.notFound, "no such backup file", at: backup) }
        if head(of: backup).starts(with: Array("SQLite format 3".utf8)) {
            throw RGISError(.notAnRGISDatabase, "is a SpatiaLite backup; restore it to a file path, not a PostgreSQL location", at: backup)
        }
        guard isBackup(backup) else {
            throw RGISError(.notAnRGISDatabase, "not a PostgreSQL backup written by rgis backup", at: backup)
        }
        let listed = try await ClientProgram.run("pg_restore", ["--list", backup])
        guard listed.status == 0 else { throw RGISError(.notAnRGISDatabase, "pg_restore cannot read it: \(ClientProgram.reason(listed))", at: backup) }
        guard listed.standardOutput.split(whereSeparator: \.isNewline).contains(where: { $0.contains(" TABLE ") && $0.contains(" rgis_migrations ") }) else {
            throw RGISError(.notAnRGISDatabase, "is a PostgreSQL backup but not of an RGIS database", at: backup)
        }
        let start = Date()
        let maintenance = place.database("postgres")
        var name = SQLText("SELECT count(*) FROM pg_database WHERE datname = ")
        name.bind(place.database)
        let exists = try await scalar(maintenance, name) > 0
        if exists {
            guard replacing else {
                throw RGISError(.conflict, "exists; pass --force to replace it with the backup (stop any server on it first)", at: location)
            }
            if isOpen(place) { throw RGISError(.conflict, "is open in this process; close it before restoring over it", at: location) }
            // Connections a store just let go of close a moment later; any other is a server or command on it.
            var sessions = SQLText("SELECT count(*) FROM pg_stat_activity WHERE datname = ")
            sessions.bind(place.database)
            var connected = try await scalar(maintenance, sessions)
            for _ in 0..<30 where connected > 0 {
                try await Task.sleep(for: .milliseconds(100))
                connected = try await scalar(maintenance, sessions)
            }
            guard connected == 0 else {
                throw RGISError(.conflict, "has \(connected) open connection(s) (a server or another rgis command); stop them before restoring over it", at: location)
            }
            try await execute(maintenance, "DROP DATABASE \"\(place.database)\"")
        }
        try await execute(maintenance, "CREATE DATABASE \"\(place.database)\"")
        let restored = try await ClientProgram.run("pg_restore", ["--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
                                                                  "--dbname=\(ClientProgram.connectionString(place))", backup])
        guard restored.status == 0 else {
            try? await execute(maintenance, "DROP DATABASE IF EXISTS \"\(place.database)\"")
            throw RGISError(.io, "pg_restore failed: \(ClientProgram.reason(restored)); nothing was restored", at: location)
        }
        let store = try await open(location)
        var report = try await store.read { session in try await counts(session, path: location) }
        report.bytes = (try? FileManager.default.attributesOfItem(atPath: backup)[.size] as? Int) ?? 0
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Whether a file is a `pg_dump` archive (what ``backup(to:replacing:)`` writes).
    public static func isBackup(_ path: String) -> Bool { head(of: path).starts(with: Array("PGDMP".utf8)) }

    private static func head(of path: String) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
        defer { try? handle.close() }
        return handle.readData(ofLength: 16)
    }

    /// A count from the maintenance database (names are bound, never spliced).
    private static func scalar(_ place: PostgresLocation, _ q: SQLText) async throws -> Int {
        var value = 0
        try await withConnection(place) { connection, logger in
            let rows = try await connection.query(q.query, logger: logger).collect()
            value = Int(try rows.first?.decode(Int64.self) ?? 0)
        }
        return value
    }

    /// A statement on the maintenance database; a database name in it is one ``PostgresLocation`` checked.
    private static func execute(_ place: PostgresLocation, _ sql: String) async throws {
        try await withConnection(place) { connection, logger in
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }
}
