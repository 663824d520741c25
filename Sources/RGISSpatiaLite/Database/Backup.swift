import Foundation
import GRDB
import RGISCore
import RGISStore

extension RGISDatabase {
    /// A consistent copy of the database while it is read and written: `VACUUM INTO` on a reader
    /// connection copies one read snapshot (the rows committed when it began, none after) into a
    /// temporary file beside `path`, which is checked (SQLite's integrity check, the RGIS header) and
    /// then renamed into place, so that `path` is never a half-written file. Writers go on meanwhile
    /// (WAL mode); nothing is locked.
    public func backup(to path: String, replacing: Bool = false) throws -> BackupReport {
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        try refuseOwnFile(path, as: "back up to")
        if FileManager.default.fileExists(atPath: target) {
            guard replacing else { throw RGISError(.conflict, "exists; pass --force to replace it", at: path) }
        }
        let directory = (target as NSString).deletingLastPathComponent
        guard FileManager.default.isWritableFile(atPath: directory.isEmpty ? "." : directory) else {
            throw RGISError(.io, "the directory cannot be written to", at: path)
        }
        let partial = target + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: partial)
        let start = Date()
        do {
            try translatingErrors {
                try pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [partial]) }
            }
            let report = try Self.inspectCopy(partial, reportedAs: target)
            if replacing { try? FileManager.default.removeItem(atPath: target) }
            try FileManager.default.moveItem(atPath: partial, toPath: target)
            var done = report
            done.seconds = Date().timeIntervalSince(start)
            return done
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            if let error = error as? RGISError { throw error.located(path) }
            throw RGISError(.io, "the backup could not be written: \(error.localizedDescription)", at: path)
        }
    }

    /// Puts a backup in place of `path` (which must not be served meanwhile): the backup is checked
    /// first (an RGIS file, SQLite's integrity check), copied beside `path` and renamed over it, with
    /// the old file's WAL and shared-memory files removed; then opened, which upgrades an older backup.
    @discardableResult
    public static func restore(from backup: String, to path: String, replacing: Bool = false) throws -> BackupReport {
        switch try FileKind(inspecting: backup) {
        case .absent: throw RGISError(.notFound, "no such backup file", at: backup)
        case .notSQLite: throw RGISError(.notAnRGISDatabase, "not a SQLite database", at: backup)
        case .blank, .foreign: throw RGISError(.notAnRGISDatabase, "not an RGIS database (not written by `rgis backup` or `rgis init`)", at: backup)
        case .newer: throw RGISDatabase.newerRGIS(backup)
        case .rgis: break
        }
        var report = try inspectCopy(backup, reportedAs: backup)
        if FileManager.default.fileExists(atPath: path) {
            guard replacing else { throw RGISError(.conflict, "exists; pass --force to replace it with the backup (stop any server on it first)", at: path) }
            // Replacing a file that a process has open would leave that process writing into the old
            // file and its log, which nobody else reads: its acknowledged writes would be lost.
            if alreadyOpen(path) != nil {
                throw RGISError(.conflict, "is open in this process; close it before restoring over it", at: path)
            }
            if let holder = DatabaseFiles.openedElsewhere(path) {
                throw RGISError(.conflict, "is open in process \(holder) (a server or another rgis command); stop it before restoring over the file", at: path)
            }
        }
        let start = Date()
        let partial = path + ".restoring-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try FileManager.default.copyItem(atPath: backup, toPath: partial)
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            if replacing { try? FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw RGISError(.io, "could not be restored: \(error.localizedDescription)", at: path)
        }
        _ = try RGISDatabase.open(at: path)
        report.path = path
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// Opens a copy read-only and checks it: SQLite's integrity check and the RGIS header; its counts.
    private static func inspectCopy(_ copy: String, reportedAs name: String) throws -> BackupReport {
        var configuration = Configuration()
        configuration.readonly = true
        let queue: DatabaseQueue
        do { queue = try DatabaseQueue(path: copy, configuration: configuration) } catch {
            throw RGISError(.database, "the copy cannot be opened: \(error)", at: name)
        }
        defer { try? queue.close() }
        return try queue.read { db in
            let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard problems == ["ok"] else {
                throw RGISError(.database, "the copy fails SQLite's integrity check: \(problems.prefix(3).joined(separator: "; "))", at: name)
            }
            guard try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID else {
                throw RGISError(.notAnRGISDatabase, "the copy is not an RGIS database", at: name)
            }
            let layers = try Layer.allCases.map { ($0, try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0.table)") ?? 0) }
            let lastEvent = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM events") ?? 0
            let bytes = (try? FileManager.default.attributesOfItem(atPath: copy)[.size] as? Int) ?? 0
            return BackupReport(path: name, bytes: bytes, seconds: 0, layers: layers, lastEvent: lastEvent)
        }
    }
}
