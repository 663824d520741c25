import Foundation
import HTTPTypes
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
    static let crs = ParameterSpec("crs", .string, "The CRS of the answer's geometry (OGC API – Features Part 2), one of the collection's crs list, as a URI; the axis order is the CRS's own (EPSG:4326 is lat/lon). Default CRS84")
    static let bboxCRS = ParameterSpec("bbox-crs", .string, "The CRS bbox is given in, one of the collection's crs list, as a URI; default CRS84")
    static let itemsParameters: [ParameterSpec] = [
        ParameterSpec("limit", .integer, "Features per page (default 10; larger values are clamped to 10000)", minimum: 1),
        ParameterSpec("bbox", .string, "minx,miny,maxx,maxy in CRS84 degrees (or in bbox-crs, its axis order); minx > maxx crosses the antimeridian",
                      pattern: #"^[-+]?[0-9]+(\.[0-9]+)?(,[-+]?[0-9]+(\.[0-9]+)?){3}$"#),
        Self.bboxCRS,
        Self.crs,
        ParameterSpec("datetime", .string, "An RFC 3339 date or date-time, or an interval start/end with .. for an open end",
                      pattern: #"^([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?|\.\.)?(/([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?|\.\.))?$"#),
        ParameterSpec("after", .integer, "Continue after this storage key (from a next link)"),
        ParameterSpec("before", .integer, "Continue before this storage key (from a prev link)"),
        ParameterSpec("f", .string, "json (GeoJSON, the default for clients), html (the default for browsers), csv (a row per feature) or fgb (FlatGeobuf); for csv and fgb the paging is in the Link header",
                      values: ["json", "html", "csv", "fgb"]),
    ]

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/collections", operationID: "getCollections", summary: "The feature collections", tag: "Data",
                     query: [LandingController.format], ogc: true, handler: collections),
            Endpoint(method: .get, path: "/collections/{collectionId}", operationID: "describeCollection", summary: "A feature collection",
                     tag: "Data", pathParameters: [Self.collectionID], query: [LandingController.format], ogc: true, handler: collection),
            Endpoint(method: .get, path: "/collections/{collectionId}/items", operationID: "getFeatures", summary: "Features of a collection, a page at a time",
                     tag: "Data", pathParameters: [Self.collectionID], query: Self.itemsParameters, acceptsPropertyFilters: true,
                     produces: MediaTypes.geoJSON, alsoProduces: [MediaTypes.csv, MediaTypes.flatGeobuf], ogc: true, handler: items),
            Endpoint(method: .get, path: "/collections/{collectionId}/items/{featureId}", operationID: "getFeature", summary: "One feature",
                     tag: "Data", pathParameters: [Self.collectionID, Self.featureID], query: [LandingController.format, Self.crs],
                     produces: MediaTypes.geoJSON, ogc: true, handler: feature),
        ]
    }

    @Sendable func collections(_ call: EndpointCall) async throws -> Response {
        let statistics = try await state.engine.features.layerStatistics()
        let offered = try await state.engine.offeredCRS()
        let base = state.base(call.request)
        return .json(.object([
            "links": .array([link("\(base)/collections", rel: "self", type: MediaTypes.json)]),
            // The archive names rights holders: it is listed only to the roles that may read it.
            "collections": .array(Self.collections.map { Self.describe($0.0, statistics: statistics, base: base, crs: offered) }
                + [AlertsController.describe(base: base)]
                + (call.caller.seesPartyNames ? [ArchiveController.describe(base: base)] : [])),
        ]))
    }

    @Sendable func collection(_ call: EndpointCall) async throws -> Response {
        let layer = try Self.layer(call.context)
        return .json(Self.describe(layer, statistics: try await state.engine.features.layerStatistics(), base: state.base(call.request),
                                   crs: try await state.engine.offeredCRS()))
    }

    /// One feature with a strong ETag. A listing comes from the record store, so that its agent (and
    /// admins) see its private fields, and that read is audited.
    @Sendable func feature(_ call: EndpointCall) async throws -> Response {
        let layer = try Self.layer(call.context)
        let id = call.path("featureId")
        let base = state.base(call.request)
        let collection = "\(base)/collections/\(layer.rawValue)"
        let crs = try call.parameters["crs"].map { try CRSReference(parsing: $0) } ?? .crs84
        var out: String
        var etag: String
        if layer == .listings {
            let record = try await state.records.record(.listing, id: id)
            var shown = record.json(for: call.caller)
            if crs != .crs84, case .object(var object) = shown, let geometry = object["geometry"] {
                object["geometry"] = try await state.engine.reprojected(geometry, to: crs)
                shown = .object(object)
            }
            if record.carriesPersonalData(for: call.caller) { try await call.audit([record.id]) }
            out = shown.jsonText
            etag = record.etag(for: call.caller)
            if crs != .crs84 { etag = "\"" + String(Digest.sha256Hex(etag + crs.uri).prefix(32)) + "\"" }
        } else {
            out = ""
            try await state.engine.item(layer, id: id, crs: crs).write(to: &out)
            etag = "\"" + String(Digest.sha256Hex(out).prefix(32)) + "\""
        }
        out.removeLast()
        out += #","links":"#
        JSONValue.array([
            link("\(collection)/items/\(queryEscape(id))", rel: "self", type: MediaTypes.geoJSON),
            link("\(base)/map#\(layer.rawValue)/\(queryEscape(id))", rel: "alternate", type: "text/html", title: "On the map"),
            link(collection, rel: "collection", type: MediaTypes.json),
        ]).write(to: &out)
        out += "}"
        var response = Response.text(out, type: MediaTypes.geoJSON)
        response.headers[.eTag] = etag
        response.headers[.contentCRS] = "<\(crs.uri)>"
        return response
    }

    static func layer(_ context: ServerContext) throws -> Layer {
        let id = context.parameters.get("collectionId") ?? ""
        guard let layer = collections.first(where: { $0.0.rawValue == id })?.0 else {
            throw RGISError(.notFound, "no collection '\(id)'; collections are \(collections.map(\.0.rawValue).joined(separator: ", "))", at: "collectionId")
        }
        return layer
    }

    static func describe(_ layer: Layer, statistics: [LayerStatistics], base: String, crs: [CRSReference]) -> JSONValue {
        let entry = collections.first { $0.0 == layer }!
        let url = "\(base)/collections/\(layer.rawValue)"
        var extent: [String: JSONValue] = [:]
        if let e = statistics.first(where: { $0.layer == layer })?.extent {
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
            "crs": .array(crs.map { .string($0.uri) }),
            "storageCrs": .string(CRSReference.crs84.uri),
            "extent": .object(extent),
            "links": .array([
                link(url, rel: "self", type: MediaTypes.json),
                link("\(url)/items", rel: "items", type: MediaTypes.geoJSON, title: "\(entry.1) as GeoJSON"),
            ] + (QueryEngine.tiledLayers.contains(layer) ? [
                link("\(url)/tiles", rel: "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", type: MediaTypes.json, title: "\(entry.1) as vector tiles"),
            ] : [])),
        ])
    }

    @Sendable func items(_ call: EndpointCall) async throws -> Response {
        let layer = try Self.layer(call.context)
        let query = try ItemsQuery(layer: layer, call.parameters)
        let page = try await state.engine.items(query)
        let request = call.request
        let parameters = call.parameters
        var out = #"{"type":"FeatureCollection","features":["# + page.featuresGeoJSON

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

        if let f = parameters["f"], f == "csv" || f == "fgb" {
            // The same page as a table or a FlatGeobuf file; the next and previous pages in the Link header (RFC 8288).
            let features = try JSONValue.parse(Array("[\(page.featuresGeoJSON)]".utf8)).arrayValue ?? []
            var response = f == "csv" ? Response.text(FeatureCSV.write(features, layer: layer), type: MediaTypes.csv)
                                      : try Response.flatGeobuf(features, layer: layer)
            let paging = links.compactMap { l -> String? in
                guard let rel = l["rel"]?.stringValue, rel == "next" || rel == "prev", let href = l["href"]?.stringValue else { return nil }
                return "<\(href)>; rel=\"\(rel)\""
            }
            if !paging.isEmpty { response.headers[HTTPField.Name("Link")!] = paging.joined(separator: ", ") }
            if let matched = page.numberMatched { response.headers[HTTPField.Name("OGC-NumberMatched")!] = String(matched) }
            return response
        }
        var response = itemsResponse(&out, numberMatched: page.numberMatched, numberReturned: page.numberReturned, links: links)
        response.headers[.contentCRS] = "<\(query.crs.uri)>"
        return response
    }
}
