import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISStore

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a database consistently while it is served and written.",
        discussion: """
            The copy holds exactly the rows committed when it began (one read snapshot, SQLite's \
            VACUUM INTO); writers and readers go on meanwhile. It is written beside OUT, checked \
            (SQLite's integrity check) and then renamed to OUT, so OUT is never half written. \
            Restore it with `rgis restore OUT DB`.

            On PostgreSQL the copy is pg_dump's custom format, of one snapshot that rgis holds open \
            and counts in (so the counts it prints are the copy's); pg_dump must be installed.

            Example: rgis backup city.sqlite backups/city-2026-12-02.sqlite
            Example: rgis backup postgresql://rgis@db:5432/city backups/city-2026-12-02.pgdump
            """
    )

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "The backup file to write.") var out: String
    @Flag(help: "Replace OUT if it exists.") var force = false

    func run() async throws {
        try await reportingErrors {
            let report = try await StoreLocation.open(target.database).backup(to: out, replacing: force)
            Console.out(BackupCommand.describe(report, verb: "backed up"))
        }
    }

    static func describe(_ report: BackupReport, verb: String) -> String {
        let counts = report.layers.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
        return "\(report.path): \(verb), \(report.bytes / 1024) KiB in \(String(format: "%.2f", report.seconds)) s (\(counts); changes up to event \(report.lastEvent))\n"
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup in place of a database.",
        discussion: """
            The backup is checked (an RGIS file, SQLite's integrity check) before anything is touched, \
            copied beside DB and renamed over it; an older backup is upgraded to the current schema. \
            Stop any server on DB first. Without --force an existing DB is left alone.

            A PostgreSQL backup is restored by pg_restore into a new database at a postgresql:// \
            location, in one transaction (a failed restore leaves no database); with --force an \
            existing one is dropped first, refused while anything is connected to it.

            Example: rgis restore backups/city-2026-12-02.sqlite city.sqlite --force
            Example: rgis restore backups/city-2026-12-02.pgdump postgresql://rgis@db:5432/city
            """
    )

    @Argument(help: "The backup file (written by rgis backup).") var backup: String
    @Argument(help: "The database to restore into: a file, or a postgresql:// location for a PostgreSQL backup.") var database: String
    @Flag(help: "Replace DB if it exists.") var force = false

    func run() async throws {
        try await reportingErrors {
            let report = try await StoreLocation.restore(from: backup, to: database, replacing: force)
            Console.out(BackupCommand.describe(report, verb: "restored from \(backup)"))
        }
    }
}
