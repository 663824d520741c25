import Foundation
import Hummingbird
import RGISCore

/// `/map`: a Leaflet page served by RGIS itself (Leaflet from Debian's libjs-leaflet; no CDN, no tiles).
struct MapController {
    let state: ServerState
    let leafletDirectory: String

    static let page: String = {
        guard let url = Bundle.module.url(forResource: "map", withExtension: "html"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "<!doctype html><p>map page missing from the build</p>" }
        return text
    }()

    /// The pages' own scripts and styles, read once from the bundle.
    static let assets: [String: (type: String, bytes: [UInt8])] = {
        var assets: [String: (type: String, bytes: [UInt8])] = [:]
        for (name, type) in [("map.js", "application/javascript"), ("items-map.js", "application/javascript"),
                             ("map.css", "text/css"), ("pages.css", "text/css")] {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            if let url = Bundle.module.url(forResource: parts[0], withExtension: parts[1]), let data = try? Data(contentsOf: url) {
                assets[name] = (type, [UInt8](data))
            }
        }
        return assets
    }()

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/map", operationID: "getMap", summary: "The map page", tag: "Map",
                     query: [ParameterSpec("figure", .string, "The planner view's figure to open on (a monthly figure, or unmet_share, unmet_demands, near_fit_demands)",
                                           pattern: "^[a-z_0-9]{1,40}$"),
                            ParameterSpec("value", .string, "A listing the agent view values by comparables at once (an agent's token)")],
                     produces: "text/html") { _ in
                .text(Self.page, type: MediaTypes.html)
            },
            Endpoint(method: .get, path: "/static/rgis/{file}", operationID: "getPageAsset", summary: "The map's and the HTML pages' script and style",
                     tag: "Map", pathParameters: [ParameterSpec("file", .string, required: true, "A file name")],
                     produces: "application/javascript", ignoresParameters: true) { call in
                let name = call.context.parameters.get("file") ?? ""
                guard let asset = Self.assets[name] else { throw RGISError(.notFound, "no such file '\(name)'", at: "file") }
                var headers = HTTPFields()
                headers[.contentType] = asset.type
                headers[.cacheControl] = "no-cache"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
            },
            Endpoint(method: .get, path: "/static/leaflet/{file}", operationID: "getLeafletFile", summary: "Leaflet's script and style",
                     tag: "Map", pathParameters: [ParameterSpec("file", .string, required: true, "A file name")],
                     produces: "application/javascript", ignoresParameters: true) { [leafletDirectory] call in
                try Self.file(call.context.parameters.get("file") ?? "", in: leafletDirectory)
            },
            Endpoint(method: .get, path: "/static/leaflet/images/{file}", operationID: "getLeafletImage", summary: "Leaflet's marker images",
                     tag: "Map", pathParameters: [ParameterSpec("file", .string, required: true, "A file name")],
                     produces: "image/png", ignoresParameters: true) { [leafletDirectory] call in
                try Self.file(call.context.parameters.get("file") ?? "", in: leafletDirectory + "/images")
            },
        ]
    }

    /// Serves one file by plain name from the directory: no slashes, no dot-dot.
    static func file(_ name: String, in directory: String) throws -> Response {
        guard name.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]*$"#, options: .regularExpression) != nil, !name.contains(".."),
              let data = FileManager.default.contents(atPath: directory + "/" + name) else {
            throw RGISError(.notFound, "no such file '\(name)' (is libjs-leaflet installed?)", at: "file")
        }
        let type = switch (name as NSString).pathExtension {
        case "js": "application/javascript"
        case "css": "text/css"
        case "png": "image/png"
        default: "application/octet-stream"
        }
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=86400"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
