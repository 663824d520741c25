import Foundation
import HTTPTypes
import Hummingbird
import RGISCore

/// A query parameter an endpoint accepts: its name, type and meaning. The same list checks requests
/// (unknown parameters are refused) and writes the OpenAPI document.
struct ParameterSpec: Sendable {
    enum Kind: Sendable { case string, number, integer, boolean }
    let name: String
    let kind: Kind
    let required: Bool
    let summary: String
    var minimum: Double?
    var maximum: Double?
    var values: [String]?
    /// A regular expression the value must match (stated in `/api` too).
    var pattern: String?
    /// An OpenAPI string format (`date`).
    var format: String?

    init(_ name: String, _ kind: Kind, required: Bool = false, _ summary: String, minimum: Double? = nil, maximum: Double? = nil,
         values: [String]? = nil, pattern: String? = nil, format: String? = nil) {
        self.name = name
        self.kind = kind
        self.required = required
        self.summary = summary
        self.minimum = minimum
        self.maximum = maximum
        self.values = values
        self.pattern = pattern
        self.format = format
    }

    /// A comma-separated list of codes, as a pattern.
    static func codeList(_ codes: [String]) -> String {
        let one = "(" + codes.joined(separator: "|") + ")"
        return "^\(one)(,\(one))*$"
    }
}

/// One route: method, OpenAPI path template, parameters, body, responses and the handler.
struct Endpoint: Sendable {
    typealias Handler = @Sendable (EndpointCall) async throws -> Response

    let method: HTTPRequest.Method
    /// OpenAPI template: `/collections/{collectionId}/items`.
    let path: String
    let operationID: String
    let summary: String
    let tag: String
    var pathParameters: [ParameterSpec] = []
    var query: [ParameterSpec] = []
    /// Request headers the handler reads (`If-Match`, `Idempotency-Key`), stated in `/api`.
    var headers: [ParameterSpec] = []
    /// Other query names the handler checks itself (a collection's queryables).
    var acceptsPropertyFilters = false
    /// A JSON body, with its description and schema.
    var body: String?
    var bodySchema: JSONValue?
    /// Media type of a 200 response.
    var produces = "application/json"
    /// Other media types a 200 may have, chosen by a parameter (`f=csv`).
    var alsoProduces: [String] = []
    /// A query parameter names a record (a district), so an unknown one is a 404.
    var namesRecordInQuery = false
    /// The status of success: 200, 201 (created) or 204 (no content).
    var success = 200
    /// Other answers without a body besides success, by status (a tile's 204 when empty, 304 when unchanged).
    var alsoAnswers: [Int: String] = [:]
    /// Who may call it (checked before the handler runs).
    var access: Access = .anyone
    /// OGC API – Features route: every bad parameter is a 400.
    var ogc = false
    /// Takes one of the few heavy-query slots (whole-district joins, big polygons, matching, whole-register
    /// reads), so that light requests stay fast while heavy ones queue.
    var heavy = false
    /// Serves files whose URLs may carry cache-busting parameters: no parameter check.
    var ignoresParameters = false
    let handler: Handler

    /// The router's form of the path: `{id}` becomes `:id`.
    var routerPath: String {
        path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
    }
}

/// What a handler receives: the request, its context, and its query parameters already checked against
/// the endpoint's declared list (once, by the router's wrapper).
struct EndpointCall: Sendable {
    let request: Request
    let context: ServerContext
    let parameters: RequestParameters
    let caller: Caller
    /// The endpoint's path template, as the audit log names it.
    let endpointPath: String
    let trail: AuditTrail

    /// A path parameter, percent-decoded.
    func path(_ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    /// The JSON body (413 past ``ServerLimits/maxBodyBytes``).
    func body() async throws -> JSONValue { try Self.parse(try await bodyBytes()) }

    /// The body's bytes as sent (an idempotency key hashes them).
    func bodyBytes() async throws -> [UInt8] {
        var request = request
        let buffer = try await request.collectBody(upTo: ServerLimits.maxBodyBytes)
        guard buffer.readableBytes > 0 else { throw RGISError(.malformedInput, "the request has no body; send JSON", at: "body") }
        return Array(buffer.readableBytesView)
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch let error as RGISError {
            throw error.located("body")
        }
    }

    /// Appends an audit row naming the records whose personal data this response carries.
    func audit(_ ids: [String]) async throws {
        try await trail.record(caller, method: request.method, endpoint: endpointPath, ids: ids)
    }

    /// A request header's value.
    func header(_ name: String) -> String? { request.headers[HTTPField.Name(name)!] }
}

/// Query parameters, checked against an endpoint's declared list.
struct QueryParameters: Sendable {
    let values: [String: String]

    init(_ request: Request, allowed: [ParameterSpec], extra: Bool) throws {
        var values: [String: String] = [:]
        let names = Set(allowed.map(\.name))
        let specs = Dictionary(allowed.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (key, value) in request.uri.queryParameters {
            let k = String(key)
            if value.isEmpty {
                throw RGISError(.malformedInput, "parameter \(k) is empty; leave it out instead", at: "parameter \(k)")
            }
            if values[k] != nil {
                throw RGISError(.malformedInput, "parameter \(k) is given more than once", at: "parameter \(k)")
            }
            if !names.contains(k) && !extra {
                throw RGISError(.malformedInput, "unknown parameter '\(k)'; this endpoint takes \(allowed.map(\.name).sorted().joined(separator: ", "))", at: "parameter \(k)")
            }
            let text = String(value).removingPercentEncoding ?? String(value)
            try Self.checkText(text, name: k)
            if let spec = specs[k] {
                if let allowedValues = spec.values, !allowedValues.contains(text) {
                    throw RGISError(.malformedInput, "\(k) must be one of \(allowedValues.joined(separator: ", ")), found '\(text)'", at: "parameter \(k)")
                }
                try spec.checkNumber(text)
            }
            values[k] = text
        }
        for spec in allowed where spec.required && values[spec.name] == nil {
            throw RGISError(.malformedInput, "parameter \(spec.name) is required", at: "parameter \(spec.name)")
        }
        self.values = values
    }

    var request: RequestParameters { RequestParameters(values) }

    /// No parameter (or path segment) carries a control character (a NUL would end the id SQLite or
    /// a log reads) or more than 64 kB.
    static func checkText(_ text: String, name: String) throws {
        guard text.utf8.count <= 65_536 else {
            throw RGISError(.malformedInput, "parameter \(name) is longer than 64 kB", at: "parameter \(name)")
        }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw RGISError(.malformedInput, "parameter \(name) holds a control character", at: "parameter \(name)")
        }
    }
}

extension ParameterSpec {
    /// A number parameter reads as a finite number, an integer one as a whole number, each within the
    /// declared minimum and maximum (stated in `/api` too): checked once, for every endpoint, before a
    /// handler converts anything.
    func checkNumber(_ text: String) throws {
        let value: Double
        switch kind {
        case .integer:
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw RGISError(.malformedInput, "parameter \(name) must be a whole number, found '\(text.prefix(40))'", at: "parameter \(name)")
            }
            value = Double(n)
        case .number:
            guard let d = Double(text.trimmingCharacters(in: .whitespaces)), d.isFinite else {
                throw RGISError(.malformedInput, "parameter \(name) must be a finite number, found '\(text.prefix(40))'", at: "parameter \(name)")
            }
            value = d
        case .string, .boolean:
            return
        }
        if let minimum, value < minimum {
            throw RGISError(.invalidValue, "parameter \(name) must be at least \(Self.bound(minimum)), found \(text.prefix(40))", at: "parameter \(name)")
        }
        if let maximum, value > maximum {
            throw RGISError(.invalidValue, "parameter \(name) must be at most \(Self.bound(maximum)), found \(text.prefix(40))", at: "parameter \(name)")
        }
    }

    static func bound(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}
