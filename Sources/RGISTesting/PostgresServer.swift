import Foundation

/// A PostgreSQL/PostGIS server for the tests: `RGIS_TEST_POSTGRES_URL` (`postgresql://user@host:port`)
/// when set (tools/test starts one cluster for the whole run), else a throwaway cluster on loopback
/// started on first use by `tools/pgcluster` and stopped when the test process exits. Each store gets a database of its own.
public enum PostgresServer {
    /// The server's base URL (no database), or why there is none.
    public static let base: Result<String, PostgresUnavailable> = {
        if let url = ProcessInfo.processInfo.environment["RGIS_TEST_POSTGRES_URL"], !url.isEmpty { return .success(url) }
        let script = Fixtures.packageRoot.appendingPathComponent("tools/pgcluster").path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rgis-test-pg-\(getpid())").path
        let urlFile = directory + ".url"
        let status = spawnAndWait([script, "start", directory], output: urlFile)
        defer { unlink(urlFile) }
        guard status == 0, let url = try? String(contentsOfFile: urlFile, encoding: .utf8) else {
            return .failure(PostgresUnavailable(reason: "tools/pgcluster start \(directory) failed (status \(status)); is postgresql-15-postgis-3 installed?"))
        }
        startedCluster = (script, directory)
        atexit {
            if let (script, directory) = PostgresServer.startedCluster { _ = PostgresServer.spawnAndWait([script, "stop", directory], output: "/dev/null") }
        }
        return .success(url.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    /// Runs a program to its end, its standard output into a file, and returns its exit status.
    /// posix_spawn and waitpid on that one child: neither Foundation's Process (which did not see the
    /// script end once the server it started, a grandchild, was up) nor system(3), which blocks
    /// SIGCHLD while it waits and so let Foundation miss the end of other tests' processes.
    static func spawnAndWait(_ arguments: [String], output: String) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return -1 }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

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

/// A PgBouncer in transaction pooling mode in front of the tests' server (``PostgresServer``):
/// `RGIS_TEST_PGBOUNCER_URL` when set (tools/test starts one for the whole run and stops it after),
/// else one started by `tools/pgbouncer` on a free port and stopped when the test process exits.
public enum PgBouncer {
    /// Its base URL (no database), or why there is none.
    public static let base: Result<String, PostgresUnavailable> = {
        if let url = ProcessInfo.processInfo.environment["RGIS_TEST_PGBOUNCER_URL"], !url.isEmpty { return .success(url) }
        let server: String
        switch PostgresServer.base {
        case .success(let url): server = url
        case .failure(let reason): return .failure(reason)
        }
        let script = Fixtures.packageRoot.appendingPathComponent("tools/pgbouncer").path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rgis-test-pgbouncer-\(getpid())").path
        let urlFile = directory + ".url"
        let status = PostgresServer.spawnAndWait([script, "start", directory, server], output: urlFile)
        defer { unlink(urlFile) }
        guard status == 0, let url = try? String(contentsOfFile: urlFile, encoding: .utf8) else {
            return .failure(PostgresUnavailable(reason: "tools/pgbouncer start \(directory) failed (status \(status)); is pgbouncer installed?"))
        }
        started = (script, directory)
        atexit {
            if let (script, directory) = PgBouncer.started { _ = PostgresServer.spawnAndWait([script, "stop", directory], output: "/dev/null") }
        }
        return .success(url.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    nonisolated(unsafe) static var started: (script: String, directory: String)?
}
