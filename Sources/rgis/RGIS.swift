import ArgumentParser
import RGISBackends
import RGISCore
import RGISQuery
import RGISStore

@main
struct RGIS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rgis",
        abstract: "Real-estate GIS: a store of parcels, buildings, listings, districts and client demand.",
        discussion: """
            Coordinates are longitude, latitude (WGS84, EPSG:4326) everywhere, as in GeoJSON. \
            A database is one SpatiaLite file, which GDAL and QGIS open as it is, or a PostgreSQL/PostGIS \
            database (postgresql://user@host:5432/name; rgis init creates it), on which every command \
            works alike.
            """,
        subcommands: [InitCommand.self, ImportCommand.self, ExportCommand.self, InfoCommand.self,
                      CheckCommand.self, QueryCommand.self, MatchCommand.self, ValuationCommand.self, IndicatorsCommand.self, ArchiveCommand.self, ServeCommand.self, UsersCommand.self, TokensCommand.self,
                      AuditCommand.self, SubscriptionsCommand.self, NotifyCommand.self, EventsCommand.self, AlertsCommand.self, AlertHooksCommand.self, BackupCommand.self, RestoreCommand.self, CopyCommand.self, SampleCommand.self]
    )
}

/// The database every command works on: a SpatiaLite file or a PostgreSQL location.
struct DatabaseArgument: ParsableArguments {
    @Argument(help: "The RGIS database: a SpatiaLite file, or postgresql://user@host:5432/database (PostGIS; the password from PGPASSWORD or ~/.pgpass, never in the URL).")
    var database: String
}

/// Runs a command body, printing an ``RGISError`` as one line on standard error with a non-zero exit.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as RGISError {
        Console.error("error: \(error.description)")
        throw ExitCode(error.code == .notFound ? 2 : 1)
    }
}

/// The same for an async body.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as RGISError {
        Console.error("error: \(error.description)")
        throw ExitCode(error.code == .notFound ? 2 : 1)
    }
}

/// The query engine on a database file.
func engine(_ target: DatabaseArgument) async throws -> QueryEngine {
    QueryEngine(try await StoreLocation.open(target.database))
}
