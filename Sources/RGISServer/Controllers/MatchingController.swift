import Hummingbird
import RGISCore
import RGISQuery

/// Matching both ways. These carry client data: every endpoint needs the API key.
struct MatchingController {
    let state: ServerState

    var endpoints: [Endpoint] {
        let limit = [ParameterSpec("limit", .integer, "Most listings to return (1–10000, default 100)", minimum: 1, maximum: 10_000)]
        return [
            Endpoint(method: .get, path: "/match/demands/{demandId}/listings", operationID: "matchDemand",
                     summary: "Client → listings: the listings that fit a demand, best score first, with reasons", tag: "Matching",
                     pathParameters: [ParameterSpec("demandId", .string, required: true, "A demand's id")], query: limit,
                     produces: MediaTypes.geoJSON, protected: true) { [state] request, context in
                let p = try QueryParameters(request, allowed: limit, extra: false)
                let id = context.parameters.get("demandId") ?? ""
                return SearchController.geoJSON(try state.engine.listings(matchingDemand: id.removingPercentEncoding ?? id,
                                                                          limit: try Limit(try p.int("limit") ?? 100)))
            },
            Endpoint(method: .get, path: "/match/listings/{listingId}/demands", operationID: "matchListing",
                     summary: "Listing → clients: the active demands a stored listing fits, with owning agent and client id",
                     tag: "Matching", pathParameters: [ParameterSpec("listingId", .string, required: true, "A listing's id")],
                     produces: MediaTypes.geoJSON, protected: true) { [state] request, context in
                _ = try QueryParameters(request, allowed: [], extra: false)
                let id = context.parameters.get("listingId") ?? ""
                return SearchController.geoJSON(try state.engine.demands(matchingListing: id.removingPercentEncoding ?? id))
            },
            Endpoint(method: .post, path: "/match/listing", operationID: "matchNewListing",
                     summary: "Listing → clients for a new listing, not stored", tag: "Matching",
                     body: "The new listing as a GeoJSON Feature with a Point geometry", bodySchema: OpenAPIDocument.pointFeatureSchema,
                     produces: MediaTypes.geoJSON,
                     protected: true) { [state] request, context in
                _ = try QueryParameters(request, allowed: [], extra: false)
                return SearchController.geoJSON(try state.engine.demands(matchingNewListing: try await SearchController.body(request, context)))
            },
        ]
    }
}
