import Foundation
import Logging
import Synchronization
import PostgresNIO
import RGISCore
import RGISStore

/// The store on a PostgreSQL database with PostGIS: every layer a table with a `geometry` column in
/// EPSG:4326 and GiST indexes on it and on its `geography` (metres on the ellipsoid), read and written
/// through postgres-nio's pooled client. Opening never runs DDL (``PostGISSchema`` is applied by
/// `create`, which `rgis init` calls), so a server can start against a read-only standby.
public final class PostGISStore: Sendable {
    /// The location as given (without a password: a location never holds one).
    public let location: String
    let place: PostgresLocation
    let client: PostgresClient
    /// A hot standby of the same database that requests read from (``StoreReads``), if one is given.
    let standby: Standby?
    let logger = Logger(label: "rgis.postgis")
    private let backendPIDs = Mutex<[ConnectionKey: Int32]>([:])
    /// The ETag key, once read (``etagKey()``).
    let secrets = Mutex<Data?>(nil)
    private let runners: [Task<Void, Never>]

    struct Standby: Sendable {
        let place: PostgresLocation
        let client: PostgresClient
        let health = StandbyHealth()
    }

    /// A pooled connection, by pool: each pool numbers its connections from one.
    private struct ConnectionKey: Hashable {
        let standby: Bool
        let id: PostgresConnection.ID
    }

    private init(place: PostgresLocation, standbyPlace: PostgresLocation?) {
        self.place = place
        location = place.description
        let client = PostgresClient(configuration: place.clientConfiguration())
        self.client = client
        var runners = [Task.detached { await client.run() }]
        if let standbyPlace {
            let standbyClient = PostgresClient(configuration: standbyPlace.clientConfiguration())
            let standby = Standby(place: standbyPlace, client: standbyClient)
            self.standby = standby
            runners.append(Task.detached { await standbyClient.run() })
            runners.append(Task.detached { [logger] in await standby.health.watch(standbyPlace, logger: logger) })
        } else {
            standby = nil
        }
        self.runners = runners
    }

    deinit { runners.forEach { $0.cancel() } }

    /// Whether a location names a PostgreSQL database (`postgresql://…`).
    public static func handles(_ location: String) -> Bool { PostgresLocation.isPostgres(location) }

    /// A store held weakly, so that one nobody holds any more closes its pool.
    private struct Held { weak var store: PostGISStore? }
    private static let opened = Mutex<[String: Held]>([:])

    /// Whether a store on `place` is open in this process.
    static func isOpen(_ place: PostgresLocation) -> Bool {
        opened.withLock { $0[place.description]?.store != nil }
    }

    /// The store at `location`, which must hold the current schema (checked on one connection first, so
    /// that a wrong location fails at once); the same store for the same location within a process.
    public static func open(_ location: String) async throws -> PostGISStore {
        try await open(location, readingFrom: nil)
    }

    /// The store at `location`, whose requests read from the hot standby at `standbyLocation` (a
    /// streaming replica of the same cluster, checked: in recovery, with the primary's system
    /// identifier, holding the current schema). Writes, and the reads of the notifier, the CLI and
    /// maintenance, go to the primary.
    public static func open(_ location: String, readingFrom standbyLocation: String?) async throws -> PostGISStore {
        let place = try PostgresLocation(parsing: location)
        var primarySystem: Int64 = 0
        try await withConnection(place) { connection, logger in
            try await PostGISSchema.check(connection, location: place.description, logger: logger)
            primarySystem = try await systemIdentifier(connection, logger: logger)
        }
        guard let standbyLocation else { return shared(place, standby: nil) }
        let standby = try PostgresLocation(parsing: standbyLocation)
        try await withConnection(standby) { connection, logger in
            try await PostGISSchema.check(connection, location: standby.description, logger: logger)
            let inRecovery = try await connection.query("SELECT pg_is_in_recovery()", logger: logger).collect()[0].decode(Bool.self)
            guard inRecovery else {
                throw RGISError(.invalidValue, "is not a standby (it accepts writes); --read-url names a hot standby of the primary", at: standby.description)
            }
            guard try await systemIdentifier(connection, logger: logger) == primarySystem else {
                throw RGISError(.invalidValue, "is a standby of another cluster than \(place.description); --read-url names a hot standby of the primary", at: standby.description)
            }
        }
        return shared(place, standby: standby)
    }

    private static func systemIdentifier(_ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await connection.query("SELECT system_identifier FROM pg_control_system()", logger: logger).collect()[0].decode(Int64.self)
    }

    /// Creates the database if the server lacks it, then PostGIS and every migration not yet applied.
    /// Refuses a database that holds another application's tables.
    public static func create(_ location: String) async throws -> PostGISStore {
        let place = try PostgresLocation(parsing: location)
        do {
            try await withConnection(place) { _, _ in }
        } catch let error as RGISError where error.code == .notFound {
            // No such database: made through the maintenance database. The name is one PostgresLocation
            // checked (letters, digits, '_', '-'), quoted as an identifier.
            try await withConnection(place.database("postgres")) { connection, logger in
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(place.database)\""), logger: logger)
            }
        }
        try await withConnection(place) { connection, logger in
            try await PostGISSchema.migrate(connection, location: place.description, logger: logger)
        }
        return shared(place, standby: nil)
    }

    private static func shared(_ place: PostgresLocation, standby: PostgresLocation?) -> PostGISStore {
        let key = place.description + (standby.map { " reading from " + $0.description } ?? "")
        return opened.withLock { stores in
            if let store = stores[key]?.store { return store }
            let store = PostGISStore(place: place, standbyPlace: standby)
            stores[key] = Held(store: store)
            return store
        }
    }

    /// One connection of its own for `body`, closed after; the driver's errors as ``RGISError``.
    static func withConnection(_ place: PostgresLocation,
                                       _ body: (PostgresConnection, Logger) async throws -> Void) async throws {
        let logger = Logger(label: "rgis.postgis")
        do {
            let connection = try await place.connectOnce(logger: logger)
            do {
                try await body(connection, logger)
                try? await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch let error as PSQLError {
            throw translate(error, place: place)
        }
    }

    // MARK: Running statements

    /// Runs a statement on the primary (a write) and discards its rows.
    func run(_ q: SQLText) async throws {
        _ = try await primaryRows(q, recording: true)
    }

    /// Runs a statement and returns its rows. Under a deadline, in a transaction of its own, which
    /// carries the deadline's `statement_timeout`. In a request, on the standby when there is one (see
    /// ``onStandby(_:)``); a statement that writes after all is refused there (25006) before it changes
    /// anything, and runs on the primary.
    func rows(_ q: SQLText) async throws -> [PostgresRandomAccessRow] {
        do {
            if let rows = try await onStandby({ session in try await session.rows(q) }) { return rows }
        } catch let error as RGISError where error.reason.hasSuffix("(25006)") {
            return try await primaryRows(q, recording: true)
        }
        return try await primaryRows(q, recording: false)
    }

    /// A lookup by key in a small table (a setting, a secret, the market's stamp), which cannot run
    /// long: one round trip, outside the deadline's transaction (whose `statement_timeout` costs three
    /// more). Cancelling the task still stops it.
    func lookup(_ q: SQLText) async throws -> [PostgresRandomAccessRow] {
        try await StoreDeadline.$instant.withValue(nil) { try await rows(q) }
    }

    /// `recording`: the statement writes, and its commit position is noted (``StoreReads/written``).
    private func primaryRows(_ q: SQLText, recording: Bool) async throws -> [PostgresRandomAccessRow] {
        try await withConnection { session in
            let rows = StoreDeadline.instant == nil ? try await session.rows(q)
                : try await transaction(on: session, readOnly: false) { session in try await session.rows(q) }
            if recording { try await recordWritePosition(session) }
            return rows
        }
    }

    func strings(_ q: SQLText) async throws -> [String] {
        try await rows(q).map { try $0[0].decode(String.self) }
    }

    func int(_ q: SQLText) async throws -> Int {
        guard let row = try await rows(q).first else { return 0 }
        return try translating { Int(try row[0].decode(Int64?.self) ?? 0) }
    }

    /// Runs `body` in one transaction on one connection: committed when it returns, rolled back when it
    /// throws. `readOnly`: `REPEATABLE READ READ ONLY`, one snapshot for every statement in it.
    ///
    /// Under a deadline (``StoreDeadline``), each statement's `statement_timeout` is the time left
    /// (`SET LOCAL`, so it ends with the transaction and a pooled or PgBouncer connection keeps no
    /// setting): the server stops the statement by itself even if this process is gone. Such a
    /// transaction (a request's) runs on one backend, with no parallel workers.
    func transaction<T: Sendable>(readOnly: Bool = false, _ body: (Session) async throws -> T) async throws -> T {
        if readOnly, let value = try await onStandby({ session in try await self.transaction(on: session, readOnly: true, body) }) {
            return value
        }
        return try await withConnection { session in
            let value = try await transaction(on: session, readOnly: readOnly, body)
            if !readOnly { try await recordWritePosition(session) }
            return value
        }
    }

    private func transaction<T: Sendable>(on session: Session, readOnly: Bool, _ body: (Session) async throws -> T) async throws -> T {
        try await session.run(SQLText(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"))
        do {
            if let milliseconds = try StoreDeadline.remainingMilliseconds() {
                // A request's statements also run without parallel workers: starting them costs more than
                // a request's statement saves (a dense box's count: 60 ms with two workers, 22 ms without),
                // and on a busy server they take the cores other requests are waiting for.
                var timeout = SQLText("SELECT set_config('statement_timeout', ")
                timeout.bind(String(milliseconds))
                timeout.sql(", true), set_config('max_parallel_workers_per_gather', '0', true)")
                try await session.run(timeout)
            }
            let value = try await body(session)
            try await session.run("COMMIT")
            return value
        } catch {
            try? await session.run("ROLLBACK")
            throw error
        }
    }

    /// A pooled connection for `body`. The driver does not stop a running statement when its task is
    /// cancelled, so a cancelled task asks the server to (`pg_cancel_backend` of the connection's
    /// backend, from another connection) and the call throws `CancellationError`.
    func withConnection<T: Sendable>(_ body: (Session) async throws -> T) async throws -> T {
        try await withConnection(on: nil, body)
    }

    /// A pooled connection of the primary's pool, or of the standby's.
    func withConnection<T: Sendable>(on standby: Standby?, _ body: (Session) async throws -> T) async throws -> T {
        try Task.checkCancellation()
        let (client, place) = standby.map { ($0.client, $0.place) } ?? (client, place)
        do {
            return try await translating {
                try await client.withConnection { connection in
                    let session = Session(connection: connection, logger: logger, place: place)
                    // Behind a transaction pooler a process id names whichever server connection served
                    // the last statement: the deadline's statement_timeout alone stops the statement.
                    if place.transactionPooling { return try await body(session) }
                    let pid = try await backendPID(session, standby: standby != nil)
                    // The cancel is sent from another task; the connection goes back to the pool only once
                    // it has been delivered, so that a late cancel never stops the next caller's statement.
                    let cancelling = Mutex<Task<Void, Never>?>(nil)
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await withTaskCancellationHandler {
                            try await body(session)
                        } onCancel: { [client] in
                            cancelling.withLock { $0 = Task { _ = try? await client.query("SELECT pg_cancel_backend(\(pid))") } }
                        })
                    } catch {
                        result = .failure(error)
                    }
                    if let cancel = cancelling.withLock({ $0 }) { await cancel.value }
                    return try result.get()
                }
            }
        } catch where Task.isCancelled {
            throw CancellationError()
        }
    }

    /// The server process behind a pooled connection, asked once per connection.
    private func backendPID(_ session: Session, standby: Bool) async throws -> Int32 {
        let key = ConnectionKey(standby: standby, id: session.connection.id)
        if let pid = backendPIDs.withLock({ $0[key] }) { return pid }
        let pid = try await session.rows("SELECT pg_backend_pid()")[0][0].decode(Int32.self)
        backendPIDs.withLock { $0[key] = pid }
        return pid
    }

    /// Several statements that must see one snapshot.
    func read<T: Sendable>(_ body: (Session) async throws -> T) async throws -> T {
        try await transaction(readOnly: true, body)
    }

    /// Turns the driver's errors into ``RGISError``: a cancelled statement into `.unavailable`, a unique
    /// key into `.conflict`, a check into `.invalidValue`, a connection that fails into `.unavailable`.
    /// The SQLSTATE is kept in the reason; a password never appears (it is not in the location).
    func translating<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw translate(error)
        } catch let error as PostgresDecodingError {
            throw Self.translate(error)
        }
    }

    func translating<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PSQLError {
            throw translate(error)
        } catch let error as PostgresDecodingError {
            throw Self.translate(error)
        }
    }

    func translate(_ error: PSQLError) -> RGISError { Self.translate(error, place: place) }

    /// A column read as the wrong type: a fault of this code, named by column and types (never the value).
    static func translate(_ error: PostgresDecodingError) -> RGISError {
        RGISError(.database, "column \(error.columnName) (\(error.columnIndex)) could not be read: \(error.postgresType) as \(error.targetType)")
    }

    static func translate(_ error: PSQLError, place: PostgresLocation) -> RGISError {
        if let info = error.serverInfo {
            let state = info[.sqlState] ?? "?????"
            let message = info[.message] ?? "refused"
            let detail = info[.detail].map { " (\($0))" } ?? ""
            switch state {
            case "57014": return RGISError(.unavailable, "the query ran past its deadline and was cancelled by PostgreSQL (57014)")
            case "23505": return RGISError(.conflict, "\(message)\(detail) (23505)")
            case "22021", "22P05":
                return RGISError(.invalidValue, "the text holds a character PostgreSQL cannot store (such as NUL): \(message) (\(state))")
            case "23514", "23502", "22P02", "22023", "22003":
                return RGISError(.invalidValue, "\(message)\(detail) (\(state))")
            case "XX000" where message.lowercased().contains("geometry"):
                return RGISError(.invalidValue, "\(message)\(detail) (\(state))")
            case "RG001": return RGISError(.notAnRGISDatabase, "\(message); choose an empty database or a new name", at: place.description)
            case "3D000": return RGISError(.notFound, "no database there: \(message) (3D000); rgis init creates it", at: place.description)
            case "28P01", "28000":
                return RGISError(.unavailable, "\(message) at \(place.description) (\(state))")
            case "25006": return RGISError(.unavailable, "the database is read-only here (a standby); writes go to the primary (25006)")
            default: return RGISError(.database, "\(message)\(detail) (\(state))")
            }
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .sslUnsupported, .failedToAddSSLHandler,
             .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            let cause = error.underlying.map { ": \($0)" } ?? ""
            return RGISError(.unavailable, "cannot reach PostgreSQL at \(place.host):\(place.port)\(cause)")
        case .queryCancelled:
            return RGISError(.unavailable, "the query was cancelled")
        default:
            return RGISError(.database, "PostgreSQL: \(error.code)")
        }
    }
}

/// One connection inside a transaction, for the statements of one call. A statement's error is an
/// ``RGISError`` at once, so that the code that ran it can say where in the input it came from.
struct Session {
    let connection: PostgresConnection
    let logger: Logger
    let place: PostgresLocation

    func run(_ q: SQLText) async throws {
        _ = try await rows(q)
    }

    func rows(_ q: SQLText) async throws -> [PostgresRandomAccessRow] {
        do {
            return try await connection.query(q.query, logger: logger).collect().map { $0.makeRandomAccess() }
        } catch let error as PSQLError {
            throw PostGISStore.translate(error, place: place)
        }
    }

    func int(_ q: SQLText) async throws -> Int {
        guard let row = try await rows(q).first else { return 0 }
        return Int(try row[0].decode(Int64?.self) ?? 0)
    }
}

/// Every store protocol, as the SpatiaLite file implements it; the conformance suite runs on both.
extension PostGISStore: Store {}
