import Foundation
import HTTPTypes
import Hummingbird
import RGISCore
import RGISQuery
import RGISStore

/// Agents' writes: OGC API – Features Part 4 on listings (create, replace, update, delete), and an
/// agent's clients and their demands with the same verbs. Every record carries a strong ETag;
/// `If-Match` guards changes; a POST with an `Idempotency-Key` happens once.
struct RecordsController {
    let state: ServerState

    static let listingsOnly = ParameterSpec("collectionId", .string, required: true, "The collection: only listings take writes", values: ["listings"])
    static let featureID = ParameterSpec("featureId", .string, required: true, "The listing's id")
    static let clientID = ParameterSpec("clientId", .string, required: true, "A client's id")
    static let demandID = ParameterSpec("demandId", .string, required: true, "A demand's id")
    static let page = [
        ParameterSpec("limit", .integer, "Clients per page (1–1000, default 100)", minimum: 1, maximum: 1000),
        ParameterSpec("after", .string, "Continue after this client id (from a next link)"),
    ]
    static let clientSchema: JSONValue = .object([
        "type": .string("object"),
        "properties": .object([
            "id": .object(["type": .string("string")]),
            "agent": .object(["type": .string("string")]),
            "lifecycle_stage": .object(["type": .string("string"), "enum": .array(ClientRecord.lifecycleStages.map(JSONValue.string))]),
            "age_band": .object(["type": .string("string")]), "household": .object(["type": .string("string")]),
            "income_band": .object(["type": .string("string")]),
            "contact": .object(["type": .string("object"), "properties": .object([
                "name": .object(["type": .string("string")]), "phone": .object(["type": .string("string")]),
                "email": .object(["type": .string("string")]),
            ])]),
        ]),
    ])
    static let ifMatch = [ParameterSpec("If-Match", .string, "The ETag last read: the change is refused (412) if the record changed since")]
    static let idempotencyKey = [ParameterSpec("Idempotency-Key", .string, "1 to 255 printable ASCII characters; a retry with the same key and body returns the stored response")]
    static let idempotencyNote = " Send an Idempotency-Key header to make a retry safe: the same key and body return the stored response."
    static let ifMatchNote = " Send If-Match with the ETag last read to refuse the change (412) when someone changed it since."

    var endpoints: [Endpoint] {
        let listing = [Self.listingsOnly, Self.featureID]
        let geo = MediaTypes.geoJSON
        return [
            Endpoint(method: .post, path: "/collections/{collectionId}/items", operationID: "createListing",
                     summary: "Adds a listing (OGC API – Features Part 4); an agent's listing is theirs." + Self.idempotencyNote, tag: "Writes",
                     pathParameters: [Self.listingsOnly], headers: Self.idempotencyKey, body: "The listing as a GeoJSON Feature with a Point geometry",
                     bodySchema: OpenAPIDocument.pointFeatureSchema, produces: geo, success: 201, access: .agents, handler: create(.listing)),
            Endpoint(method: .put, path: "/collections/{collectionId}/items/{featureId}", operationID: "replaceListing",
                     summary: "Replaces a listing of the caller's." + Self.ifMatchNote, tag: "Writes", pathParameters: listing, headers: Self.ifMatch,
                     body: "The whole listing as a GeoJSON Feature", bodySchema: OpenAPIDocument.pointFeatureSchema, produces: geo,
                     access: .agents, handler: change(.listing, "featureId", patch: false)),
            Endpoint(method: .patch, path: "/collections/{collectionId}/items/{featureId}", operationID: "updateListing",
                     summary: "Changes a listing of the caller's by a JSON merge patch (RFC 7396) of its Feature." + Self.ifMatchNote, tag: "Writes",
                     pathParameters: listing, headers: Self.ifMatch, body: "A JSON merge patch of the Feature: {\"properties\": {\"list_price\": 250000}}",
                     produces: geo, access: .agents, handler: change(.listing, "featureId", patch: true)),
            Endpoint(method: .delete, path: "/collections/{collectionId}/items/{featureId}", operationID: "deleteListing",
                     summary: "Withdraws a listing of the caller's (logged as withdrawn)." + Self.ifMatchNote, tag: "Writes",
                     pathParameters: listing, headers: Self.ifMatch, success: 204, access: .agents, handler: remove(.listing, "featureId")),
            Endpoint(method: .options, path: "/collections/{collectionId}/items", operationID: "optionsFeatures",
                     summary: "The methods the caller may use on a collection's items (Allow)", tag: "Writes",
                     pathParameters: [CollectionsController.collectionID], success: 204, handler: optionsItems),
            Endpoint(method: .options, path: "/collections/{collectionId}/items/{featureId}", operationID: "optionsFeature",
                     summary: "The methods the caller may use on a feature (Allow)", tag: "Writes",
                     pathParameters: [CollectionsController.collectionID, CollectionsController.featureID], success: 204, handler: optionsItem),
            Endpoint(method: .get, path: "/collections/{collectionId}/items/{featureId}/events", operationID: "listingEvents",
                     summary: "A listing's history: new, price changes, status changes, withdrawn", tag: "Data", pathParameters: listing,
                     handler: events),

            Endpoint(method: .get, path: "/clients", operationID: "listClients", summary: "The caller's clients with their contact data (an admin: everyone's)",
                     tag: "Clients", query: Self.page, access: .agents, handler: listClients),
            Endpoint(method: .post, path: "/clients", operationID: "createClient", summary: "Adds a client of the caller's." + Self.idempotencyNote,
                     tag: "Clients", headers: Self.idempotencyKey, body: "The client: segment codes, lifecycle_stage and contact {name, phone, email}", bodySchema: Self.clientSchema,
                     success: 201, access: .agents, handler: create(.client)),
            Endpoint(method: .get, path: "/clients/{clientId}", operationID: "getClient", summary: "A client of the caller's, with contact data",
                     tag: "Clients", pathParameters: [Self.clientID], access: .agents, handler: read(.client, "clientId")),
            Endpoint(method: .put, path: "/clients/{clientId}", operationID: "replaceClient", summary: "Replaces a client of the caller's." + Self.ifMatchNote,
                     tag: "Clients", pathParameters: [Self.clientID], headers: Self.ifMatch, body: "The whole client", bodySchema: Self.clientSchema,
                     access: .agents, handler: change(.client, "clientId", patch: false)),
            Endpoint(method: .patch, path: "/clients/{clientId}", operationID: "updateClient", summary: "Changes a client of the caller's by a JSON merge patch." + Self.ifMatchNote,
                     tag: "Clients", pathParameters: [Self.clientID], headers: Self.ifMatch, body: "A JSON merge patch of the client",
                     access: .agents, handler: change(.client, "clientId", patch: true)),
            Endpoint(method: .delete, path: "/clients/{clientId}", operationID: "deleteClient", summary: "Deletes a client of the caller's with their demands." + Self.ifMatchNote,
                     tag: "Clients", pathParameters: [Self.clientID], headers: Self.ifMatch, success: 204, access: .agents, handler: remove(.client, "clientId")),
            Endpoint(method: .get, path: "/clients/{clientId}/demands", operationID: "clientDemands", summary: "A client's demands (search areas and criteria)",
                     tag: "Clients", pathParameters: [Self.clientID], produces: geo, access: .agents, handler: clientDemands),
            Endpoint(method: .post, path: "/clients/{clientId}/demands", operationID: "createDemand",
                     summary: "Adds a demand for a client of the caller's: a search area (Polygon, or Point with radius_m) and criteria." + Self.idempotencyNote,
                     tag: "Clients", pathParameters: [Self.clientID], headers: Self.idempotencyKey, body: "The demand as a GeoJSON Feature", produces: geo, success: 201,
                     access: .agents, handler: create(.demand)),
            Endpoint(method: .get, path: "/demands/{demandId}", operationID: "getDemand", summary: "A demand of the caller's client",
                     tag: "Clients", pathParameters: [Self.demandID], produces: geo, access: .agents, handler: read(.demand, "demandId")),
            Endpoint(method: .put, path: "/demands/{demandId}", operationID: "replaceDemand", summary: "Replaces a demand." + Self.ifMatchNote,
                     tag: "Clients", pathParameters: [Self.demandID], headers: Self.ifMatch, body: "The whole demand as a GeoJSON Feature", produces: geo,
                     access: .agents, handler: change(.demand, "demandId", patch: false)),
            Endpoint(method: .patch, path: "/demands/{demandId}", operationID: "updateDemand", summary: "Changes a demand by a JSON merge patch." + Self.ifMatchNote,
                     tag: "Clients", pathParameters: [Self.demandID], headers: Self.ifMatch, body: "A JSON merge patch of the demand's Feature", produces: geo,
                     access: .agents, handler: change(.demand, "demandId", patch: true)),
            Endpoint(method: .get, path: "/demands/{demandId}/events", operationID: "demandEvents",
                     summary: "A demand's history: new, budget changes, status changes, withdrawn", tag: "Clients",
                     pathParameters: [Self.demandID], access: .agents, handler: demandEvents),
            Endpoint(method: .delete, path: "/demands/{demandId}", operationID: "deleteDemand", summary: "Withdraws a demand (logged as withdrawn)." + Self.ifMatchNote,
                     tag: "Clients", pathParameters: [Self.demandID], headers: Self.ifMatch, success: 204, access: .agents, handler: remove(.demand, "demandId")),
        ]
    }

    /// Listing writes exist only on the listings collection; elsewhere the method is not allowed.
    private func checkCollection(_ call: EndpointCall, _ kind: RecordKind) throws {
        guard kind == .listing else { return }
        let collection = call.path("collectionId")
        guard collection == "listings" else {
            _ = try CollectionsController.layer(call.context)
            var problem = Problem(.methodNotAllowed, "Method not allowed", "\(collection) is read-only; only listings take writes")
            problem.allow = ["GET", "OPTIONS"]
            throw problem
        }
    }

    /// Agents write as themselves; an admin as the body says.
    private func owner(_ caller: Caller) -> String? { caller.isAdmin ? nil : caller.agent }

    private func condition(_ call: EndpointCall) -> WriteCondition {
        WriteCondition(ifMatch: call.header("If-Match"), owner: owner(call.caller))
    }

    private func location(_ kind: RecordKind, _ id: String, _ request: Request) -> String {
        let base = state.base(request)
        return switch kind {
        case .listing: "\(base)/collections/listings/items/\(queryEscape(id))"
        case .client: "\(base)/clients/\(queryEscape(id))"
        case .demand: "\(base)/demands/\(queryEscape(id))"
        }
    }

    static func respond(_ json: JSONValue, kind: RecordKind, etag: String, status: HTTPResponse.Status = .ok, location: String? = nil) -> Response {
        var response = Response.text(json.jsonText, type: kind == .client ? MediaTypes.json : MediaTypes.geoJSON, status: status)
        response.headers[.eTag] = etag
        if let location { response.headers[.location] = location }
        return response
    }

    func read(_ kind: RecordKind, _ idName: String) -> Endpoint.Handler {
        { [state] call in
            let record = try await state.records.record(kind, id: call.path(idName))
            guard kind == .listing || call.caller.owns(agent: record.agent) else {
                throw RGISError(.forbidden, "\(kind.rawValue) '\(record.id)' belongs to another agent", at: idName)
            }
            if record.carriesPersonalData(for: call.caller) { try await call.audit([record.id]) }
            return Self.respond(record.json(for: call.caller), kind: kind, etag: record.etag(for: call.caller))
        }
    }

    func create(_ kind: RecordKind) -> Endpoint.Handler {
        { [state] call in
            try checkCollection(call, kind)
            let bytes = try await call.bodyBytes()
            let body = try EndpointCall.parse(bytes)
            var owner = owner(call.caller)
            var client: String?
            if kind == .demand {
                let parent = try await state.records.record(.client, id: call.path("clientId"))
                guard call.caller.owns(agent: parent.agent) else {
                    throw RGISError(.forbidden, "client '\(parent.id)' belongs to another agent", at: "clientId")
                }
                owner = parent.agent
                client = parent.id
            }
            var key: IdempotencyKey?
            if let text = call.header("Idempotency-Key") {
                guard (1...255).contains(text.utf8.count), text.allSatisfy({ $0.isASCII && !$0.isWhitespace || $0 == " " }) else {
                    throw RGISError(.malformedInput, "an Idempotency-Key is 1 to 255 printable ASCII characters", at: "header Idempotency-Key")
                }
                key = IdempotencyKey(user: call.caller.user ?? "", key: text, endpoint: call.request.uri.path, bodySHA256: Digest.sha256Hex(bytes))
            }
            let result: WriteResult
            if let key {
                let slot = "\(key.user)\u{1F}\(key.key)"
                try await state.inFlight.begin(slot)
                do {
                    result = try await state.records.create(kind, body, owner: owner, client: client, idempotency: key)
                    await state.inFlight.end(slot)
                } catch {
                    await state.inFlight.end(slot)
                    throw error
                }
            } else {
                result = try await state.records.create(kind, body, owner: owner, client: client, idempotency: nil)
            }
            let properties = result.json["properties"]?.objectValue ?? [:]
            if kind != .listing || ListingPrivateFields.names.contains(where: { properties[$0] != nil }) {
                try await call.audit([result.id])
            }
            var response = Self.respond(result.json, kind: kind, etag: result.etag, status: .created, location: location(kind, result.id, call.request))
            if result.replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
            return response
        }
    }

    func change(_ kind: RecordKind, _ idName: String, patch: Bool) -> Endpoint.Handler {
        { [state] call in
            try checkCollection(call, kind)
            let body = try await call.body()
            let record = try await state.records.change(kind, id: call.path(idName), patch ? .mergePatch(body) : .replace(body), condition: condition(call))
            if record.carriesPersonalData(for: call.caller) { try await call.audit([record.id]) }
            return Self.respond(record.json(for: call.caller), kind: kind, etag: record.etag(for: call.caller))
        }
    }

    func remove(_ kind: RecordKind, _ idName: String) -> Endpoint.Handler {
        { [state] call in
            try checkCollection(call, kind)
            try await state.records.delete(kind, id: call.path(idName), condition: condition(call))
            return Response(status: .noContent)
        }
    }

    @Sendable func optionsItems(_ call: EndpointCall) async throws -> Response {
        let layer = try CollectionsController.layer(call.context)
        var allow = ["GET", "OPTIONS"]
        if layer == .listings && Access.agents.allows(call.caller) { allow.append("POST") }
        return Self.allow(allow)
    }

    @Sendable func optionsItem(_ call: EndpointCall) async throws -> Response {
        let layer = try CollectionsController.layer(call.context)
        var allow = ["GET", "OPTIONS"]
        if layer == .listings {
            let record = try await state.records.record(.listing, id: call.path("featureId"))
            if call.caller.owns(agent: record.agent) { allow += ["PUT", "PATCH", "DELETE"] }
        } else {
            _ = try await state.engine.item(layer, id: call.path("featureId"))
        }
        return Self.allow(allow)
    }

    private static func allow(_ methods: [String]) -> Response {
        var response = Response(status: .noContent)
        response.headers[.allow] = methods.joined(separator: ", ")
        return response
    }

    @Sendable func events(_ call: EndpointCall) async throws -> Response {
        try checkCollection(call, .listing)
        let id = call.path("featureId")
        let events = try await state.records.events(.listings, id: id)
        if events.isEmpty { _ = try await state.records.record(.listing, id: id) }
        return .json(.object(["listing": .string(id), "events": .array(events.map(\.json))]))
    }

    /// A demand's history belongs to its client: only the owning agent (and admins) read it, audited.
    @Sendable func demandEvents(_ call: EndpointCall) async throws -> Response {
        let demand = try await state.records.record(.demand, id: call.path("demandId"))
        guard call.caller.owns(agent: demand.agent) else { throw RGISError(.forbidden, "demand '\(demand.id)' belongs to another agent", at: "demandId") }
        let events = try await state.records.events(.demands, id: demand.id)
        try await call.audit([demand.id])
        return .json(.object(["demand": .string(demand.id), "events": .array(events.map(\.json))]))
    }

    @Sendable func listClients(_ call: EndpointCall) async throws -> Response {
        let limit = try call.parameters.int("limit") ?? 100
        guard (1...1000).contains(limit) else { throw RGISError(.malformedInput, "limit must be 1 to 1000, found \(limit)", at: "parameter limit") }
        let clients = try await state.records.clients(agent: owner(call.caller), limit: limit + 1, after: call.parameters["after"])
        let shown = Array(clients.prefix(limit))
        try await call.audit(shown.map(\.id))
        var links = [link("\(state.base(call.request))/clients", rel: "self", type: MediaTypes.json)]
        if clients.count > limit, let last = shown.last {
            links.append(link("\(state.base(call.request))/clients?limit=\(limit)&after=\(queryEscape(last.id))", rel: "next", type: MediaTypes.json))
        }
        return .json(.object(["clients": .array(shown.map(\.wholeJSON)), "numberReturned": .int(Int64(shown.count)), "links": .array(links)]))
    }

    @Sendable func clientDemands(_ call: EndpointCall) async throws -> Response {
        let client = try await state.records.record(.client, id: call.path("clientId"))
        guard call.caller.owns(agent: client.agent) else { throw RGISError(.forbidden, "client '\(client.id)' belongs to another agent", at: "clientId") }
        let demands = try await state.records.demands(client: client.id)
        try await call.audit([client.id] + demands.map(\.id))
        return .json(.object(["type": .string("FeatureCollection"), "features": .array(demands.map(\.wholeJSON)),
                              "numberReturned": .int(Int64(demands.count))]), type: MediaTypes.geoJSON)
    }
}
