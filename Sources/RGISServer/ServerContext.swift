import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RGISQuery
import RGISStore

/// The per-request context: Hummingbird's core context plus a request id for logs and problems.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let requestID: String

    init(source: Source) {
        coreContext = .init(source: source)
        requestID = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    var maxUploadSize: Int { ServerLimits.maxBodyBytes }
}

/// What the handlers share: the query engine, the API key and how to write absolute links.
struct ServerState: Sendable {
    let engine: QueryEngine
    let apiKey: String?
    /// Fixed public base URL, if configured; otherwise taken from each request's Host header.
    let baseURL: String?

    func base(_ request: Request) -> String {
        if let baseURL { return baseURL }
        let host = request.head.authority ?? "localhost"
        return "http://\(host)"
    }

    /// Whether the request carries the API key (to show protected collections in listings).
    func isAuthorized(_ request: Request) -> Bool {
        (try? authorize(request)) != nil
    }

    /// The one check for client data: the X-API-Key header must equal the configured key.
    func authorize(_ request: Request) throws {
        guard let apiKey else {
            throw Problem(.forbidden, "Client data disabled", "this server has no API key configured (rgis serve --api-key or RGIS_API_KEY), so endpoints with client data are closed")
        }
        guard let given = request.headers[HTTPField.Name("X-API-Key")!], given == apiKey else { throw Problem.unauthorized() }
    }
}
