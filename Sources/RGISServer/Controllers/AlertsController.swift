import Foundation
import HTTPTypes
import Hummingbird
import RGISCore
import RGISNotify
import RGISQuery
import RGISStore

/// District early warning: the OGC collection `alerts` (each alert in force on its district's polygon)
/// and the Atom feed of raisings and clearings, aggregates with small numbers withheld like the
/// indicators, so public; and planners' receivers of the raisings and clearings as webhooks.
struct AlertsController {
    let state: ServerState

    static let collectionID = "alerts"
    static let query = [
        ParameterSpec("level", .string, "Only this district level (default every level)", values: DistrictLevel.allCases.map(\.rawValue)),
        ParameterSpec("as_of", .string, "The day (YYYY-MM-DD, default today): the alerts of the last complete month on or before it", format: "date"),
    ]

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)", operationID: "describeAlerts",
                     summary: "District early-warning alerts", tag: "Indicators", query: [LandingController.format],
                     produces: MediaTypes.json, ogc: true) { [state] call in
                .json(Self.describe(base: state.base(call.request)))
            },
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)/items", operationID: "getAlerts",
                     summary: "The alerts in force, each on its district's polygon (rule, metric, value, threshold, severity, since)",
                     tag: "Indicators", query: Self.query + [Self.limit, LandingController.format], produces: MediaTypes.geoJSON, ogc: true, heavy: true,
                     handler: items),
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)/items/{featureId}", operationID: "getAlert",
                     summary: "One alert in force, by its id (rule.district)", tag: "Indicators", pathParameters: [CollectionsController.featureID],
                     query: Self.query + [LandingController.format], produces: MediaTypes.geoJSON, ogc: true, heavy: true, handler: feature),
            Endpoint(method: .get, path: "/alerts.atom", operationID: "alertFeed",
                     summary: "Alerts raised and cleared over two years, newest first, as Atom with GeoRSS boxes",
                     tag: "Indicators", query: Self.query, produces: "application/atom+xml", heavy: true, handler: feed),
            Endpoint(method: .get, path: "/alerts/hooks", operationID: "listAlertHooks",
                     summary: "The caller's receivers of district.alert.raised / district.alert.cleared webhooks (an admin: everyone's), never their secrets",
                     tag: "Indicators", access: .planners, handler: listHooks),
            Endpoint(method: .post, path: "/alerts/hooks", operationID: "createAlertHook",
                     summary: "Adds a receiver: each alert raised or cleared from now on is sent to it as a signed Standard Webhook",
                     tag: "Indicators", body: "{\"url\": http(s) URL, \"secret\": \"whsec_…\", \"level\": optional}", bodySchema: Self.hookSchema,
                     success: 201, access: .planners, handler: createHook),
            Endpoint(method: .patch, path: "/alerts/hooks/{hookId}", operationID: "updateAlertHook",
                     summary: "Turns a receiver on or off: {\"active\": false}", tag: "Indicators", pathParameters: [Self.hookID],
                     body: "{\"active\": true|false}", access: .planners, handler: updateHook),
        ]
    }

    static let limit = ParameterSpec("limit", .integer, "Alerts per answer (default and most 10000: every alert in force)", minimum: 1)
    static let hookID = ParameterSpec("hookId", .integer, required: true, "An alert receiver's id")
    static let hookSchema: JSONValue = .object([
        "type": .string("object"),
        "required": .array([.string("url"), .string("secret")]),
        "properties": .object([
            "url": .object(["type": .string("string"), "description": .string("The receiver, http(s)")]),
            "secret": .object(["type": .string("string"), "description": .string("The signing secret, whsec_…")]),
            "level": .object(["type": .string("string"), "enum": .array(DistrictLevel.allCases.map { .string($0.rawValue) })]),
        ]),
    ])

    @Sendable func listHooks(_ call: EndpointCall) async throws -> Response {
        let hooks = try await state.alertHooks.alertHooks(owner: call.caller.isAdmin ? nil : call.caller.user)
        return .json(.object(["hooks": .array(hooks.map(\.json))]))
    }

    @Sendable func createHook(_ call: EndpointCall) async throws -> Response {
        let request = try AlertHookRequest(json: try await call.body())
        let hook = try await AlertHooks.add(request, owner: call.caller.user ?? "anonymous", store: state.alertHooks, targets: state.webhookTargets, now: state.now())
        var response = Response.json(hook.json)
        response.status = .created
        response.headers[.location] = "\(state.base(call.request))/alerts/hooks/\(hook.id)"
        return response
    }

    @Sendable func updateHook(_ call: EndpointCall) async throws -> Response {
        guard let id = Int64(call.path("hookId")) else { throw RGISError(.malformedInput, "a receiver's id is a whole number", at: "hookId") }
        let hook = try await state.alertHooks.alertHook(id)
        guard call.caller.isAdmin || hook.owner == call.caller.user else {
            throw RGISError(.notFound, "no alert hook with id \(id)", at: "hookId")
        }
        guard case .object(let o) = try await call.body(), o.keys.allSatisfy({ $0 == "active" }), case .bool(let active)? = o["active"] else {
            throw RGISError(.invalidValue, "the body is {\"active\": true} or {\"active\": false}", at: "active")
        }
        let changed = try await state.alertHooks.setAlertHook(id, active: active, reason: active ? nil : "turned off by \(call.caller.user ?? "the owner")")
        return .json(changed.json)
    }

    func report(_ p: RequestParameters) async throws -> AlertReport {
        let levels = try p["level"].map { [try IndicatorOptions.level(parsing: $0)] } ?? DistrictLevel.allCases
        return try await state.engine.alerts(asOf: try p.date("as_of") ?? .today(state.now()), levels: levels, rules: state.alertRules)
    }

    @Sendable func items(_ call: EndpointCall) async throws -> Response {
        var page = try await state.engine.alertFeatures(try await report(call.parameters))
        let matched = page.features.count
        // At least 1 (the parameter's declared minimum, checked before); more than the maximum is clamped.
        page.features = Array(page.features.prefix(min(try call.parameters.int("limit") ?? Limit.maximum, Limit.maximum)))
        let url = "\(state.base(call.request))/collections/\(Self.collectionID)/items"
        return .text(page.geoJSON(extra: ["numberMatched": .int(Int64(matched)),
                                          "links": .array([link(url, rel: "self", type: MediaTypes.geoJSON),
                                                           link("\(state.base(call.request))/collections/\(Self.collectionID)", rel: "collection", type: MediaTypes.json)])]),
                     type: MediaTypes.geoJSON)
    }

    @Sendable func feature(_ call: EndpointCall) async throws -> Response {
        let id = call.path("featureId")
        let page = try await state.engine.alertFeatures(try await report(call.parameters))
        guard let alert = page.features.first(where: { $0.id == id }) else {
            throw RGISError(.notFound, "no alert '\(id)' in force", at: "featureId")
        }
        var out = ""
        alert.write(to: &out)
        out.removeLast()
        out += #","links":"#
        let collection = "\(state.base(call.request))/collections/\(Self.collectionID)"
        JSONValue.array([link("\(collection)/items/\(queryEscape(id))", rel: "self", type: MediaTypes.geoJSON),
                         link(collection, rel: "collection", type: MediaTypes.json)]).write(to: &out)
        out += "}"
        return .text(out, type: MediaTypes.geoJSON)
    }

    @Sendable func feed(_ call: EndpointCall) async throws -> Response {
        let base = state.base(call.request)
        let atom = try await state.engine.alertFeed(try await report(call.parameters), feedURL: "\(base)/alerts.atom",
                                                    siteURL: "\(base)/collections/\(Self.collectionID)/items")
        return .text(atom, type: "application/atom+xml; charset=utf-8")
    }

    static func describe(base: String) -> JSONValue {
        let url = "\(base)/collections/\(collectionID)"
        return .object([
            "id": .string(collectionID),
            "title": .string("District early warning"),
            "description": .string("Alerts in force per district: a monthly figure beyond its rule's threshold for two months running (cleared after one month back within)."),
            "itemType": .string("feature"),
            "crs": .array([.string("http://www.opengis.net/def/crs/OGC/1.3/CRS84")]),
            "links": .array([
                link(url, rel: "self", type: MediaTypes.json),
                link("\(url)/items", rel: "items", type: MediaTypes.geoJSON, title: "Alerts as GeoJSON"),
                link("\(base)/alerts.atom", rel: "alternate", type: "application/atom+xml", title: "Raised and cleared, as Atom"),
            ]),
        ])
    }
}
