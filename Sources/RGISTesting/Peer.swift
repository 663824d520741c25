import Foundation
import RGISCore

/// A protocol peer the tests start (`tools/peers/*.py` in the project's venv): an SMTP sink, a webhook
/// receiver. It prints `PORT n` first; its log is one JSON object per line.
public final class Peer: @unchecked Sendable {
    public let port: Int
    public let log: String
    private let process: Process
    /// The peer's standard output, open for its life (so that a later line cannot fail on a closed pipe).
    private let out = Pipe()

    public init(_ script: String, _ arguments: [String], log: String) throws {
        let python = Fixtures.packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw RGISError(.notFound, "the project's venv (.venv, made by tools/setup) is needed for \(script)")
        }
        self.log = log
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Fixtures.packageRoot.appendingPathComponent("tools/peers/\(script)").path, "--port", "0", "--log", log] + arguments
        process.standardOutput = out
        process.standardError = Fixtures.devNull()
        try process.run()
        var seen = ""
        while !seen.contains("\n") {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
        }
        guard seen.hasPrefix("PORT "), let port = Int(seen.dropFirst(5).prefix { $0.isNumber }) else {
            process.terminate()
            throw RGISError(.io, "\(script) did not start: \(seen)")
        }
        self.port = port
    }

    /// The log's entries so far.
    public func entries() throws -> [JSONValue] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
    }

    public func stop() {
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { process.terminate() } }
}
