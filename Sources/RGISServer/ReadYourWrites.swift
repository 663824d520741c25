import HTTPTypes
import Hummingbird
import RGISStore

/// Lets a request read from the store's standby (``StoreReads``) and keeps a caller's own writes in
/// what it reads there. A response to a request that wrote carries `RGIS-Read-After` (the log position
/// its commit reached) and the same as a cookie; a request that sends either back reads nothing older
/// than that position, on whichever replica it lands. A value that is not a position is ignored.
struct ReadYourWritesMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    static let header = HTTPField.Name("RGIS-Read-After")!
    static let cookie = "rgis_read_after"
    /// How long a browser sends the position back: well past any standby's usual replay delay.
    static let cookieSeconds = 60

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let written = WrittenPosition()
        let after = Self.position(request.headers[Self.header]) ?? Self.cookiePosition(request.headers[.cookie])
        var response = try await StoreReads.$standbyAllowed.withValue(true) {
            try await StoreReads.$after.withValue(after) {
                try await StoreReads.$written.withValue(written) { try await next(request, context) }
            }
        }
        if let position = written.position {
            response.headers[Self.header] = position
            response.headers.append(HTTPField(name: .setCookie,
                                              value: "\(Self.cookie)=\(position); Max-Age=\(Self.cookieSeconds); Path=/; HttpOnly; SameSite=Lax"))
        }
        return response
    }

    /// A position as a backend writes one (hex digits and a slash, as PostgreSQL's `pg_lsn`), else nil.
    static func position(_ text: String?) -> String? {
        guard let text, text.count <= 17, text.wholeMatch(of: /[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}/) != nil else { return nil }
        return text
    }

    static func cookiePosition(_ header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == cookie { return position(parts[1]) }
        }
        return nil
    }
}
