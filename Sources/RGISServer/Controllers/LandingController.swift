import Foundation
import Hummingbird
import RGISCore

/// `/`, `/conformance`, `/api`, `/health`, `/metrics`.
struct LandingController {
    let state: ServerState
    let metrics: RequestMetrics
    /// The other controllers' endpoints, for the OpenAPI document.
    let documented: [Endpoint]

    /// The conformance classes RGIS passes, with the tests that show it (FEATURES.md).
    static let conformance = [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        // Part 4 on listings: POST, PUT, DELETE, and PATCH as a JSON merge patch.
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
        HTMLPages.conformance,
    ] + TilesController.conformance

    var endpoints: [Endpoint] {
        let own = [landing, conformancePage, health, metricsPage]
        let api = Endpoint(method: .get, path: "/api", operationID: "getAPI", summary: "This API's OpenAPI 3 document", tag: "Capabilities",
                           query: [Self.format], produces: MediaTypes.openAPI, ogc: true) { [documented] _ in
            .json(OpenAPIDocument.build(own + [Self.apiDescription] + documented), type: MediaTypes.openAPI)
        }
        return own + [api]
    }

    static let format = ParameterSpec("f", .string, "Response format: json (the default for clients) or html (the default for browsers)", values: ["json", "html"])

    /// How `/api` describes itself: the route above, seen from the document (which cannot hold the
    /// closure that writes it). Never registered with the router.
    static let apiDescription = Endpoint(method: .get, path: "/api", operationID: "getAPI", summary: "This API's OpenAPI 3 document",
                                         tag: "Capabilities", query: [format], produces: MediaTypes.openAPI, ogc: true) { _ in
        throw Problem(.notFound, "Not found", "no such path")
    }

    var landing: Endpoint {
        Endpoint(method: .get, path: "/", operationID: "getLandingPage", summary: "Landing page", tag: "Capabilities", query: [Self.format], ogc: true) { [state] call in
            let base = state.base(call.request)
            return .json(.object([
                "title": .string("RGIS"),
                "description": .string("Real-estate GIS: listings, parcels, buildings and districts as OGC API – Features, with radius, polygon and district search, client matching and district indicators."),
                "links": .array([
                    link("\(base)/", rel: "self", type: MediaTypes.json, title: "This document"),
                    link("\(base)/api", rel: "service-desc", type: MediaTypes.openAPI, title: "The API definition"),
                    link("\(base)/conformance", rel: "conformance", type: MediaTypes.json, title: "Conformance classes"),
                    link("\(base)/collections", rel: "data", type: MediaTypes.json, title: "Collections"),
                    link("\(base)/tileMatrixSets", rel: "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", type: MediaTypes.json, title: "Tile matrix sets"),
                    link("\(base)/map", rel: "alternate", type: "text/html", title: "Map"),
                ]),
            ]))
        }
    }

    var conformancePage: Endpoint {
        Endpoint(method: .get, path: "/conformance", operationID: "getConformance", summary: "Conformance classes", tag: "Capabilities", query: [Self.format], ogc: true) { _ in
            .json(.object(["conformsTo": .array(Self.conformance.map(JSONValue.string))]))
        }
    }

    var health: Endpoint {
        Endpoint(method: .get, path: "/health", operationID: "getHealth", summary: "Liveness and database reachability", tag: "Operations") { [state] _ in
            // A process whose database files were deleted or replaced under it must not look alive to a
            // load balancer: what it serves and accepts is no longer what any other process reads.
            if let fault = state.engine.features.storageHealth().fault {
                throw RGISError(.unavailable, "\(fault); restart the server on the database as it now is")
            }
            // Maintained counts: answering never scans a table, however large.
            let statistics = try await state.engine.features.layerStatistics()
            return .json(.object(["status": .string("ok"), "listings": .int(Int64(statistics.first { $0.layer == .listings }?.count ?? 0))]))
        }
    }

    var metricsPage: Endpoint {
        Endpoint(method: .get, path: "/metrics", operationID: "getMetrics", summary: "Request counters (Prometheus text format)", tag: "Operations",
                 produces: "text/plain") { [metrics, state] call in
            // The server's innards (database size, outbox backlog) are for its operators: peers in the
            // allowed blocks (`--metrics-from`, default loopback) and admins.
            guard call.caller.isAdmin || state.metricsFrom.allows(call.context.remoteAddress) else {
                throw RGISError(.forbidden, "/metrics answers this server's operators: an allowed address (--metrics-from) or an admin's token")
            }
            return .text(try await metrics.prometheusText(), type: "text/plain; version=0.0.4")
        }
    }
}
