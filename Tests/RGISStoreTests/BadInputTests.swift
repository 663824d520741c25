import Foundation
import GRDB
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Every bad input gets one error naming the file, the feature or line and the problem, and leaves the
/// database exactly as it was.
@Suite("Bad input loses nothing")
struct BadInputTests {
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

    /// The database's content, for "exactly as it was".
    func snapshot(_ db: RGISDatabase) throws -> [String] {
        try db.read { db in
            try Layer.allCases.flatMap { layer in
                try String.fetchAll(db, sql: "SELECT id || ':' || hex(geom) || ':' || coalesce(extra, '') FROM \(layer.table) ORDER BY fid")
            } + String.fetchAll(db, sql: "SELECT record_id || kind FROM events ORDER BY id")
        }
    }

    @Test("is refused with a located message and changes nothing", arguments: cases)
    func refused(_ c: Case) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        _ = try db.importFeatures(from: try dir.write("good.geojson", Self.good), options: ImportOptions(layer: .listings))
        var options = ImportOptions(layer: .parcels)
        options.idField = nil
        _ = try db.importFeatures(from: try dir.write("parcel.geojson", Self.collection(Self.feature("p0", Self.square))), options: options)
        let before = try snapshot(db)

        let path = c.content.map { try? dir.write(c.fileName, $0) } ?? dir.path(c.fileName)
        do {
            _ = try db.importFeatures(from: path ?? dir.path(c.fileName), options: ImportOptions(layer: c.layer))
            Issue.record("\(c.name) was accepted")
        } catch let error as RGISError {
            for mention in c.mentions {
                #expect(error.description.contains(mention), "\(error.description) should mention \(mention)")
            }
        }
        #expect(try snapshot(db) == before)
        #expect(try db.check().isEmpty)
    }

    @Test("--skip-invalid imports the good rows and lists each rejected one with its reason")
    func skipInvalid() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        let file = try dir.write("mixed.geojson", Self.collection(
            Self.feature("ok1", #"{"type":"Point","coordinates":[13.4,52.5]}"#),
            Self.feature("bad1", #"{"type":"Point","coordinates":[13.4,99]}"#),
            Self.feature("ok2", #"{"type":"Point","coordinates":[13.5,52.5]}"#, #"{"bedrooms":2}"#),
            Self.feature("bad2", #"{"type":"Point","coordinates":[13.5,52.5]}"#, #"{"bedrooms":"two"}"#),
            Self.feature("ok1", #"{"type":"Point","coordinates":[13.6,52.5]}"#)
        ))
        var options = ImportOptions(layer: .listings)
        options.skipInvalid = true
        let report = try db.importFeatures(from: file, options: options)
        #expect(report.rowsRead == 5)
        #expect(report.imported == 2)
        #expect(report.rejected.map(\.location) == ["feature 2 (line 2)", "feature 4 (line 4)", "feature 5 (line 5)"])
        #expect(report.rejected[1].reason.contains("bedrooms"))
        #expect(report.rejected[2].reason.contains("duplicate id 'ok1'"))
        let ids = try db.read { try String.fetchAll($0, sql: "SELECT id FROM listings ORDER BY id") }
        #expect(ids == ["ok1", "ok2"])
        #expect(try db.check().isEmpty)
    }

    @Test("--upsert replaces stored records and logs price and status changes")
    func upsert() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        _ = try db.importFeatures(from: try dir.write("good.geojson", Self.good), options: ImportOptions(layer: .listings))
        let update = try dir.write("update.geojson", Self.collection(
            Self.feature("a", #"{"type":"Point","coordinates":[13.45,52.55]}"#, #"{"list_price":95000,"status":"pending"}"#),
            Self.feature("c", #"{"type":"Point","coordinates":[13.46,52.56]}"#)
        ))
        var options = ImportOptions(layer: .listings)
        options.upsert = true
        let report = try db.importFeatures(from: update, options: options)
        #expect(report.inserted == 1)
        #expect(report.updated == 1)
        let (count, price, x, events) = try db.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM listings")!,
             try Double.fetchOne(db, sql: "SELECT list_price FROM listings WHERE id = 'a'")!,
             try Double.fetchOne(db, sql: "SELECT X(geom) FROM listings WHERE id = 'a'")!,
             try String.fetchAll(db, sql: "SELECT record_id || ' ' || kind || ' ' || coalesce(old_value, '') || '>' || coalesce(new_value, '') FROM events ORDER BY id"))
        }
        #expect(count == 3)
        #expect(price == 95000)
        #expect(x == 13.45)
        // The point moved too: `update`, which starts a new match.
        #expect(events == ["a new >", "b new >", "a price_change 100000.0>95000.0", "a status_change active>pending", "a update >", "c new >"])
        // The moved point is found at its new place through the R*Tree.
        #expect(try db.check().isEmpty)
    }

    @Test("a file that is not SQLite, and a SQLite file of another application, are not RGIS databases")
    func notRGIS() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let text = try dir.write("notes.sqlite", "just some text, long enough to not be an empty database file..........")
        #expect { try RGISDatabase.open(at: text) } throws: { ($0 as? RGISError)?.code == .notAnRGISDatabase }
        let other = dir.path("other.sqlite")
        let queue = try DatabaseQueue(path: other)
        try queue.write { try $0.execute(sql: "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts VALUES (1, 'x')") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: other))
        #expect { try RGISDatabase.open(at: other) } throws: { ($0 as? RGISError)?.code == .notAnRGISDatabase }
        #expect { try RGISDatabase.create(at: other) } throws: { ($0 as? RGISError)?.code == .notAnRGISDatabase }
        #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == before)
        #expect { try RGISDatabase.open(at: dir.path("absent.sqlite")) } throws: { ($0 as? RGISError)?.code == .notFound }
    }

    @Test("--srid with an unknown code is refused before anything is read")
    func unknownSRID() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        var options = ImportOptions(layer: .listings)
        options.sourceSRID = SRID(999_999)
        #expect { try db.importFeatures(from: try dir.write("g.geojson", Self.good), options: options) } throws: {
            ($0 as? RGISError)?.reason.contains("999999") == true
        }
    }
}
