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

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)", operationID: "describeArchiveParcels",
                     summary: "The archive's parcel versions (valid time and record time)", tag: "Archive",
                     query: [LandingController.format], produces: "application/json", protected: true, ogc: true) { [state] request, _ in
                _ = try QueryParameters(request, allowed: [LandingController.format], extra: false)
                return .json(Self.describe(base: state.base(request)))
            },
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)/items", operationID: "getArchiveParcels",
                     summary: "Parcel versions valid at datetime as known at known_at, with their rights", tag: "Archive",
                     query: Self.itemsParameters, produces: MediaTypes.geoJSON, protected: true, ogc: true) { [state] request, _ in
                try Self.items(request, state: state)
            },
            Endpoint(method: .get, path: "/collections/\(Self.collectionID)/items/{featureId}", operationID: "getArchiveParcel",
                     summary: "One parcel version", tag: "Archive",
                     pathParameters: [ParameterSpec("featureId", .integer, required: true, "The version's storage key")],
                     query: [LandingController.format], produces: MediaTypes.geoJSON, protected: true, ogc: true) { [state] request, context in
                _ = try QueryParameters(request, allowed: [LandingController.format], extra: false)
                let text = context.parameters.get("featureId") ?? ""
                guard let fid = Int64(text) else {
                    throw RGISError(.notFound, "no version '\(text)' in \(Self.collectionID): feature ids are storage keys (integers)", at: "featureId")
                }
                var out = ""
                try state.engine.archiveVersion(.parcels, fid: fid).write(to: &out)
                return .text(out, type: MediaTypes.geoJSON)
            },
            Endpoint(method: .post, path: "/archive/events", operationID: "recordArchiveEvent",
                     summary: "Record a change: transfer, split, merge, correction, new_building or demolition (one transaction)",
                     tag: "Archive", body: "The change as JSON: kind, its fields (as the rgis archive commands), date, recorded_at, document",
                     bodySchema: .object(["type": .string("object"), "required": .array([.string("kind")]),
                                          "properties": .object(["kind": .object(["type": .string("string"),
                                              "enum": .array(["transfer", "split", "merge", "correction", "new_building", "demolition"].map(JSONValue.string))])])]),
                     protected: true) { [state] request, context in
                _ = try QueryParameters(request, allowed: [], extra: false)
                let body = try await SearchController.body(request, context)
                let change = try ArchiveEventBody(body: body).apply(to: ArchiveRegister(state.engine.database))
                return .text(change.json.jsonText, type: MediaTypes.json, status: .created)
            },
            Endpoint(method: .get, path: "/archive/parcels/{parcelId}/lineage", operationID: "archiveLineage",
                     summary: "A parcel's ancestors and descendants through splits and merges, with the events (f=geojson: every version)",
                     tag: "Archive", pathParameters: [Self.parcelID],
                     query: [ParameterSpec("f", .string, "json (the lineage) or geojson (every version of the parcel and its relatives)",
                                           values: ["json", "geojson"])],
                     protected: true) { [state] request, context in
                let p = try QueryParameters(request, allowed: [ParameterSpec("f", .string, "")], extra: false)
                let parcel = Self.parcel(context)
                switch p["f"] ?? "json" {
                case "json": return .json(try state.engine.lineage(parcel: parcel))
                case "geojson": return SearchController.geoJSON(try state.engine.lineageVersions(parcel: parcel))
                default: throw RGISError(.malformedInput, "f must be json or geojson", at: "parameter f")
                }
            },
            Endpoint(method: .get, path: "/archive/parcels/{parcelId}/rights", operationID: "archiveRights",
                     summary: "The rights on a parcel on a date, as the register knew them at known_at", tag: "Archive",
                     pathParameters: [Self.parcelID],
                     query: [ParameterSpec("date", .string, required: true, "The day (YYYY-MM-DD)", format: "date"), Self.knownAt],
                     protected: true) { [state] request, context in
                let p = try QueryParameters(request, allowed: [ParameterSpec("date", .string, ""), Self.knownAt], extra: false)
                guard let date = p["date"] else { throw RGISError(.malformedInput, "date is required (YYYY-MM-DD)", at: "parameter date") }
                let instant = ArchiveInstant(validAt: try ValidDate(parsing: date), knownAt: try Self.knownAt(p))
                return .json(try state.engine.rights(parcel: Self.parcel(context), at: instant))
            },
        ]
    }

    static func parcel(_ context: ServerContext) -> String {
        let id = context.parameters.get("parcelId") ?? ""
        return id.removingPercentEncoding ?? id
    }

    static func knownAt(_ parameters: QueryParameters) throws -> RecordTime {
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

    static func items(_ request: Request, state: ServerState) throws -> Response {
        let parameters = try QueryParameters(request, allowed: itemsParameters, extra: false)
        var query = ArchiveQuery(valid: try parameters["datetime"].map(DateTimeInterval.init(parsing:)), knownAt: try knownAt(parameters),
                                 limit: try Limit(min(max(try parameters.int("limit") ?? 10, 0), Limit.maximum)))
        if let bbox = parameters["bbox"] { query.bbox = try BBox(parsing: bbox) }
        if let f = parameters["f"], f != "json" { throw RGISError(.malformedInput, "f must be json", at: "parameter f") }
        query.afterFid = try parameters.int("after").map(Int64.init)
        let page = try state.engine.archive(query)

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
