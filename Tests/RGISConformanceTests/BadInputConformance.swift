import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISStore
import RGISTesting
import Testing

/// Every bad input gets one error naming the file, the feature or line and the problem, and leaves the
/// store exactly as it was, on every backend.
@Suite("Conformance: bad input loses nothing")
struct BadInputConformance {
    static let good = """
        {"type":"FeatureCollection","features":[
        {"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[13.40,52.52]},"properties":{"list_price":100000}},
        {"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[13.41,52.53]},"properties":{"list_price":200000}}
        ]}
        """

    static func feature(_ id: String, _ geometry: String, _ properties: String = "{}") -> String {
        #"{"type":"Feature","id":"\#(id)","geometry":\#(geometry),"properties":\#(properties)}"#
    }

    static func collection(_ features: String...) -> String {
        #"{"type":"FeatureCollection","features":["# + features.joined(separator: ",\n") + "]}"
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let layer: Layer
        let fileName: String
        /// Nil: the file does not exist.
        let content: String?
        /// Every one of these must be in the message.
        let mentions: [String]
        var testDescription: String { name }
    }

    static let square = #"{"type":"Polygon","coordinates":[[[13.40,52.52],[13.41,52.52],[13.41,52.53],[13.40,52.53],[13.40,52.52]]]}"#

    static let cases: [Case] = [
        Case(name: "missing file", layer: .listings, fileName: "nowhere.geojson", content: nil, mentions: ["nowhere.geojson", "no such file"]),
        Case(name: "not JSON", layer: .listings, fileName: "bad.geojson", content: "{this is not json", mentions: ["bad.geojson", "not valid"]),
        Case(name: "JSON that is not a FeatureCollection", layer: .listings, fileName: "feature.geojson",
             content: feature("x", #"{"type":"Point","coordinates":[13.4,52.5]}"#), mentions: ["feature.geojson", "'Feature'", "FeatureCollection"]),
        Case(name: "a geometry type the layer cannot hold", layer: .parcels, fileName: "line.geojson",
             content: collection(feature("p1", square), feature("l1", #"{"type":"LineString","coordinates":[[13.4,52.5],[13.5,52.6]]}"#)),
             mentions: ["line.geojson", "feature 2", "LineString", "parcels"]),
        Case(name: "latitude out of range", layer: .listings, fileName: "range.geojson",
             content: collection(feature("r1", #"{"type":"Point","coordinates":[13.4,95.0]}"#)), mentions: ["range.geojson", "feature 1", "lat -90…90"]),
        Case(name: "swapped-looking lon/lat", layer: .listings, fileName: "swapped.geojson",
             content: collection(feature("s1", #"{"type":"Point","coordinates":[40.7,-120.5]}"#)), mentions: ["feature 1", "looks like (lat, lon)"]),
        Case(name: "an unclosed ring", layer: .parcels, fileName: "open.geojson",
             content: collection(feature("o1", #"{"type":"Polygon","coordinates":[[[13.40,52.52],[13.41,52.52],[13.41,52.53],[13.40,52.53]]]}"#)),
             mentions: ["open.geojson", "feature 1", "not closed"]),
        Case(name: "a self-intersecting ring", layer: .parcels, fileName: "bowtie.geojson",
             content: collection(feature("b1", #"{"type":"Polygon","coordinates":[[[13.40,52.52],[13.41,52.53],[13.41,52.52],[13.40,52.53],[13.40,52.52]]]}"#)),
             mentions: ["bowtie.geojson", "feature 1", "Self-intersection"]),
        Case(name: "a CSV without coordinates", layer: .listings, fileName: "nocoords.csv",
             content: "id,price\n1,100\n", mentions: ["nocoords.csv", "no coordinate columns", "id, price"]),
        Case(name: "a CSV with a non-numeric price", layer: .listings, fileName: "price.csv",
             content: "id,lon,lat,list_price\n1,13.4,52.5,100\n2,13.5,52.6,lots\n", mentions: ["price.csv", "line 3", "list_price", "'lots' is not a number"]),
        Case(name: "a duplicate id within the file", layer: .listings, fileName: "dup.geojson",
             content: collection(feature("d1", #"{"type":"Point","coordinates":[13.4,52.5]}"#), feature("d1", #"{"type":"Point","coordinates":[13.5,52.5]}"#)),
             mentions: ["dup.geojson", "feature 2", "duplicate id 'd1'", "--upsert"]),
        Case(name: "a duplicate of a stored id", layer: .listings, fileName: "again.geojson",
             content: collection(feature("a", #"{"type":"Point","coordinates":[13.4,52.5]}"#)), mentions: ["duplicate id 'a'"]),
        Case(name: "an empty file", layer: .listings, fileName: "empty.geojson", content: "", mentions: ["empty.geojson", "empty"]),
        Case(name: "an empty CSV", layer: .listings, fileName: "empty.csv", content: "", mentions: ["empty.csv", "empty"]),
        Case(name: "a FeatureCollection without features", layer: .listings, fileName: "none.geojson",
             content: #"{"type":"FeatureCollection","features":[]}"#, mentions: ["none.geojson", "no features"]),
        Case(name: "a feature without geometry", layer: .listings, fileName: "nogeom.geojson",
             content: collection(#"{"type":"Feature","geometry":null,"properties":{}}"#), mentions: ["feature 1", "no geometry"]),
        Case(name: "a truncated file after good features", layer: .listings, fileName: "cut.geojson",
             content: String(collection(feature("t1", #"{"type":"Point","coordinates":[13.4,52.5]}"#), feature("t2", #"{"type":"Point","coordinates":[13.4,52.5]}"#)).dropLast(10)), mentions: ["cut.geojson", "ends in the middle"]),
        Case(name: "an unknown property type", layer: .listings, fileName: "type.geojson",
             content: collection(feature("t1", #"{"type":"Point","coordinates":[13.4,52.5]}"#, #"{"property_type":"castle"}"#)),
             mentions: ["feature 1", "property_type", "'castle'"]),
    ]

    /// The store's content, for "exactly as it was", as the store gives it back: every layer as
    /// exported (ids, geometry, fields and the source's other properties), the change events of every
    /// listing and demand, the kept counts and extents. (Not the market change token: its contract lets
    /// it move without a visible change, and PostgreSQL's moves with a transaction rolled back.)
    struct Snapshot: Equatable {
        var features: [JSONValue] = []
        var events: [String] = []
        var statistics: [LayerStatistics] = []
    }

    static func snapshot(_ store: any Store) async throws -> Snapshot {
        var snapshot = Snapshot()
        for layer in Layer.allCases {
            let features = try await store.exportedFeatures(layer)
            snapshot.features += features
            guard layer == .listings || layer == .demands else { continue }
            for id in features.compactMap({ $0["id"]?.stringValue }) {
                snapshot.events += try await store.events(layer, id: id).map { id + $0.kind.rawValue }
            }
        }
        snapshot.statistics = try await store.layerStatistics()
        return snapshot
    }

    @Test("is refused with a located message and changes nothing", arguments: Backends.all, cases)
    func refused(backend: Backend, _ c: Case) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        _ = try await store.importFeatures(from: try dir.write("good.geojson", Self.good), options: ImportOptions(layer: .listings), progress: nil)
        var options = ImportOptions(layer: .parcels)
        options.idField = nil
        _ = try await store.importFeatures(from: try dir.write("parcel.geojson", Self.collection(Self.feature("p0", Self.square))), options: options, progress: nil)
        let before = try await Self.snapshot(store)

        let path = c.content.map { try? dir.write(c.fileName, $0) } ?? dir.path(c.fileName)
        do {
            _ = try await store.importFeatures(from: path ?? dir.path(c.fileName), options: ImportOptions(layer: c.layer), progress: nil)
            Issue.record("\(c.name) was accepted")
        } catch let error as RGISError {
            for mention in c.mentions {
                #expect(error.description.contains(mention), "\(error.description) should mention \(mention)")
            }
        }
        #expect(try await Self.snapshot(store) == before)
        #expect(try await store.check().isEmpty)
    }

    @Test("--skip-invalid imports the good rows and lists each rejected one with its reason", arguments: Backends.all)
    func skipInvalid(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let file = try dir.write("mixed.geojson", Self.collection(
            Self.feature("ok1", #"{"type":"Point","coordinates":[13.4,52.5]}"#),
            Self.feature("bad1", #"{"type":"Point","coordinates":[13.4,99]}"#),
            Self.feature("ok2", #"{"type":"Point","coordinates":[13.5,52.5]}"#, #"{"bedrooms":2}"#),
            Self.feature("bad2", #"{"type":"Point","coordinates":[13.5,52.5]}"#, #"{"bedrooms":"two"}"#),
            Self.feature("ok1", #"{"type":"Point","coordinates":[13.6,52.5]}"#)
        ))
        var options = ImportOptions(layer: .listings)
        options.skipInvalid = true
        let report = try await store.importFeatures(from: file, options: options, progress: nil)
        #expect(report.rowsRead == 5)
        #expect(report.imported == 2)
        #expect(report.rejected.map(\.location) == ["feature 2 (line 2)", "feature 4 (line 4)", "feature 5 (line 5)"])
        #expect(report.rejected[1].reason.contains("bedrooms"))
        #expect(report.rejected[2].reason.contains("duplicate id 'ok1'"))
        let ids = try await store.exportedFeatures(.listings).compactMap { $0["id"]?.stringValue }.sorted()
        #expect(ids == ["ok1", "ok2"])
        #expect(try await store.check().isEmpty)
    }

    @Test("--upsert replaces stored records and logs price and status changes", arguments: Backends.all)
    func upsert(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        _ = try await store.importFeatures(from: try dir.write("good.geojson", Self.good), options: ImportOptions(layer: .listings), progress: nil)
        let update = try dir.write("update.geojson", Self.collection(
            Self.feature("a", #"{"type":"Point","coordinates":[13.45,52.55]}"#, #"{"list_price":95000,"status":"pending"}"#),
            Self.feature("c", #"{"type":"Point","coordinates":[13.46,52.56]}"#)
        ))
        var options = ImportOptions(layer: .listings)
        options.upsert = true
        let report = try await store.importFeatures(from: update, options: options, progress: nil)
        #expect(report.inserted == 1)
        #expect(report.updated == 1)
        let count = try await store.count(.listings)
        let a = try await store.feature(.listings, id: "a")
        let price = a.properties["list_price"]?.number
        let point = try Geometry(geoJSON: try JSONValue.parse(Array(a.geometryGeoJSON.utf8)))
        // Every listing's events, in the order the store wrote them.
        var written: [(id: Int64, text: String)] = []
        for id in try await store.exportedFeatures(.listings).compactMap({ $0["id"]?.stringValue }) {
            written += try await store.events(.listings, id: id).map { event in
                (event.id, "\(id) \(event.kind.rawValue) \(Values.text(event.oldValue))>\(Values.text(event.newValue))")
            }
        }
        let events = written.sorted { $0.id < $1.id }.map(\.text)
        #expect(count == 3)
        #expect(price == 95000)
        #expect(point == .point(Position(lon: 13.45, lat: 52.55)))
        // The point moved too: `update`, which starts a new match.
        #expect(events == ["a new >", "b new >", "a price_change 100000.0>95000.0", "a status_change active>pending", "a update >", "c new >"])
        // The moved point is found at its new place through the spatial index.
        #expect(try await store.check().isEmpty)
    }

    @Test("a location where no store was made is not found", arguments: Backends.all)
    func absent(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let location = try backend.location(dir, "absent")
        await #expect { try await StoreLocation.open(location) } throws: { ($0 as? RGISError)?.code == .notFound }
    }

    @Test("--srid with an unknown code is refused before anything is read", arguments: Backends.all)
    func unknownSRID(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        var options = ImportOptions(layer: .listings)
        options.sourceSRID = SRID(999_999)
        let file = try dir.write("g.geojson", Self.good)
        let error = await #expect(throws: RGISError.self) { _ = try await store.importFeatures(from: file, options: options, progress: nil) }
        #expect(error?.reason.contains("999999") == true)
    }
}
