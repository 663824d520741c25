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
