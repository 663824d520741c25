import Foundation

/// A PostgreSQL/PostGIS server for the tests: `RGIS_TEST_POSTGRES_URL` (`postgresql://user@host:port`)
/// when set, else a throwaway cluster on loopback started on first use by `tools/pgcluster` and
/// stopped when the test process exits. Each store gets a database of its own.
public enum PostgresServer {
    /// The server's base URL (no database), or why there is none.
    public static let base: Result<String, PostgresUnavailable> = {
        if let url = ProcessInfo.processInfo.environment["RGIS_TEST_POSTGRES_URL"], !url.isEmpty { return .success(url) }
        let script = Fixtures.packageRoot.appendingPathComponent("tools/pgcluster").path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rgis-test-pg-\(getpid())").path
        // system(3), not Process: Foundation's Process did not see the script end once the server it
        // started (a grandchild that keeps running) was up. The paths are the package's and a temporary one.
        let urlFile = directory + ".url"
        let status = system("'\(script)' start '\(directory)' > '\(urlFile)'")
        defer { unlink(urlFile) }
        guard status == 0, let url = try? String(contentsOfFile: urlFile, encoding: .utf8) else {
            return .failure(PostgresUnavailable(reason: "tools/pgcluster start \(directory) failed (status \(status)); is postgresql-15-postgis-3 installed?"))
        }
        startedCluster = (script, directory)
        atexit {
            if let (script, directory) = PostgresServer.startedCluster { _ = system("'\(script)' stop '\(directory)'") }
        }
        return .success(url.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    nonisolated(unsafe) static var startedCluster: (script: String, directory: String)?

    /// A location for a new database on the server (created by `StoreLocation.create`).
    public static func newDatabase(_ name: String) throws -> String {
        let base = try base.get()
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let safe = name.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(20)
        return "\(base)/t_\(safe)_\(suffix)?sslmode=disable"
    }
}

public struct PostgresUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "no PostgreSQL for the tests: \(reason)" }
}
