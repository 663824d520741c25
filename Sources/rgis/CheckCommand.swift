import ArgumentParser
import RGISBackends
import RGISStore

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a database: SQLite integrity, geometry validity and SRID, spatial index consistency.",
        discussion: "Prints every problem found and exits with status 1 if there is any."
    )

    @OptionGroup var target: DatabaseArgument

    func run() async throws {
        try await reportingErrors {
            let problems = try await StoreLocation.open(target.database).check()
            if problems.isEmpty {
                Console.out("\(target.database): ok (integrity, geometry validity, SRID 4326, spatial indexes)\n")
                return
            }
            Console.out(problems.map { "\(target.database): \($0)" }.joined(separator: "\n") + "\n")
            throw ExitCode(1)
        }
    }
}
