import ArgumentParser
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "The dated changes of listings and demands that the monthly series read.",
        subcommands: [EventsImportCommand.self]
    )
}

struct EventsImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a market's history: dated price and status changes of stored listings and demands.",
        discussion: """
            CSV with the header \(ChangeHistory.columns.joined(separator: ",")), one change a row:
              listings,L00042,price_change,495000,480000,2026-03-14
              listings,L00042,status_change,active,withdrawn,2026-05-02
              demands,R00007,status_change,active,fulfilled,2026-06-30T09:30:00Z
            kind is price_change (a listing's list price, a demand's budget_max; numbers) or status_change \
            (both statuses named); at is a day or a time, not after today. The records must be stored.

            Writes as an edit does record changes as they happen; this brings in those that happened before \
            (from another system, or the demo city's geodata/events.csv), for `rgis indicators --series`. \
            They are history: saved searches are not notified of them. One transaction: the first bad row \
            stops the import, naming its line and field, and nothing is stored; a row already recorded (same \
            record, kind, values and time) is skipped, so a file imported twice adds nothing.
            """
    )

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "The CSV file.") var file: String

    func run() async throws {
        try await reportingErrors {
            let report = try await StoreLocation.open(target.database).importEvents(from: file)
            Console.out("\(file): \(report.recorded) changes recorded"
                        + (report.alreadyRecorded > 0 ? ", \(report.alreadyRecorded) already recorded" : "") + "\n")
        }
    }
}
