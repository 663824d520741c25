import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RGISCore
import RGISNotify
import RGISQuery
import RGISStore

/// How to run the server.
public struct ServerConfiguration: Sendable {
    public var databasePath: String
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port = 8080
    /// Deprecated shared key (`X-API-Key`, or as a bearer token) that acts as an admin, kept for one
    /// release; users and tokens (`rgis users`, `rgis tokens`) replace it.
    public var apiKey: String?
    /// Requests a token may make per minute (a bucket that refills continuously); 0 turns this limit
    /// and the two below off.
    public var rateLimitPerMinute = 600
    /// Requests without a token one address may make per minute (a map page fetches many tiles).
    public var anonymousRateLimitPerMinute = 1200
    /// Failed sign-ins (a bad, expired or revoked token or key) one address may make per minute; past
    /// it, every request from the address that carries credentials is a 429 until the bucket refills.
    public var failedSignInsPerMinute = 30
    /// The clock behind token expiry and audit times (tests inject one).
    public var now: @Sendable () -> Date = { Date() }
    /// The public base URL for links (behind a proxy, or on any address but loopback, where it is
    /// required); by default the loopback address the server listens on. Never the Host header.
    public var baseURL: String?
    /// Where Debian's libjs-leaflet is installed.
    public var leafletDirectory = "/usr/share/javascript/leaflet"
    /// How long a request may run before it is stopped with 503.
    public var requestTimeoutSeconds = 10.0
    /// How many heavy queries run at once; the others wait (within their deadline). Default: half the cores.
    public var heavySlots = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    /// The early-warning rules (`--alert-rules`: the defaults with a file's changes).
    public var alertRules = AlertRules()
    /// The unmet-demand table's bands (`--unmet-size-bands`, `--unmet-budget-bands`): fixed for every
    /// caller, since tables of other bands side by side would give a withheld cell away by difference.
    public var unmetBands = UnmetBands()
    /// How often, in seconds, the server looks for writes and computes again the series of the
    /// districts they touched (``SeriesKeeper``); 0 leaves them to be computed by the next request.
    public var keepSeriesSeconds = 2.0
    /// How long a client may take to send a request's headers and its body (slow senders are cut off).
    public var readLimits = RequestReadLimits()
    /// Where agents' and planners' webhooks may point: public addresses, and the blocks allowed here.
    public var webhookTargets = WebhookTargets()
    /// Who may read `/metrics` besides admins (`--metrics-from`): loopback by default.
    public var metricsFrom = AddressBlocks.loopback

    public init(databasePath: String) { self.databasePath = databasePath }
}

/// Builds the application on a store it is handed: routes from the controllers' endpoint tables, the
/// problem middleware, request logging. `rgis serve` runs it on the store its notifier shares; tests
/// call it with a temporary database and port 0.
public func buildApplication(
    _ configuration: ServerConfiguration,
    store: any Store,
    logger: Logger = Logger(label: "rgis"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let limits = RequestLimits(deadlineSeconds: configuration.requestTimeoutSeconds, heavySlots: configuration.heavySlots)
    var engine = QueryEngine(store)
    engine.keepsSeriesInBackground = true
    if configuration.baseURL == nil, !PublicBaseURL.isLoopback(configuration.host) {
        throw RGISError(.invalidValue, "a server on \(configuration.host) needs --base-url, the public URL its links carry (links never take the address a request names in its Host header)", at: "--base-url")
    }
    if let url = configuration.baseURL {
        guard let parts = URLComponents(string: url), ["http", "https"].contains(parts.scheme ?? ""), parts.host?.isEmpty == false,
              parts.user == nil, parts.query == nil, parts.fragment == nil else {
            throw RGISError(.invalidValue, "'\(url)' is not an http(s) base URL (scheme, host, optional port and path)", at: "--base-url")
        }
    }
    let baseURL = PublicBaseURL(configuration.baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
                                ?? PublicBaseURL.address(host: configuration.host, port: configuration.port))
    let state = ServerState(engine: engine, records: store, accounts: store, notifications: store, alertHooks: store, baseURL: baseURL, alertRules: configuration.alertRules, unmetBands: configuration.unmetBands,
                            webhookTargets: configuration.webhookTargets, metricsFrom: configuration.metricsFrom, now: configuration.now)
    let authentication = Authentication(accounts: store, legacyAPIKey: configuration.apiKey, now: configuration.now)
    let rateLimiter = RateLimiter(perMinute: configuration.rateLimitPerMinute, now: configuration.now)
    let anonymousLimiter = RateLimiter(perMinute: configuration.rateLimitPerMinute == 0 ? 0 : configuration.anonymousRateLimitPerMinute,
                                       what: "requests without a token from this address", now: configuration.now)
    let signInLimiter = RateLimiter(perMinute: configuration.rateLimitPerMinute == 0 ? 0 : configuration.failedSignInsPerMinute,
                                    what: "failed sign-ins from this address", now: configuration.now)
    let trail = AuditTrail(accounts: store, now: configuration.now)
    let metrics = RequestMetrics(storage: store, slots: limits.heavySlots, notifications: store, now: configuration.now)
    let router = Router(context: ServerContext.self)

    var endpoints: [Endpoint] = []
    endpoints += CollectionsController(state: state).endpoints
    endpoints += SearchController(state: state).endpoints
    endpoints += AlertsController(state: state).endpoints
    endpoints += TilesController(state: state).endpoints
    endpoints += MatchingController(state: state).endpoints
    endpoints += ArchiveController(state: state).endpoints
    endpoints += RecordsController(state: state).endpoints
    endpoints += NotificationsController(state: state).endpoints
    endpoints += MapController(state: state, leafletDirectory: configuration.leafletDirectory).endpoints
    let landing = LandingController(state: state, metrics: metrics, documented: endpoints)
    endpoints = landing.endpoints + endpoints
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ReadYourWritesMiddleware())
    router.add(middleware: RequestLogMiddleware(logger: logger, routes: RouteIndex(endpoints)))

    for endpoint in endpoints {
        router.on(RouterPath(endpoint.routerPath), method: endpoint.method) { request, context in
            do {
                for parameter in context.parameters {
                    try QueryParameters.checkText(String(parameter.value).removingPercentEncoding ?? String(parameter.value), name: String(parameter.key))
                }
                let hasCredentials = request.headers[.authorization] != nil || request.headers[HTTPField.Name("X-API-Key")!] != nil
                if hasCredentials { try await signInLimiter.check(context.remoteAddress) }
                let caller: Caller, rateKey: String?
                do {
                    (caller, rateKey) = try await authentication.caller(request)
                } catch let problem as Problem where problem.status == .unauthorized {
                    try? await signInLimiter.take(context.remoteAddress)
                    throw problem
                }
                try endpoint.access.check(caller)
                if let rateKey { try await rateLimiter.take(rateKey) } else { try await anonymousLimiter.take(context.remoteAddress) }
                let parameters = try endpoint.ignoresParameters ? RequestParameters()
                    : QueryParameters(request, allowed: endpoint.query, extra: endpoint.acceptsPropertyFilters).request
                let call = EndpointCall(request: request, context: context, parameters: parameters, caller: caller,
                                        endpointPath: endpoint.path, trail: trail)
                let response = try await limits.run(heavy: endpoint.heavy) { try await endpoint.handler(call) }
                return endpoint.ogc && endpoint.method == .get && HTMLPages.wanted(request) ? try await HTMLPages.render(response, request: request) : response
            } catch {
                let (problem, isInternal) = Problem.from(error, ogc: endpoint.ogc)
                if isInternal { logger.error("request \(context.requestID) \(request.method) \(request.uri.path) failed: \(error)") }
                return problem.response(requestID: context.requestID)
            }
        }
    }
    let keeper = SeriesKeeper(engine: engine, features: store, intervalSeconds: configuration.keepSeriesSeconds, now: configuration.now, logger: logger)
    let readLimits = configuration.readLimits
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [RequestReadDeadlines(readLimits)], idleTimeout: .seconds(75))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "RGIS"),
        services: configuration.keepSeriesSeconds > 0 ? [keeper] : [],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            if configuration.baseURL == nil { baseURL.set(PublicBaseURL.address(host: configuration.host, port: port)) }
            await onServerRunning(port)
        },
        logger: logger
    )
}

/// One log line per request (method, path, status, milliseconds), and the counts behind /metrics.
/// Requests no route answers become problem+json 404s here.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let logger: Logger
    let routes: RouteIndex

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // No route: a known path asked with another method is a 405, anything else a 404.
            if let allowed = routes.methods(for: request.uri.path) {
                var problem = Problem(.methodNotAllowed, "Method not allowed", "\(request.method) is not allowed on \(request.uri.path); use \(allowed.joined(separator: " or "))")
                problem.allow = allowed
                response = problem.response(requestID: context.requestID)
            } else {
                response = Problem.from(error, ogc: true).problem.response(requestID: context.requestID)
            }
        } catch {
            let (problem, isInternal) = Problem.from(error, ogc: true)
            if isInternal { logger.error("request \(context.requestID) failed: \(error)") }
            response = problem.response(requestID: context.requestID)
        }
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.1f", ms)) ms")
        return response
    }
}
