import Foundation
import RGISCore
import Synchronization

/// PostgreSQL's own client programs (`pg_dump`, `pg_restore`), run with an argument list (no shell)
/// on a thread of their own. libpq in them finds the password as RGIS does (`PGPASSWORD`, `.pgpass`),
/// so none is ever on their command line.
enum ClientProgram {
    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// Runs `program` (found on PATH) to its end.
    static func run(_ program: String, _ arguments: [String]) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [program] + arguments
                var environment = ProcessInfo.processInfo.environment
                environment["PGCONNECT_TIMEOUT"] = environment["PGCONNECT_TIMEOUT"] ?? "10"
                process.environment = environment
                let out = Pipe(), err = Pipe()
                process.standardOutput = out
                process.standardError = err
                process.standardInput = FileHandle.nullDevice
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: RGISError(.io, "\(program) could not be started: \(error.localizedDescription)"))
                    return
                }
                // Both pipes drained while it runs, so that neither fills and stops it.
                let errorText = Mutex(Data())
                let drained = DispatchGroup()
                drained.enter()
                DispatchQueue.global().async {
                    let read = err.fileHandleForReading.readDataToEndOfFile()
                    errorText.withLock { $0 = read }
                    drained.leave()
                }
                let outputText = out.fileHandleForReading.readDataToEndOfFile()
                drained.wait()
                process.waitUntilExit()
                let output = Output(status: process.terminationStatus, standardOutput: String(decoding: outputText, as: UTF8.self),
                                    standardError: String(decoding: errorText.withLock { $0 }, as: UTF8.self))
                if output.status == 127 {
                    continuation.resume(throwing: RGISError(.io, "\(program) is not installed (Debian: apt-get install postgresql-client)"))
                } else {
                    continuation.resume(returning: output)
                }
            }
        }
    }

    /// A libpq connection string for a location: no password (libpq finds it), values quoted.
    static func connectionString(_ place: PostgresLocation) -> String {
        func quoted(_ value: String) -> String { "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }
        return "host=\(quoted(place.host)) port=\(place.port) user=\(quoted(place.user)) dbname=\(quoted(place.database)) sslmode=\(place.sslMode)"
    }

    /// The program's complaint, one line: its last non-empty line of standard error.
    static func reason(_ output: Output) -> String {
        output.standardError.split(whereSeparator: \.isNewline).last.map(String.init) ?? "exit status \(output.status)"
    }
}
