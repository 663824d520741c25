import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import RGISCore
import RGISServer
import RGISTesting

@Suite("OGC pages as HTML")
struct HTMLPagesTests {
    static let browser: HTTPFields = [.accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]

    @Test("a browser gets HTML pages (landing, conformance, collections, a collection, items, a feature); clients keep JSON")
    func pages() async throws {
        try await DemoServer.shared.test { client in
            for (uri, heading) in [("/", "RGIS"), ("/conformance", "Conformance"), ("/collections", "Collections"), ("/collections/listings", "Listings"),
                                   ("/collections/listings/items?limit=7", "Items of listings"), ("/collections/districts/items/D1", "Feature D1")] {
                try await client.execute(uri: uri, method: .get, headers: Self.browser) { response in
                    #expect(response.status == .ok, "\(uri)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8" && response.headers[.vary] == "Accept", "\(uri)")
                    let html = String(buffer: response.body)
                    #expect(html.contains("<h1>\(heading)</h1>"), "\(uri)")
                    #expect(!html.contains("http://unpkg") && !html.contains("https://"), "nothing from outside the server")
                    if uri.contains("items?") {
                        #expect(html.components(separatedBy: "<tr><td>").count - 1 == 7, "a row per feature")
                        #expect(html.contains("id=\"map\"") && html.contains("/collections/listings/items/"), "a map and links to the features")
                    }
                }
            }
            try await client.execute(uri: "/collections", method: .get) { #expect($0.headers[.contentType] == "application/json", "no Accept: JSON") }
            try await client.execute(uri: "/collections", method: .get, headers: [.accept: "application/json, text/html"]) {
                #expect($0.headers[.contentType] == "application/json", "a client naming JSON gets JSON")
            }
            try await client.execute(uri: "/collections?f=json", method: .get, headers: Self.browser) { #expect($0.headers[.contentType] == "application/json") }
            try await client.execute(uri: "/collections/listings/items?limit=2&f=html", method: .get) { #expect($0.headers[.contentType] == "text/html; charset=utf-8") }
            try await client.execute(uri: "/collections?f=xml", method: .get) { #expect($0.status == .badRequest) }
            let classes = try await client.execute(uri: "/conformance", method: .get) { try json($0)["conformsTo"]?.arrayValue ?? [] }
            #expect(classes.contains(.string("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html")))
        }
    }
}

@Suite("Items as CSV")
struct ItemsCSVTests {
    @Test("f=csv gives the page's features as rows (lon/lat or WKT, every field), paging in the Link header")
    func csv() async throws {
        try await DemoServer.shared.test { client in
            let page = try await client.execute(uri: "/collections/listings/items?limit=25&status=active", method: .get) { try json($0) }
            let features = try #require(page["features"]?.arrayValue)
            try await client.execute(uri: "/collections/listings/items?limit=25&status=active&f=csv", method: .get) { response in
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8; header=present")
                #expect(response.headers[HTTPField.Name("Link")!]?.contains("f=csv") == true && response.headers[HTTPField.Name("Link")!]?.contains("rel=\"next\"") == true)
                let lines = String(buffer: response.body).components(separatedBy: "\r\n").filter { !$0.isEmpty }
                #expect(lines.count == features.count + 1)
                #expect(lines[0].hasPrefix("id,lon,lat,status,property_type,list_price"))
                let first = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                let point = try #require(features[0]["geometry"]?["coordinates"]?.arrayValue)
                #expect(first[0] == features[0]["id"]?.stringValue && Double(first[1]) == point[0].number && Double(first[2]) == point[1].number)
                #expect(first[3] == "active")
            }
            let parcels: [JSONValue] = try await client.execute(uri: "/collections/parcels/items?limit=3", method: .get) { response -> [JSONValue] in
                try json(response)["features"]?.arrayValue ?? []
            }
            try await client.execute(uri: "/collections/parcels/items?limit=3&f=csv", method: .get) { response in
                let text = String(buffer: response.body)
                let wkt = try #require(text.components(separatedBy: "\r\n")[1].split(separator: "\"").dropFirst().first.map(String.init))
                let back = try Geometry(wkt: wkt)
                let original = try Geometry(geoJSON: try #require(parcels[0]["geometry"]))
                #expect(back.positions == original.positions, "the WKT reads back to the same shape")
            }
        }
    }
}
