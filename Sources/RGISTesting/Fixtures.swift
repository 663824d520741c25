import Foundation
import RGISCore
import RGISFiles
import RGISSpatiaLite
import RGISStore

/// Paths and helpers shared by the test targets.
public enum Fixtures {
    /// The package's root directory.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/geodata` beside the checkout (or `RGIS_SHARED_GEODATA`): real open data, read in place.
    public static let sharedGeodata: URL = {
        if let path = ProcessInfo.processInfo.environment["RGIS_SHARED_GEODATA"] {
            return URL(fileURLWithPath: path)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/geodata")
    }()

    public static func shared(_ relativePath: String) -> String {
        sharedGeodata.appendingPathComponent(relativePath).path
    }

    /// The demo city's source files, committed in `geodata/`.
    public static func demo(_ name: String) -> String {
        packageRoot.appendingPathComponent("geodata").appendingPathComponent(name).path
    }

    /// Runs `tools/<script>` (an independent oracle) under Debian's /usr/bin/python3, which sees
    /// python3-pyproj and python3-shapely, with `--rgis`, `--geodata` and a fresh `--workdir` added.
    public static func runOracle(_ script: String, _ arguments: [String]) async throws -> ProcessResult {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw RGISError(.notFound, "Debian's /usr/bin/python3 with python3-pyproj and python3-shapely is needed (tools/setup)")
        }
        let dir = try temporaryDirectory()
        defer { dir.remove() }
        return try await run(python, [packageRoot.appendingPathComponent("tools/\(script)").path] + arguments
                       + ["--rgis", rgisExecutable, "--geodata", sharedGeodata.path, "--workdir", dir.path("oracle")])
    }

    /// The built `rgis` executable: `RGIS_BIN`, else next to the test bundle, else `.build/debug/rgis`.
    public static let rgisExecutable: String = {
        if let path = ProcessInfo.processInfo.environment["RGIS_BIN"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rgis").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot.appendingPathComponent(".build/debug/rgis").path
    }()

    /// A new handle on /dev/null for a child process's standard streams. Never the shared
    /// `Fixtures.devNull()`: a launch may close it in this process, and its descriptor number, reused
    /// by a socket, would be closed again by the next launch.
    public static func devNull() -> FileHandle {
        FileHandle(forUpdatingAtPath: "/dev/null")!
    }

    /// A fresh temporary directory, removed by the caller with ``TemporaryDirectory/remove()``.
    public static func temporaryDirectory() throws -> TemporaryDirectory {
        try TemporaryDirectory()
    }
}

/// A directory under the system's temporary folder, unique per call.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rgis-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to a file in the directory and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// A new RGIS database in the directory.
    public func database(_ name: String = "test.sqlite") throws -> RGISDatabase {
        try RGISDatabase.create(at: path(name))
    }

    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// The result of running a program.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs a program to completion and captures its output (through files, so that large outputs cannot
/// block), blocking the calling thread: for initialisers that cannot wait. Async tests use ``run(_:_:stdin:)``.
public func runBlocking(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    _ = FileManager.default.createFile(atPath: dir.path("out"), contents: nil)
    _ = FileManager.default.createFile(atPath: dir.path("err"), contents: nil)
    let out = try FileHandle(forWritingTo: dir.url.appendingPathComponent("out"))
    let err = try FileHandle(forWritingTo: dir.url.appendingPathComponent("err"))
    process.standardOutput = out
    process.standardError = err
    if let stdin {
        try dir.write("in", stdin)
        process.standardInput = try FileHandle(forReadingFrom: dir.url.appendingPathComponent("in"))
    } else {
        process.standardInput = Fixtures.devNull()
    }
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: try String(contentsOfFile: dir.path("out"), encoding: .utf8),
        stderr: try String(contentsOfFile: dir.path("err"), encoding: .utf8)
    )
}

/// Runs a program to completion, waited for on a thread of its own: waiting on Swift's cooperative
/// pool (two threads on two cores) would hold one of its threads for as long as the child runs, and
/// the whole suite's in-process servers and deadlines would starve meanwhile.
public func run(_ executable: String, _ arguments: [String], stdin: String? = nil) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try runBlocking(executable, arguments, stdin: stdin) }) }.start()
    }
}

/// Runs the `rgis` executable (off the cooperative pool, as ``run(_:_:stdin:)``).
public func rgis(_ arguments: String..., stdin: String? = nil) async throws -> ProcessResult {
    try await run(Fixtures.rgisExecutable, arguments, stdin: stdin)
}

/// Runs the `rgis` executable, blocking the calling thread: for initialisers that cannot wait.
public func rgisBlocking(_ arguments: String..., stdin: String? = nil) throws -> ProcessResult {
    try runBlocking(Fixtures.rgisExecutable, arguments, stdin: stdin)
}

/// Finds a program on PATH.
public func which(_ program: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(program)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// `rgis serve` running in a child process on a free port, for clients that need a socket.
public final class ServerProcess: @unchecked Sendable {
    public let url: String
    private let process: Process
    /// Kept for the server's life: a readability handler must not outlive its descriptor, whose number
    /// would then be another's (a socket's) and be read from or closed under it.
    private let errors = Pipe()

    /// Starts the server and waits for its "serving … at http://host:port/" line.
    public init(database: String, apiKey: String? = nil, arguments extra: [String] = []) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Fixtures.rgisExecutable)
        process.arguments = ["serve", database, "--port", "0"] + (apiKey.map { ["--api-key", $0] } ?? []) + extra
        process.standardError = errors
        process.standardOutput = Fixtures.devNull()
        try process.run()
        var seen = ""
        var found: String?
        let deadline = Date().addingTimeInterval(60)
        while found == nil, Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let range = seen.range(of: #"at (http://[0-9.]+:[0-9]+)/"#, options: .regularExpression) {
                found = String(seen[range].dropFirst(3).dropLast())
            }
        }
        guard let found else {
            process.terminate()
            throw RGISError(.io, "rgis serve did not start: \(seen)")
        }
        url = found
        // Keep draining the log so the server never blocks on a full pipe.
        errors.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
    }

    /// The server's process, for a test that kills it.
    public var pid: Int32 { process.processIdentifier }

    public func stop() {
        process.terminate()
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
    }

    deinit { errors.fileHandleForReading.readabilityHandler = nil }
}

extension RGISDatabase {
    /// Imports a file of `../shared/geodata` into a layer, with the options its tests use.
    @discardableResult
    public func loadShared(_ file: String, into layer: Layer, idField: String? = nil, map: String? = nil,
                           radiusMetres: Double? = nil) throws -> ImportReport {
        var options = ImportOptions(layer: layer)
        options.idField = idField
        options.defaultRadiusMetres = radiusMetres
        if let map { options.mapping = try FieldMapping(parsing: map, for: layer) }
        return try importFeatures(from: Fixtures.shared(file), options: options)
    }

    /// Imports every layer of the demo city in `geodata/`.
    public func loadDemoCity() throws {
        for layer in Layer.allCases {
            _ = try importFeatures(from: Fixtures.demo("\(layer.rawValue).geojson"), options: ImportOptions(layer: layer))
        }
    }
}
