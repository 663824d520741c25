import ArgumentParser
import Foundation
import Hummingbird
import Logging
import RGISBackends
import RGISCore
import RGISServer
import RGISStore
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a database over HTTP: OGC API – Features, the search and matching API, and a map page.",
        discussion: """
            Public layers, search and indicators need no token. Client data, matching, writes and the archive need \
            a bearer token of a user with the right role (rgis users add, rgis tokens create), sent as \
            Authorization: Bearer TOKEN. --api-key (or RGIS_API_KEY) still sets a shared key that acts as an admin \
            (sent as X-API-Key or as a bearer token); it is deprecated and goes in the next release. The OpenAPI \
            document is at /api, the map at /map. Logs one line per request on standard error.
            """
    )

    @OptionGroup var target: DatabaseArgument
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(name: .customLong("api-key"), help: "Deprecated: a shared key that acts as an admin (default: $RGIS_API_KEY). Use tokens.") var apiKey: String?
    @Option(name: .customLong("rate-limit"), help: "Requests a token may make per minute; past it, 429 with Retry-After (0: no limit of any kind).")
    var rateLimit = 600
    @Option(name: .customLong("anonymous-rate-limit"), help: "Requests without a token one address may make per minute.")
    var anonymousRateLimit = 1200
    @Option(name: .customLong("sign-in-failures"), help: "Failed sign-ins (bad, expired or revoked tokens) one address may make per minute before its requests with credentials get 429.")
    var signInFailures = 30
    @Option(name: .customLong("metrics-from"), parsing: .singleValue,
            help: ArgumentHelp("An address block (CIDR) whose peers may read /metrics; repeatable (default loopback; admins' tokens always may).", valueName: "cidr"))
    var metricsFrom: [String] = []

    @Option(name: .customLong("alert-rules"), help: "A JSON file of early-warning rule changes (see rgis alerts --help).")
    var alertRules: String?
    @Option(name: .customLong("unmet-size-bands"), help: "The unmet-demand table's size band edges in m², ascending (default 40,60,80,120); the same for every caller.")
    var unmetSizeBands: String?
    @Option(name: .customLong("unmet-budget-bands"), help: "The unmet-demand table's budget band edges, ascending (default 200000,400000,700000,1000000).")
    var unmetBudgetBands: String?
    @Option(name: .customLong("base-url"), help: "The public base URL every link carries (behind a proxy; required when --host is not a loopback address). Default: http://HOST:PORT of this server.") var baseURL: String?
    @Option(name: .customLong("request-timeout"), help: "Seconds a request may run before it is stopped with 503 and Retry-After.")
    var requestTimeout: Double = 10
    @Option(name: .customLong("heavy-slots"),
            help: "Heavy queries (indicators, polygons, matching, whole-register reads) run this many at a time; the others wait (default: half the cores).")
    var heavySlots: Int?
    @Option(name: .customLong("keep-series-seconds"),
            help: "How often to look for writes and compute again, in the background, the monthly series of the districts they touched (0: leave it to the next request).")
    var keepSeriesSeconds = 2.0
    @OptionGroup(title: "Notifications (saved searches)") var delivery: DeliveryOptions
    @Option(name: .customLong("read-url"),
            help: "A hot standby of the PostgreSQL database (postgresql://…) that requests read from; writes, the notifier and token checks use the primary. A caller reads its own writes: a response to a write carries RGIS-Read-After (and a cookie), and a request that sends it back waits up to a second for the standby to replay that far, else reads the primary.")
    var readURL: String?
    @Flag(name: .customLong("no-notify"), help: "Do not deliver notifications in this process (run rgis notify run elsewhere).")
    var noNotify = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard requestTimeout.isFinite, requestTimeout > 0 else { throw ValidationError("--request-timeout must be a positive number of seconds") }
        if let heavySlots, heavySlots < 1 { throw ValidationError("--heavy-slots must be at least 1") }
        guard keepSeriesSeconds.isFinite, keepSeriesSeconds >= 0 else { throw ValidationError("--keep-series-seconds must be 0 (off) or a number of seconds") }
        guard rateLimit >= 0 else { throw ValidationError("--rate-limit must be 0 (no limit) or more requests a minute") }
        guard anonymousRateLimit >= 1 else { throw ValidationError("--anonymous-rate-limit must be 1 or more requests a minute") }
        guard signInFailures >= 1 else { throw ValidationError("--sign-in-failures must be 1 or more a minute") }
    }

    func run() async throws {
        var configuration = ServerConfiguration(databasePath: target.database)
        configuration.host = host
        configuration.port = port
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["RGIS_API_KEY"]
        configuration.baseURL = baseURL
        configuration.requestTimeoutSeconds = requestTimeout
        if let heavySlots { configuration.heavySlots = heavySlots }
        configuration.rateLimitPerMinute = rateLimit
        configuration.anonymousRateLimitPerMinute = anonymousRateLimit
        configuration.failedSignInsPerMinute = signInFailures
        if !metricsFrom.isEmpty {
            do { configuration.metricsFrom = AddressBlocks(try metricsFrom.map { try IPNetwork(parsing: $0) }) } catch let error as RGISError {
                Console.error("error: --metrics-from: \(error.description)")
                throw ExitCode(1)
            }
        }
        configuration.keepSeriesSeconds = keepSeriesSeconds
        do { configuration.webhookTargets = try delivery.network.targets() } catch let error as RGISError {
            Console.error("error: \(error.description)")
            throw ExitCode(1)
        }
        if let alertRules {
            do { configuration.alertRules = try AlertRules.reading(file: alertRules) } catch let error as RGISError {
                Console.error("error: \(error.description)")
                throw ExitCode(1)
            }
        }
        do { configuration.unmetBands = try UnmetBands(size: unmetSizeBands, budget: unmetBudgetBands) } catch let error as RGISError {
            Console.error("error: \(error.description)")
            throw ExitCode(1)
        }
        var logger = Logger(label: "rgis")
        logger.logLevel = .info
        let host = host
        let path = configuration.databasePath
        let keyNote = configuration.apiKey == nil ? "" : " (deprecated shared --api-key is on: it acts as an admin)"
        // One store for the server and its notifier: a process opens its database once.
        let store: any Store
        let app: any ApplicationProtocol
        do {
            store = try await StoreLocation.open(path, readingFrom: readURL)
            app = try buildApplication(configuration, store: store, logger: logger) { port in
                Console.note("rgis: serving \(path) at http://\(host):\(port)/ — map: http://\(host):\(port)/map\(keyNote)")
            }
        } catch let error as RGISError {
            Console.error("error: \(error.description)")
            throw ExitCode(1)
        }
        var services: [any Service] = [app]
        if !noNotify {
            do {
                services.append(try delivery.notifier(store: store, publicURLDefault: baseURL ?? "http://\(host):\(port)",
                                                     alertRules: configuration.alertRules, logger: logger))
            } catch let error as RGISError {
                Console.error("error: \(error.description)")
                throw ExitCode(1)
            }
        }
        // One group: SIGTERM or SIGINT stops the server and lets the notifier finish or give back what it holds.
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
