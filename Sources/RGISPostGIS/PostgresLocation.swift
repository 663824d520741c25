import Foundation
import Logging
import NIOSSL
import PostgresNIO
import RGISCore

/// A `postgresql://user@host:port/database` location, read into what a connection needs. The password
/// never comes from the location (it would end up in shell history, process lists and logs): it is
/// `PGPASSWORD`, or the first matching line of `PGPASSFILE` / `~/.pgpass`, as libpq reads them.
struct PostgresLocation: Sendable, Equatable {
    var user: String
    var host: String
    var port: Int
    var database: String
    /// `sslmode` from the query: `disable`, `prefer` (the default) or `require`.
    var sslMode: String
    /// `pool=transaction`: the location is a pooler in transaction mode (PgBouncer), where one client
    /// connection is served by any server connection, one transaction at a time. RGIS then never cancels
    /// by server process id (it could name another client's transaction): a statement stops at its
    /// deadline by `statement_timeout` alone, which every transaction sets for itself.
    var transactionPooling = false

    /// Whether a location names a PostgreSQL database rather than a file.
    static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
    }

    init(user: String, host: String, port: Int, database: String, sslMode: String = "prefer") {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
    }

    init(parsing location: String) throws {
        guard let url = URLComponents(string: location), let scheme = url.scheme, ["postgresql", "postgres"].contains(scheme) else {
            throw RGISError(.invalidValue, "is not a PostgreSQL location; write postgresql://user@host:5432/database", at: "location")
        }
        if url.password != nil {
            throw RGISError(.invalidValue, "holds a password; give it in PGPASSWORD or ~/.pgpass instead, so that it stays out of process lists and logs",
                            at: "location")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw RGISError(.invalidValue, "names no database; write postgresql://user@host:5432/database", at: "location")
        }
        guard database.count <= 63, database.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw RGISError(.invalidValue, "database name '\(database.prefix(80))' must be at most 63 letters, digits, '_' or '-'", at: "location")
        }
        var sslMode = "prefer"
        var transactionPooling = false
        for item in url.queryItems ?? [] {
            switch item.name {
            case "pool":
                guard let value = item.value, ["session", "transaction"].contains(value) else {
                    throw RGISError(.invalidValue, "pool must be session (a server, the default) or transaction (PgBouncer in transaction mode)", at: "location")
                }
                transactionPooling = value == "transaction"
            case "sslmode":
                guard let value = item.value, ["disable", "prefer", "require"].contains(value) else {
                    throw RGISError(.invalidValue, "sslmode must be disable, prefer or require", at: "location")
                }
                sslMode = value
            default:
                throw RGISError(.invalidValue, "unknown parameter '\(item.name)'; a location takes sslmode and pool", at: "location")
            }
        }
        self.init(user: url.user ?? ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres",
                  host: url.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
                  port: url.port ?? 5432, database: database, sslMode: sslMode)
        self.transactionPooling = transactionPooling
    }

    /// The location as messages and logs show it (it never holds a password).
    var description: String {
        let options = (sslMode == "prefer" ? [] : ["sslmode=\(sslMode)"]) + (transactionPooling ? ["pool=transaction"] : [])
        return "postgresql://\(user)@\(host):\(port)/\(database)" + (options.isEmpty ? "" : "?" + options.joined(separator: "&"))
    }

    /// The same server and user, another database (the maintenance database `postgres`, to create one).
    func database(_ name: String) -> PostgresLocation {
        var copy = self
        copy.database = name
        return copy
    }

    /// The password as libpq finds it: `PGPASSWORD`, else the first `host:port:database:user:password`
    /// line of the password file that matches (`*` matches anything).
    func password(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password = environment["PGPASSWORD"] { return password }
        let file = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        guard !file.isEmpty, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = Self.passFileFields(String(line))
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// A `.pgpass` line's fields: `:` separates, `\` escapes.
    private static func passFileFields(_ line: String) -> [String] {
        var fields: [String] = [], current = "", escaped = false
        for c in line {
            if escaped { current.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == ":" {
                fields.append(current)
                current = ""
            } else { current.append(c) }
        }
        fields.append(current)
        return fields
    }

    /// One connection, made once (no pool, no retries): for `create` and for `open`'s check, so that a
    /// wrong location fails at once with the server's reason.
    func connectOnce(logger: Logger, timeout: TimeAmount = .seconds(10)) async throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "require": .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password(),
                                                             database: database, tls: tls)
        configuration.options.connectTimeout = timeout
        return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
    }

    func clientConfiguration(applicationName: String = "rgis") -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "require": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password(),
                                                         database: database, tls: tls)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        configuration.options.maximumConnections = 16
        return configuration
    }
}
