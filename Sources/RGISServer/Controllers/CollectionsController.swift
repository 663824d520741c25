import Foundation
import Hummingbird
import RGISCore
import RGISQuery
import RGISStore

/// OGC API – Features collections: listings, parcels, buildings, districts (demand is not public).
struct CollectionsController {
    let state: ServerState

    static let collections: [(Layer, String, String)] = [
        (.listings, "Listings", "Properties on the market: status, type, price, living area, bedrooms, dates."),
        (.parcels, "Parcels", "Cadastral parcels with land use, zoning and validity."),
        (.buildings, "Buildings", "Building footprints with use, floors, height and units."),
        (.districts, "Districts", "Administrative districts on three levels: city, district, subdistrict."),
    ]

    static let collectionID = ParameterSpec("collectionId", .string, required: true, "A collection: listings, parcels, buildings or districts",
                                            values: collections.map(\.0.rawValue))
    static let featureID = ParameterSpec("featureId", .string, required: true, "The feature's id (its source id)")
    static let itemsParameters: [ParameterSpec] = [
        ParameterSpec("limit", .integer, "Features per page (default 10; larger values are clamped to 10000)", minimum: 1),
        ParameterSpec("bbox", .string, "minx,miny,maxx,maxy in CRS84 degrees; minx > maxx crosses the antimeridian",
                      pattern: #"^[-+]?[0-9]+(\.[0-9]+)?(,[-+]?[0-9]+(\.[0-9]+)?){3}$"#),
        ParameterSpec("datetime", .string, "An RFC 3339 date or date-time, or an interval start/end with .. for an open end",
                      pattern: #"^([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?|\.\.)?(/([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?|\.\.))?$"#),
        ParameterSpec("after", .integer, "Continue after this storage key (from a next link)"),
        ParameterSpec("before", .integer, "Continue before this storage key (from a prev link)"),
        LandingController.format,
    ]

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/collections", operationID: "getCollections", summary: "The feature collections", tag: "Data",
                     query: [LandingController.format], ogc: true) { [state] request, _ in
                _ = try QueryParameters(request, allowed: [LandingController.format], extra: false)
                let info = try state.engine.database.info()
                let base = state.base(request)
                return .json(.object([
                    "links": .array([link("\(base)/collections", rel: "self", type: MediaTypes.json)]),
                    // The archive names rights holders: it is listed only to callers with the key.
                    "collections": .array(Self.collections.map { Self.describe($0.0, info: info, base: base) }
                        + (state.isAuthorized(request) ? [ArchiveController.describe(base: base)] : [])),
                ]))
            },
            Endpoint(method: .get, path: "/collections/{collectionId}", operationID: "describeCollection", summary: "A feature collection",
                     tag: "Data", pathParameters: [Self.collectionID], query: [LandingController.format], ogc: true) { [state] request, context in
                _ = try QueryParameters(request, allowed: [LandingController.format], extra: false)
                let layer = try Self.layer(context)
                return .json(Self.describe(layer, info: try state.engine.database.info(), base: state.base(request)))
            },
            Endpoint(method: .get, path: "/collections/{collectionId}/items", operationID: "getFeatures", summary: "Features of a collection, a page at a time",
                     tag: "Data", pathParameters: [Self.collectionID], query: Self.itemsParameters, acceptsPropertyFilters: true,
                     produces: MediaTypes.geoJSON, ogc: true) { [state] request, context in
                try Self.items(request, context, state: state)
            },
            Endpoint(method: .get, path: "/collections/{collectionId}/items/{featureId}", operationID: "getFeature", summary: "One feature",
                     tag: "Data", pathParameters: [Self.collectionID, Self.featureID], query: [LandingController.format],
                     produces: MediaTypes.geoJSON, ogc: true) { [state] request, context in
                _ = try QueryParameters(request, allowed: [LandingController.format], extra: false)
                let layer = try Self.layer(context)
                let id = context.parameters.get("featureId") ?? ""
                let feature = try state.engine.item(layer, id: id.removingPercentEncoding ?? id)
                let base = state.base(request)
                let collection = "\(base)/collections/\(layer.rawValue)"
                var out = ""
                feature.write(to: &out)
                out.removeLast()
                out += #","links":"#
                JSONValue.array([
                    link("\(collection)/items/\(queryEscape(feature.id))", rel: "self", type: MediaTypes.geoJSON),
                    link("\(base)/map#\(layer.rawValue)/\(queryEscape(feature.id))", rel: "alternate", type: "text/html", title: "On the map"),
                    link(collection, rel: "collection", type: MediaTypes.json),
                ]).write(to: &out)
                out += "}"
                return .text(out, type: MediaTypes.geoJSON)
            },
        ]
    }

    static func layer(_ context: ServerContext) throws -> Layer {
        let id = context.parameters.get("collectionId") ?? ""
        guard let layer = collections.first(where: { $0.0.rawValue == id })?.0 else {
            throw RGISError(.notFound, "no collection '\(id)'; collections are \(collections.map(\.0.rawValue).joined(separator: ", "))", at: "collectionId")
        }
        return layer
    }

    static func describe(_ layer: Layer, info: DatabaseInfo, base: String) -> JSONValue {
        let entry = collections.first { $0.0 == layer }!
        let url = "\(base)/collections/\(layer.rawValue)"
        var extent: [String: JSONValue] = [:]
        if let e = info.layers.first(where: { $0.layer == layer })?.extent {
            extent["spatial"] = .object([
                "bbox": .array([.array([.double(e.west), .double(e.south), .double(e.east), .double(e.north)])]),
                "crs": .string("http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
            ])
        }
        return .object([
            "id": .string(layer.rawValue),
            "title": .string(entry.1),
            "description": .string(entry.2),
            "itemType": .string("feature"),
            "crs": .array([.string("http://www.opengis.net/def/crs/OGC/1.3/CRS84")]),
            "extent": .object(extent),
            "links": .array([
                link(url, rel: "self", type: MediaTypes.json),
                link("\(url)/items", rel: "items", type: MediaTypes.geoJSON, title: "\(entry.1) as GeoJSON"),
            ]),
        ])
    }

    static func items(_ request: Request, _ context: ServerContext, state: ServerState) throws -> Response {
        let layer = try layer(context)
        let parameters = try QueryParameters(request, allowed: itemsParameters, extra: true)
        let queryable = Dictionary(uniqueKeysWithValues: layer.fields.map { ($0.name, $0) })
        let known = Set(itemsParameters.map(\.name))
        var query = ItemsQuery(layer: layer, limit: try Limit(min(max(try parameters.int("limit") ?? 10, 0), Limit.maximum)))
        for (name, value) in parameters.values.sorted(by: { $0.key < $1.key }) where !known.contains(name) {
            guard let field = queryable[name] else {
                throw RGISError(.malformedInput, "unknown parameter '\(name)'; \(layer) takes \(known.sorted().joined(separator: ", ")) and the properties \(layer.fields.map(\.name).joined(separator: ", "))", at: "parameter \(name)")
            }
            if let typed = try field.coerce(.string(value)) { query.equals.append((field, typed)) }
        }
        if let bbox = parameters["bbox"] { query.bbox = try BBox(parsing: bbox) }
        if let datetime = parameters["datetime"] { query.datetime = try DateTimeInterval(parsing: datetime) }
        if let f = parameters["f"], f != "json" { throw RGISError(.malformedInput, "f must be json", at: "parameter f") }
        query.afterFid = try parameters.int("after").map(Int64.init)
        query.beforeFid = try parameters.int("before").map(Int64.init)
        // Each feature is written into the response text as it is read: the page is held once.
        var out = #"{"type":"FeatureCollection","features":["#
        let page = try state.engine.items(query) { feature in
            out += out.hasSuffix("[") ? "\n" : ",\n"
            feature.write(to: &out)
        }

        // Links keep every parameter but the paging ones.
        let base = "\(state.base(request))/collections/\(layer.rawValue)/items"
        let kept = parameters.values.filter { $0.key != "after" && $0.key != "before" }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(queryEscape($0.value))" }
        func href(_ extra: [String]) -> String {
            let all = kept + extra
            return all.isEmpty ? base : base + "?" + all.joined(separator: "&")
        }
        var links = [link(request.uri.query.map { "\(base)?\($0)" } ?? base, rel: "self", type: MediaTypes.geoJSON)]
        if page.hasNext, let last = page.lastFid { links.append(link(href(["after=\(last)"]), rel: "next", type: MediaTypes.geoJSON)) }
        if page.hasPrev, let first = page.firstFid { links.append(link(href(["before=\(first)"]), rel: "prev", type: MediaTypes.geoJSON)) }
        links.append(link("\(state.base(request))/collections/\(layer.rawValue)", rel: "collection", type: MediaTypes.json))

        return itemsResponse(&out, numberMatched: page.numberMatched, numberReturned: page.numberReturned, links: links)
    }
}
