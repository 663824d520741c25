import Foundation
import Hummingbird
import RGISCore
import RGISQuery
import RGISStore

/// The property archive for regulators: the `archive-parcels` collection (OGC `datetime` is valid time,
/// `known_at` is record time), each parcel's lineage and rights, and `POST /archive/events` to record a
/// change. Rights name parties, so every endpoint needs the API key.
struct ArchiveController {
    let state: ServerState

    static let collectionID = "archive-parcels"
    static let knownAt = ParameterSpec("known_at", .string, "As the register knew it at this time (a date means the end of that day; default now)",
                                       pattern: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2}))?$"#)
    static let itemsParameters: [ParameterSpec] = [
        ParameterSpec("limit", .integer, "Versions per page (default 10; larger values are clamped to 10000)", minimum: 1),
        CollectionsController.itemsParameters[1],
        ParameterSpec("datetime", .string, "Valid time: versions in force on this day, or during this interval (start/end, .. for open)",
                      pattern: CollectionsController.itemsParameters[2].pattern),
        knownAt,
        ParameterSpec("after", .integer, "Continue after this storage key (from a next link)"),
        LandingController.format,
    ]
    static let parcelID = ParameterSpec("parcelId", .string, required: true, "A parcel's id")

    static let lineageFormat = ParameterSpec("f", .string, "json (the lineage) or geojson (every version of the parcel and its relatives)",
                                             values: ["json", "geojson"])
    static let rightsQuery = [ParameterSpec("date", .string, required: true, "The day (YYYY-MM-DD)", format: "date"), knownAt]

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)", operationID: "describeArchiveParcels",
                     summary: "The archive's parcel versions (valid time and record time)", tag: "Archive",
                     query: [LandingController.format], produces: "application/json", access: .regulators, ogc: true) { [state] call in
                .json(Self.describe(base: state.base(call.request)))
            },
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)/items", operationID: "getArchiveParcels",
                     summary: "Parcel versions valid at datetime as known at known_at, with their rights", tag: "Archive",
                     query: Self.itemsParameters, produces: MediaTypes.geoJSON, access: .regulators, ogc: true, heavy: true, handler: items),
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)/items/{featureId}", operationID: "getArchiveParcel",
                     summary: "One parcel version", tag: "Archive",
                     pathParameters: [ParameterSpec("featureId", .integer, required: true, "The version's storage key")],
                     query: [LandingController.format], produces: MediaTypes.geoJSON, access: .regulators, ogc: true, handler: version),
            Endpoint(method: .post, path: "/archive/events", operationID: "recordArchiveEvent",
                     summary: "Record a change: transfer, split, merge, correction, new_building or demolition (one transaction)",
                     tag: "Archive", body: "The change as JSON: kind, its fields (as the rgis archive commands), date, recorded_at, document",
                     bodySchema: .object(["type": .string("object"), "required": .array([.string("kind")]),
                                          "properties": .object(["kind": .object(["type": .string("string"),
                                              "enum": .array(["transfer", "split", "merge", "correction", "new_building", "demolition"].map(JSONValue.string))])])]),
                     access: .regulators, handler: recordEvent),
            Endpoint(method: .get, path: "/archive/parcels/{parcelId}/lineage", operationID: "archiveLineage",
                     summary: "A parcel's ancestors and descendants through splits and merges, with the events (f=geojson: every version)",
                     tag: "Archive", pathParameters: [Self.parcelID], query: [Self.lineageFormat], access: .regulators, handler: lineage),
            Endpoint(method: .get, path: "/archive/parcels/{parcelId}/rights", operationID: "archiveRights",
                     summary: "The rights on a parcel on a date, as the register knew them at known_at", tag: "Archive",
                     pathParameters: [Self.parcelID], query: Self.rightsQuery, access: .regulators, handler: rights),
        ]
    }

    @Sendable func version(_ call: EndpointCall) async throws -> Response {
        let text = call.path("featureId")
        guard let fid = Int64(text) else {
            throw RGISError(.notFound, "no version '\(text)' in \(Self.collectionID): feature ids are storage keys (integers)", at: "featureId")
        }
        var out = ""
        let feature = try await state.engine.archiveVersion(.parcels, fid: fid)
        try await call.audit([feature.id])
        feature.write(to: &out)
        return .text(out, type: MediaTypes.geoJSON)
    }

    @Sendable func recordEvent(_ call: EndpointCall) async throws -> Response {
        let change = try await state.engine.apply(try ArchiveChangeRequest(json: try await call.body()))
        return .text(change.json.jsonText, type: MediaTypes.json, status: .created)
    }

    @Sendable func lineage(_ call: EndpointCall) async throws -> Response {
        let parcel = call.path("parcelId")
        switch call.parameters["f"] ?? "json" {
        case "geojson": return SearchController.geoJSON(try await state.engine.lineageVersions(parcel: parcel))
        default: return .json(try await state.engine.lineage(parcel: parcel).json)
        }
    }

    @Sendable func rights(_ call: EndpointCall) async throws -> Response {
        let p = call.parameters
        let instant = ArchiveInstant(validAt: try ValidDate(parsing: try p.required("date") { p[$0] }), knownAt: try Self.knownAt(p))
        let rights = try await state.engine.rights(parcel: call.path("parcelId"), at: instant)
        try await call.audit([call.path("parcelId")])
        return .json(rights.json)
    }

    static func parcel(_ context: ServerContext) -> String {
        let id = context.parameters.get("parcelId") ?? ""
        return id.removingPercentEncoding ?? id
    }

    static func knownAt(_ parameters: RequestParameters) throws -> RecordTime {
        try parameters["known_at"].map { try RecordTime(parsing: $0, field: "known_at", day: .endOfDay) } ?? .now
    }

    static func describe(base: String) -> JSONValue {
        let url = "\(base)/collections/\(collectionID)"
        return .object([
            "id": .string(collectionID),
            "title": .string("Parcel archive"),
            "description": .string("Every recorded version of every parcel: datetime selects valid time, known_at record time; each with its rights."),
            "itemType": .string("feature"),
            "crs": .array([.string("http://www.opengis.net/def/crs/OGC/1.3/CRS84")]),
            "links": .array([
                link(url, rel: "self", type: MediaTypes.json),
                link("\(url)/items", rel: "items", type: MediaTypes.geoJSON, title: "Parcel versions as GeoJSON"),
            ]),
        ])
    }

    @Sendable func items(_ call: EndpointCall) async throws -> Response {
        let parameters = call.parameters
        let request = call.request
        var query = ArchiveQuery(valid: try parameters["datetime"].map(DateTimeInterval.init(parsing:)), knownAt: try Self.knownAt(parameters),
                                 limit: try Limit(min(try parameters.int("limit") ?? 10, Limit.maximum)))
        if let bbox = parameters["bbox"] { query.bbox = try BBox(parsing: bbox) }
        query.afterFid = try parameters.int("after").map(Int64.init)
        let page = try await state.engine.archive(query)
        // Rights name their holders: the parcels shown are audited.
        try await call.audit(page.features.map(\.id))
        let collectionID = Self.collectionID

        let base = "\(state.base(request))/collections/\(collectionID)/items"
        // The next link pins known_at, so that a page walk sees one state of the register.
        var kept = parameters.values.filter { $0.key != "after" && $0.key != "known_at" }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(queryEscape($0.value))" }
        kept.append("known_at=\(queryEscape(query.knownAt.text))")
        var links = [link(request.uri.query.map { "\(base)?\($0)" } ?? base, rel: "self", type: MediaTypes.geoJSON)]
        if let next = page.next { links.append(link("\(base)?" + (kept + ["after=\(next.fid)"]).joined(separator: "&"), rel: "next", type: MediaTypes.geoJSON)) }
        links.append(link("\(state.base(request))/collections/\(collectionID)", rel: "collection", type: MediaTypes.json))
        var out = #"{"type":"FeatureCollection","features":["#
        for (i, feature) in page.features.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            feature.write(to: &out)
        }
        return itemsResponse(&out, numberMatched: nil, numberReturned: page.features.count, links: links)
    }
}
