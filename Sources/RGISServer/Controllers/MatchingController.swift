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
        let valuationQuery = [
            ParameterSpec("listing", .string, "The listing to value (else lon, lat and area_m2)"),
            ParameterSpec("lon", .number, "Longitude of a point to value, degrees (WGS84)", minimum: -180, maximum: 180),
            ParameterSpec("lat", .number, "Latitude of a point to value, degrees (WGS84)", minimum: -90, maximum: 90),
            ParameterSpec("area_m2", .number, "Living area to value, m² (required with lon and lat; over 0, at most 100000)", minimum: 0, maximum: 100_000),
            ParameterSpec("type", .string, "Property type: \(PropertyType.allCases.map(\.rawValue).joined(separator: ", "))", values: PropertyType.allCases.map(\.rawValue)),
            ParameterSpec("year_built", .integer, "Year built", minimum: 1000, maximum: 2200),
            ParameterSpec("radius_m", .number, "Comparables within this many metres (1–5000, default 1000)", minimum: 1, maximum: 5000),
            ParameterSpec("months", .integer, "Sales closed within this many months before as_of (1–120, default 24)", minimum: 1, maximum: 120),
            ParameterSpec("as_of", .string, "The day of the valuation (default today)", format: "date"),
        ]
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
            Endpoint(method: .get, path: "/valuation", operationID: "valuation",
                     summary: "Valuation by comparable sales: a stored listing, or a point with area_m2 (and type, year_built); the comparables with their adjustments and the active listings there, map-ready, with the estimate, its range and the method's accuracy on the stored sales",
                     tag: "Matching", query: valuationQuery, produces: MediaTypes.geoJSON, namesRecordInQuery: true, access: .agents,
                     heavy: true, handler: valuation),
        ]
    }

    /// The reasons state the client's budget and size range, and `distance_to_centre_m` places their
    /// search area: a read of the demand, audited.
    @Sendable func valuation(_ call: EndpointCall) async throws -> Response {
        .text(try await state.engine.valuation(try ValuationQuery(call.parameters, today: .today())), type: MediaTypes.geoJSON)
    }

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
