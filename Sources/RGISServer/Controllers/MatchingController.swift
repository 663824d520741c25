import Hummingbird
import RGISCore
import RGISQuery
import RGISStore

/// Matching both ways. These carry client data: agents (for their own clients) and admins.
struct MatchingController {
    let state: ServerState

    var endpoints: [Endpoint] {
        let limit = [ParameterSpec("limit", .integer, "Most listings to return (1–10000, default 100)", minimum: 1, maximum: 10_000)]
        let demandLimit = [ParameterSpec("limit", .integer, "Most demands to return, best first (1–1000, default 50); numberMatched counts every fit when the search had to read them all",
                                         minimum: 1, maximum: 1000)]
        return [
            Endpoint(method: .get, path: "/match/demands/{demandId}/listings", operationID: "matchDemand",
                     summary: "Client → listings: the listings that fit a demand, best score first, with reasons", tag: "Matching",
                     pathParameters: [ParameterSpec("demandId", .string, required: true, "A demand's id")], query: limit,
                     produces: MediaTypes.geoJSON, access: .agents, heavy: true, handler: matchDemand),
            Endpoint(method: .get, path: "/match/listings/{listingId}/demands", operationID: "matchListing",
                     summary: "Listing → clients: the active demands a stored listing fits, with owning agent and client id",
                     tag: "Matching", pathParameters: [ParameterSpec("listingId", .string, required: true, "A listing's id")], query: demandLimit,
                     produces: MediaTypes.geoJSON, access: .agents, heavy: true, handler: matchListing),
            Endpoint(method: .post, path: "/match/listing", operationID: "matchNewListing",
                     summary: "Listing → clients for a new listing, not stored", tag: "Matching", query: demandLimit,
                     body: "The new listing as a GeoJSON Feature with a Point geometry", bodySchema: OpenAPIDocument.pointFeatureSchema,
                     produces: MediaTypes.geoJSON, access: .agents, heavy: true, handler: matchNewListing),
        ]
    }

    /// The reasons state the client's budget and size range, and `distance_to_centre_m` places their
    /// search area: a read of the demand, audited.
    @Sendable func matchDemand(_ call: EndpointCall) async throws -> Response {
        let page = try await state.engine.listings(matchingDemand: call.path("demandId"), limit: try Limit(call.parameters, default: 100), for: call.caller)
        try await call.audit([call.path("demandId")])
        return SearchController.geoJSON(page)
    }

    @Sendable func matchListing(_ call: EndpointCall) async throws -> Response {
        try await demands(try await state.engine.demands(matchingListing: call.path("listingId"), limit: demandLimit(call)), call)
    }

    @Sendable func matchNewListing(_ call: EndpointCall) async throws -> Response {
        try await demands(try await state.engine.demands(matchingNewListing: try await call.body(), limit: demandLimit(call)), call)
    }

    private func demandLimit(_ call: EndpointCall) throws -> Int {
        let limit = try call.parameters.int("limit") ?? QueryEngine.defaultDemandLimit
        guard (1...1000).contains(limit) else { throw RGISError(.malformedInput, "limit must be 1 to 1000, found \(limit)", at: "parameter limit") }
        return limit
    }

    /// The caller's share of the matching demands (each a client's wish: audited), and a count of the
    /// rest. `numberMatched` only when known: a best-k search that settled near the centres did not count.
    private func demands(_ page: FeaturePage, _ call: EndpointCall) async throws -> Response {
        let matched = QueryEngine.visible(page, to: call.caller)
        try await call.audit(matched.page.features.map(\.id))
        var extra: [String: JSONValue] = ["otherAgentsMatches": .int(Int64(matched.othersMatched))]
        if let n = page.numberMatched { extra["numberMatched"] = .int(Int64(n)) }
        return SearchController.geoJSON(matched.page, extra: extra)
    }
}
