import Foundation
import HTTPTypes
import Hummingbird
import RGISCore

/// The OGC pages as HTML for a browser (`Accept: text/html` without JSON, or `f=html`): the landing
/// page, conformance, collections, a collection, items (a table and a small map) and a feature,
/// written from the JSON the same request answers, so the two never differ. JSON stays the default.
enum HTMLPages {
    static let conformance = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html"

    /// Whether a request asks for HTML: `f=html`, or a browser's Accept (text/html, and no JSON type).
    static func wanted(_ request: Request) -> Bool {
        let query = request.uri.queryParameters
        if let f = query["f"] { return f == "html" }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        return accept.contains("text/html") && !accept.contains("json")
    }

    /// The page for a JSON response (others are returned as they are).
    static func render(_ response: Response, request: Request) async throws -> Response {
        guard response.status == .ok, let type = response.headers[.contentType], type.contains("json") else { return response }
        let body = response.body
        let writer = CollectingWriter()
        try await body.write(writer)
        let json = try JSONValue.parse(Array(writer.buffer.readableBytesView))
        var out = Response.text(page(json, request: request), type: MediaTypes.html)
        out.headers[.vary] = "Accept"
        return out
    }

    /// Keeps what a response body writes (a handler's JSON, already whole in memory).
    final class CollectingWriter: ResponseBodyWriter, @unchecked Sendable {
        var buffer = ByteBuffer()
        func write(_ buffer: ByteBuffer) async throws {
            var b = buffer
            self.buffer.writeBuffer(&b)
        }
        func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
            for b in buffers { try await write(b) }
        }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    static func escape(_ s: String) -> String { MarkupText.escape(s) }

    /// A link kept on this server and as HTML when it points at JSON.
    static func htmlHref(_ href: String, type: String?) -> String {
        guard let type, type.contains("json"), !type.contains("openapi") else { return href }
        if href.contains("f=") { return href.replacingOccurrences(of: "f=json", with: "f=html") }
        return href + (href.contains("?") ? "&" : "?") + "f=html"
    }

    static func text(_ v: JSONValue?) -> String {
        switch v {
        case .string(let s)?: s
        case .int(let i)?: String(i)
        case .double(let d)?: d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b)?: b ? "true" : "false"
        case nil, .null?: ""
        case let other?: other.jsonText
        }
    }

    static func links(_ json: JSONValue) -> String {
        guard let links = json["links"]?.arrayValue, !links.isEmpty else { return "" }
        let items = links.map { l -> String in
            let href = text(l["href"]), type = l["type"]?.stringValue
            let label = l["title"]?.stringValue ?? l["rel"]?.stringValue ?? href
            return "<li><a href=\"\(escape(htmlHref(href, type: type)))\">\(escape(label))</a> <small>\(escape(text(l["rel"]))) · \(escape(type ?? ""))</small></li>"
        }
        return "<h2>Links</h2><ul>" + items.joined() + "</ul>"
    }

    static func page(_ json: JSONValue, request: Request) -> String {
        let path = request.uri.path
        var title = json["title"]?.stringValue ?? json["id"]?.stringValue ?? path
        var main = ""
        if let description = json["description"]?.stringValue { main += "<p>\(escape(description))</p>" }
        var map: JSONValue?
        if json["type"]?.stringValue == "FeatureCollection" {
            title = "Items of \(path.split(separator: "/").dropLast().last.map(String.init) ?? "the collection")"
            let features = json["features"]?.arrayValue ?? []
            let matched = json["numberMatched"].map { " of \(text($0))" } ?? ""
            main += "<p>\(features.count) features\(matched).</p>" + table(features, itemsPath: path.hasSuffix("/items") ? path : nil)
            map = json
        } else if json["type"]?.stringValue == "Feature" {
            title = "Feature \(text(json["id"]))"
            main += properties(json["properties"]?.objectValue ?? [:])
            map = .object(["type": .string("FeatureCollection"), "features": .array([json])])
        } else if let collections = json["collections"]?.arrayValue {
            title = "Collections"
            main += "<table><tr><th>Collection</th><th>Description</th></tr>" + collections.map { c in
                let href = (c["links"]?.arrayValue ?? []).first { $0["rel"]?.stringValue == "self" }.map { text($0["href"]) } ?? ""
                return "<tr><td><a href=\"\(escape(htmlHref(href, type: "application/json")))\">\(escape(text(c["title"] ?? c["id"])))</a></td><td>\(escape(text(c["description"])))</td></tr>"
            }.joined() + "</table>"
        } else if let classes = json["conformsTo"]?.arrayValue {
            title = "Conformance"
            main += "<ul>" + classes.map { "<li>\(escape(text($0)))</li>" }.joined() + "</ul>"
        } else {
            var shown = json.objectValue ?? [:]
            for key in ["links", "title", "description"] { shown.removeValue(forKey: key) }
            if let extent = shown.removeValue(forKey: "extent"), let box = extent["spatial"]?["bbox"]?.arrayValue?.first?.arrayValue {
                main += "<p>Extent: \(box.map { text($0) }.joined(separator: ", ")) (lon/lat, CRS84)</p>"
            }
            if !shown.isEmpty { main += properties(shown) }
        }
        main += links(json)
        let jsonLink = path + "?" + (request.uri.query.map { q in q.split(separator: "&").filter { !$0.hasPrefix("f=") }.joined(separator: "&") + "&" } ?? "") + "f=json"
        var mapScript = ""
        if let map {
            // Data, not script: a JSON block the served script reads (the page runs no inline script).
            // `<` is written as \u003c, so nothing in a value can end the block or open a tag.
            let data = map.jsonText.replacingOccurrences(of: "<", with: "\\u003c")
            mapScript = """
                <div id="map"></div>
                <script type="application/json" id="map-data">\(data)</script>
                <script src="/static/leaflet/leaflet.js"></script>
                <script src="/static/rgis/items-map.js"></script>
                """
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) · RGIS</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <link rel="stylesheet" href="/static/leaflet/leaflet.css">
            <link rel="stylesheet" href="/static/rgis/pages.css"></head>
            <body>
            <nav><a href="/?f=html">RGIS</a><a href="/collections?f=html">Collections</a><a href="/conformance?f=html">Conformance</a>
            <a href="/api">API</a><a href="/map">Map</a><a href="\(escape(jsonLink))">This page as JSON</a></nav>
            <h1>\(escape(title))</h1>
            \(mapScript)
            \(main)
            </body></html>
            """
    }

    static func properties(_ o: [String: JSONValue]) -> String {
        "<table>" + o.keys.sorted().map { key in "<tr><th>\(escape(key))</th><td>\(escape(text(o[key])))</td></tr>" }.joined() + "</table>"
    }

    /// Features as rows: the id, then the properties the page's features have, at most twelve.
    static func table(_ features: [JSONValue], itemsPath: String?) -> String {
        var columns: [String] = []
        for f in features.prefix(100) {
            for key in (f["properties"]?.objectValue ?? [:]).keys.sorted() where !columns.contains(key) && columns.count < 12 { columns.append(key) }
        }
        let head = "<tr><th>id</th>" + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
        let rows = features.prefix(1000).map { f -> String in
            let id = text(f["id"])
            let link = (f["links"]?.arrayValue ?? []).first { $0["rel"]?.stringValue == "self" }.map { text($0["href"]) }
                ?? itemsPath.map { "\($0)/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? id)" }
            let idCell = link.map { "<a href=\"\(escape(htmlHref($0, type: "application/geo+json")))\">\(escape(id))</a>" } ?? escape(id)
            return "<tr><td>\(idCell)</td>" + columns.map { "<td>\(escape(text(f["properties"]?[$0])))</td>" }.joined() + "</tr>"
        }
        return "<table>" + head + rows.joined() + "</table>"
    }
}
