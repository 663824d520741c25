import RGISCore

/// The OpenAPI 3.0 document, written from the same endpoint table the router is built from.
enum OpenAPIDocument {
    static func build(_ endpoints: [Endpoint]) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        var seen = Set<String>()
        for e in endpoints {
            let key = "\(e.method.rawValue) \(e.path)"
            guard seen.insert(key).inserted else { continue }
            var operation: [String: JSONValue] = [
                "operationId": .string(e.operationID),
                "summary": .string(e.summary),
                "tags": .array([.string(e.tag)]),
                "parameters": .array(e.pathParameters.map { parameter($0, in: "path") } + e.query.map { parameter($0, in: "query") }
                    + e.headers.map { parameter($0, in: "header") }),
                "responses": .object(responses(e)),
            ]
            if let body = e.body {
                let schema = e.bodySchema ?? .object(["type": .string("object")])
                operation["requestBody"] = .object([
                    "description": .string(body),
                    "required": .bool(true),
                    "content": .object(["application/json": .object(["schema": schema]),
                                        "application/geo+json": .object(["schema": schema])]),
                ])
            }
            if case .roles(let roles) = e.access {
                operation["security"] = .array([.object(["bearerToken": .array([])]), .object(["apiKey": .array([])])])
                operation["description"] = .string("Needs a token of role \(Role.allCases.filter(roles.contains).map(\.rawValue).joined(separator: " or ")).")
            }
            paths[e.path, default: [:]][e.method.rawValue.lowercased()] = .object(operation)
        }
        return .object([
            "openapi": .string("3.0.3"),
            "info": .object([
                "title": .string("RGIS"),
                "version": .string("1.0.0"),
                "description": .string("Real-estate GIS: OGC API – Features (Part 1 core, GeoJSON) over listings, parcels, buildings and districts, plus radius and polygon search, client matching and district indicators. Coordinates are longitude, latitude (CRS84)."),
            ]),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": .object([
                "schemas": .object(["Problem": problemSchema]),
                "securitySchemes": .object([
                    "bearerToken": .object(["type": .string("http"), "scheme": .string("bearer"),
                                            "description": .string("A token from `rgis tokens create` (rgis_…), sent as Authorization: Bearer TOKEN.")]),
                    "apiKey": .object(["type": .string("apiKey"), "in": .string("header"), "name": .string("X-API-Key"),
                                       "description": .string("Deprecated: the shared key of `rgis serve --api-key`, which acts as an admin. Use a bearer token.")]),
                ]),
            ]),
        ])
    }

    static func parameter(_ p: ParameterSpec, in location: String) -> JSONValue {
        let type: String = switch p.kind {
        case .string: "string"
        case .number: "number"
        case .integer: "integer"
        case .boolean: "boolean"
        }
        var schema: [String: JSONValue] = ["type": .string(type)]
        if let m = p.minimum { schema["minimum"] = .double(m) }
        if let m = p.maximum { schema["maximum"] = .double(m) }
        if let v = p.values { schema["enum"] = .array(v.map(JSONValue.string)) }
        if let pattern = p.pattern { schema["pattern"] = .string(pattern) }
        if let format = p.format { schema["format"] = .string(format) }
        if p.kind == .string && location == "query" { schema["minLength"] = .int(1) }
        var o: [String: JSONValue] = [
            "name": .string(p.name), "in": .string(location), "required": .bool(location == "path" || p.required),
            "description": .string(p.summary), "schema": .object(schema),
        ]
        if p.name == "bbox" || p.name == "limit" {
            o["style"] = .string("form")
            o["explode"] = .bool(false)
        }
        return .object(o)
    }

    /// A GeoJSON Feature with a Point in lon/lat (both within ±90 so that either order is in range).
    static let pointFeatureSchema: JSONValue = .object([
        "type": .string("object"),
        "required": .array([.string("type"), .string("geometry")]),
        "properties": .object([
            "type": .object(["type": .string("string"), "enum": .array([.string("Feature")])]),
            "geometry": .object([
                "type": .string("object"),
                "required": .array([.string("type"), .string("coordinates")]),
                "properties": .object([
                    "type": .object(["type": .string("string"), "enum": .array([.string("Point")])]),
                    "coordinates": .object(["type": .string("array"), "minItems": .int(2), "maxItems": .int(2),
                                            "items": .object(["type": .string("number"), "minimum": .int(-90), "maximum": .int(90)])]),
                ]),
            ]),
            "properties": .object(["type": .string("object"), "additionalProperties": .object(["nullable": .bool(true)])]),
        ]),
    ])

    /// A GeoJSON Polygon or MultiPolygon geometry, or a Feature holding one.
    static let polygonSchema: JSONValue = .object([
        "type": .string("object"),
        "required": .array([.string("type")]),
        "properties": .object(["type": .object(["type": .string("string"), "enum": .array(["Polygon", "MultiPolygon", "Feature"].map(JSONValue.string))])]),
    ])

    static let problemSchema: JSONValue = .object([
        "type": .string("object"),
        "required": .array([.string("title"), .string("status")]),
        "properties": .object([
            "type": .object(["type": .string("string")]),
            "title": .object(["type": .string("string")]),
            "status": .object(["type": .string("integer")]),
            "detail": .object(["type": .string("string")]),
            "instance": .object(["type": .string("string")]),
        ]),
    ])

    static func responses(_ e: Endpoint) -> [String: JSONValue] {
        let problem: JSONValue = .object(["application/problem+json": .object(["schema": .object(["$ref": .string("#/components/schemas/Problem")])])])
        func error(_ text: String) -> JSONValue { .object(["description": .string(text), "content": problem]) }
        // An OGC page with f=html is also served as HTML (HTMLPages).
        let html = e.ogc && e.method == .get && e.query.contains { $0.name == "f" && $0.values?.contains("html") == true } ? [MediaTypes.html] : []
        let content: JSONValue = .object(Dictionary(uniqueKeysWithValues: ([e.produces] + e.alsoProduces + html).map { type in
            (type, JSONValue.object(["schema": .object(type.hasPrefix("text/") ? ["type": .string("string")] : ["type": .string("object")])]))
        }))
        var r: [String: JSONValue] = [
            "400": error("A malformed or unknown parameter"),
            "401": error("A token was sent but is malformed, unknown, expired or revoked (or none was sent to a protected endpoint)"),
            "429": error("The token made too many requests; see Retry-After"),
            "500": error("The server could not answer"),
        ]
        switch e.success {
        case 201: r["201"] = .object(["description": .string("Created; Location names the new record, ETag its version"), "content": content])
        case 204: r["204"] = .object(["description": .string("Done; no content")])
        default: r["200"] = .object(["description": .string("Success"), "content": content])
        }
        for (status, text) in e.alsoAnswers { r[String(status)] = .object(["description": .string(text)]) }
        if !e.pathParameters.isEmpty || e.path.contains("match") || e.namesRecordInQuery { r["404"] = error("No such collection or record") }
        if !e.ogc { r["422"] = error("A well-formed value that breaks a rule (an invalid polygon, a radius out of range)") }
        if e.body != nil { r["413"] = error("The body is larger than 10 MiB") }
        if e.access.isProtected { r["403"] = error("The token's role may not use this endpoint, or the record is another agent's") }
        if e.method == .put || e.method == .patch || e.method == .delete { r["412"] = error("If-Match does not name the record's current ETag") }
        if e.method == .post && e.success == 201 { r["409"] = error("The id is taken, or a request with the same Idempotency-Key is still running") }
        return r
    }
}
