import Foundation
import HTTPTypes
import Hummingbird
import RGISCore
import RGISFiles
import RGISStore

enum MediaTypes {
    static let json = "application/json"
    static let geoJSON = "application/geo+json"
    static let openAPI = "application/vnd.oai.openapi+json;version=3.0"
    static let html = "text/html; charset=utf-8"
    static let csv = "text/csv; charset=utf-8; header=present"
    static let flatGeobuf = ExportFormat.fgb.mediaType
}

extension Response {
    static func text(_ body: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func bytes(_ body: [UInt8], type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// GeoJSON features of `layer` as a FlatGeobuf file (with its spatial index).
    static func flatGeobuf(_ features: [JSONValue], layer: Layer) throws -> Response {
        .bytes(try FeatureFile.encode(features, layer: layer, format: .fgb), type: MediaTypes.flatGeobuf)
    }

    static func json(_ value: JSONValue, type: String = MediaTypes.json) -> Response {
        text(value.jsonText, type: type)
    }
}

extension HTTPField.Name {
    /// The CRS of the geometry in a response (OGC API – Features Part 2), as `<URI>`.
    static let contentCRS = HTTPField.Name("Content-Crs")!
}

/// OGC link objects.
func link(_ href: String, rel: String, type: String, title: String? = nil) -> JSONValue {
    var o: [String: JSONValue] = ["href": .string(href), "rel": .string(rel), "type": .string(type)]
    if let title { o["title"] = .string(title) }
    return .object(o)
}

/// Percent-encodes a query value.
func queryEscape(_ s: String) -> String {
    var allowed = CharacterSet.urlQueryAllowed
    allowed.remove(charactersIn: "&=+,/?#")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}

/// Closes an OGC items response begun with `{"type":"FeatureCollection","features":[` and its features:
/// the counts, the time stamp and the links.
func itemsResponse(_ out: inout String, numberMatched: Int?, numberReturned: Int, links: [JSONValue]) -> Response {
    out += "\n],"
    if let numberMatched { out += #""numberMatched":\#(numberMatched),"# }
    out += #""numberReturned":\#(numberReturned),"timeStamp":"#
    JSONValue.writeString(Timestamp.text(Date()), to: &out)  // a formatter made per request cost 9% of a small page
    out += #","links":"#
    JSONValue.array(links).write(to: &out)
    out += "}\n"
    return .text(out, type: MediaTypes.geoJSON)
}
