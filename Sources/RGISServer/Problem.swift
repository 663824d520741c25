import Foundation
import HTTPTypes
import Hummingbird
import RGISCore

/// An error with its HTTP status, written as RFC 9457 `application/problem+json`.
public struct Problem: Error, Sendable {
    public let status: HTTPResponse.Status
    public let title: String
    public let detail: String
    /// For 405: the methods the path answers.
    var allow: [String] = []
    /// For 503: when to try again.
    var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, _ title: String, _ detail: String) {
        self.status = status
        self.title = title
        self.detail = detail
    }

    /// A request that ran past its deadline: its statement was interrupted.
    static func deadlineExceeded(_ deadline: Duration) -> Problem {
        var problem = Problem(.serviceUnavailable, "Request deadline exceeded",
                              "the request took longer than its deadline of \(Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18) s and was stopped; try again later or narrow it")
        problem.retryAfterSeconds = 5
        return problem
    }

    /// RFC 6750: no usable token. The challenge names the scheme and why (error="invalid_token").
    static func unauthorized(_ detail: String) -> Problem {
        Problem(.unauthorized, "Unauthorized", detail)
    }

    /// The one place where errors become HTTP statuses (tipg keeps such a table).
    ///
    /// Malformed input is 400; a well-formed but unacceptable value 422, except for the OGC API
    /// endpoints, where the standard wants 400 for every bad parameter; an unknown record 404; anything
    /// else 500 without internal detail.
    static func from(_ error: any Error, ogc: Bool) -> (problem: Problem, internal: Bool) {
        switch error {
        case let problem as Problem:
            return (problem, false)
        case is CancellationError:
            // A request is cancelled when its deadline passes or its client goes away.
            var problem = Problem(.serviceUnavailable, "Request cancelled", "the request was stopped before it finished; try again")
            problem.retryAfterSeconds = 5
            return (problem, false)
        case let error as RGISError:
            switch error.code {
            case .malformedInput: return (Problem(.badRequest, "Bad request", error.description), false)
            case .invalidValue: return (Problem(ogc ? .badRequest : .unprocessableContent, ogc ? "Bad request" : "Unprocessable value", error.description), false)
            case .notFound: return (Problem(.notFound, "Not found", error.description), false)
            case .conflict: return (Problem(.conflict, "Conflict", error.description), false)
            case .forbidden: return (Problem(.forbidden, "Forbidden", error.description), false)
            case .preconditionFailed: return (Problem(.preconditionFailed, "Precondition failed", error.description), false)
            case .unavailable:
                var problem = Problem(.serviceUnavailable, "Service unavailable", error.reason)
                problem.retryAfterSeconds = 5
                return (problem, false)
            case .notSupported: return (Problem(.notImplemented, "Not implemented", error.reason), false)
            default: return (Problem(.internalServerError, "Internal server error", "the server could not answer; see its log"), true)
            }
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return (Problem(.contentTooLarge, "Request body too large", "the body is larger than \(ServerLimits.maxBodyBytes / 1_048_576) MiB"), false)
        case let error as HTTPError where error.status == .notFound:
            return (Problem(.notFound, "Not found", "no such path; the API is described at /api"), false)
        case let error as any HTTPResponseError where error.status.code < 500:
            return (Problem(error.status, error.status.reasonPhrase, (error as? HTTPError)?.body ?? error.status.reasonPhrase), false)
        default:
            return (Problem(.internalServerError, "Internal server error", "the server could not answer; see its log"), true)
        }
    }

    func response(requestID: String) -> Response {
        var out = #"{"type":"about:blank","title":"#
        JSONValue.writeString(title, to: &out)
        out += #","status":\#(status.code),"detail":"#
        JSONValue.writeString(detail, to: &out)
        out += #","instance":"#
        JSONValue.writeString("urn:rgis:request:\(requestID)", to: &out)
        out += "}"
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if status == .unauthorized {
            var description = ""
            JSONValue.writeString(detail.replacingOccurrences(of: "\"", with: "'"), to: &description)
            headers[.wwwAuthenticate] = #"Bearer realm="rgis", error="invalid_token", error_description="# + description
        }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: out)))
    }
}

enum ServerLimits {
    /// Bodies (drawn polygons, new listings) larger than this are refused with 413.
    static let maxBodyBytes = 10 * 1_048_576
}
