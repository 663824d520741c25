import Foundation
import Hummingbird
import RGISCore
import RGISQuery
import RGISStore

/// District early warning: the OGC collection `alerts` (each alert in force on its district's polygon)
/// and the Atom feed of raisings and clearings. Aggregates with small numbers withheld, like the
/// indicators: public.
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
                     tag: "Indicators", query: Self.query + [LandingController.format], produces: MediaTypes.geoJSON, ogc: true, heavy: true,
                     handler: items),
            Endpoint(method: .get, path: "/alerts.atom", operationID: "alertFeed",
                     summary: "Alerts raised and cleared over two years, newest first, as Atom with GeoRSS boxes",
                     tag: "Indicators", query: Self.query, produces: "application/atom+xml", heavy: true, handler: feed),
        ]
    }

    func report(_ p: RequestParameters) async throws -> AlertReport {
        let levels = try p["level"].map { [try IndicatorOptions.level(parsing: $0)] } ?? DistrictLevel.allCases
        return try await state.engine.alerts(asOf: try p.date("as_of") ?? .today(state.now()), levels: levels, rules: state.alertRules)
    }

    @Sendable func items(_ call: EndpointCall) async throws -> Response {
        let page = try await state.engine.alertFeatures(try await report(call.parameters))
        let url = "\(state.base(call.request))/collections/\(Self.collectionID)/items"
        return .text(page.geoJSON(extra: ["numberMatched": .int(Int64(page.features.count)),
                                          "links": .array([link(url, rel: "self", type: MediaTypes.geoJSON),
                                                           link("\(state.base(call.request))/collections/\(Self.collectionID)", rel: "collection", type: MediaTypes.json)])]),
                     type: MediaTypes.geoJSON)
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
