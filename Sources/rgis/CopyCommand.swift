import ArgumentParser
import Foundation
import RGISBackends
import RGISCore

struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a whole database to another backend: a SpatiaLite file to PostgreSQL or back.",
        discussion: """
            Carries every record with its id: the layers, dated changes, clients and their contacts, \
            listings' private fields, the archive with both its times and its lineage, users with \
            their token hashes (tokens keep working) and the audit log, saved searches, webhook \
            receivers and the outbox with each delivery's state. What a store derives from these \
            (district placements, map pixels, market series stamps, layer statistics) is rebuilt by \
            the target as the rows arrive. Idempotency keys (a day's retry cache) are not carried.

            SRC is read from one snapshot, so it may be served and written meanwhile; the copy holds \
            what was committed when it began. DST must be new: a file that does not exist, or a \
            PostgreSQL database that is missing (it is created, as by rgis init) or holds no record. \
            A file is written beside DST and renamed into place once complete and checked; a \
            PostgreSQL database is loaded in one transaction. Killed part-way, DST holds nothing of \
            the copy. At the end the rows of every table are counted at both ends and must agree.

            Example: rgis copy city.sqlite postgresql://rgis@db:5432/city
            Example: rgis copy postgresql://rgis@db:5432/city city-copy.sqlite
            """
    )

    @Argument(help: "The database to copy: a SpatiaLite file or a postgresql:// location.") var source: String
    @Argument(help: "The new database: a file that does not exist, or a postgresql:// location with no records.") var target: String

    func run() async throws {
        try await reportingErrors {
            let report = try await StoreLocation.copy(from: source, to: target) { table, rows in
                Console.progress(fraction: nil, detail: "\(table): \(rows) rows")
            }
            Console.endProgress()
            let carried = report.rows.filter { $0.rows > 0 }.map { "\($0.table) \($0.rows)" }.joined(separator: ", ")
            let total = report.rows.reduce(0) { $0 + $1.rows }
            Console.out("\(report.target): copied from \(report.source), \(total) rows in \(String(format: "%.2f", report.seconds)) s; every table's count agrees at both ends (\(carried))\n")
        }
    }
}
