import Foundation
import GRDB
import Testing
import RGISCore
import RGISStore
import RGISTesting

@Suite("Export and check")
struct ExportAndCheckTests {
    func export(_ db: RGISDatabase, _ layer: Layer, bbox: BBox? = nil) throws -> [JSONValue] {
        var text = ""
        let count = try db.exportGeoJSON(layer: layer, bbox: bbox) { text += $0 }
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["type"] == .string("FeatureCollection"))
        guard case .array(let features)? = value["features"] else { return [] }
        #expect(features.count == count)
        return features
    }

    /// Twice the signed area of a ring in lon/lat: positive when counter-clockwise.
    func signedArea(_ ring: [Position]) -> Double {
        zip(ring, ring.dropFirst()).reduce(0) { $0 + ($1.0.lon * $1.1.lat - $1.1.lon * $1.0.lat) }
    }

    @Test("exported parcels keep their ids, attributes and RFC 7946 winding")
    func exportParcels() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        try db.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        let features = try export(db, .parcels)
        #expect(features.count == 407)
        let first = try #require(features.first { $0["id"] == .string("760") })
        #expect(first["properties"]?["ID_2"] == .string("2402108101"))
        #expect(first["properties"]?["KATUZE_KOD"] == .int(730106))
        #expect(first["properties"]?["area_m2"]?.number ?? 0 > 0)
        for f in features {
            let g = try Geometry(geoJSON: f["geometry"]!)
            guard case .multiPolygon(let polygons) = g else { Issue.record("not a MultiPolygon"); continue }
            for rings in polygons {
                #expect(signedArea(rings[0]) > 0, "exterior ring of \(f["id"]!.shortDescription) is clockwise")
                for hole in rings.dropFirst() { #expect(signedArea(hole) < 0) }
            }
        }
        // Re-importing the export gives the same database content.
        var roundTrip = ""
        try db.exportGeoJSON(layer: .parcels) { roundTrip += $0 }
        let again = try dir.database("again.sqlite")
        _ = try again.importFeatures(from: try dir.write("export.geojson", roundTrip), options: ImportOptions(layer: .parcels))
        var second = ""
        try again.exportGeoJSON(layer: .parcels) { second += $0 }
        #expect(second == roundTrip)
    }

    @Test("CSV exports read back: rgis imports them again to the same rows, and GDAL reads their geometry")
    func csvRoundTrip() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let again = try dir.database("again.sqlite")
        for layer in [Layer.districts, .listings, .parcels] {
            var text = ""
            let count = try database.exportCSV(layer: layer) { text += $0 }
            let path = try dir.write("\(layer.rawValue).csv", text)
            let report = try again.importFeatures(from: path, options: ImportOptions(layer: layer))
            #expect(report.inserted == count && count > 30, "\(layer)")
            let fingerprint = "SELECT group_concat(id || ':' || round(ST_Area(geom, 1)) || ':' || round(X(ST_Centroid(geom)), 7), ',') FROM (SELECT * FROM \(layer.table) ORDER BY id)"
            let (a, b) = (try database.read { try String.fetchOne($0, sql: fingerprint) }, try again.read { try String.fetchOne($0, sql: fingerprint) })
            #expect(a == b, "\(layer): the geometry came back the same")
            if layer == .listings {
                let prices = "SELECT group_concat(id || ':' || COALESCE(list_price, '') || ':' || COALESCE(close_date, '') || ':' || COALESCE(address, ''), ',') FROM (SELECT * FROM listings ORDER BY id)"
                #expect(try database.read { try String.fetchOne($0, sql: prices) } == (try again.read { try String.fetchOne($0, sql: prices) }))
            }
            if let ogrinfo = which("ogrinfo") {
                let options = layer == .listings ? ["-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat"] : ["-oo", "GEOM_POSSIBLE_NAMES=wkt"]
                let info = try run(ogrinfo, ["-ro", "-so", "-al"] + options + [path])
                // GDAL finds the geometry in lon/lat or wkt: the layer has the city's extent.
                #expect(info.stdout.contains("Feature Count: \(count)") && info.stdout.contains("Extent: (9.0"), "\(info.stdout)")
            }
        }
    }

    @Test("--bbox returns exactly the listings inside the box, as the source file says")
    func bboxExport() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        let path = Fixtures.shared("berlin-prenzlauer/listings.geojson")
        _ = try db.importFeatures(from: path, options: ImportOptions(layer: .listings))
        let box = try BBox(west: 13.41, south: 52.535, east: 13.425, north: 52.545)
        let source = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        guard case .array(let all)? = source["features"] else { return }
        let expected = all.filter {
            guard case .point(let p) = try? Geometry(geoJSON: $0["geometry"]!) else { return false }
            return p.lon >= box.west && p.lon <= box.east && p.lat >= box.south && p.lat <= box.north
        }.count
        let features = try export(db, .listings, bbox: box)
        #expect(expected > 100)
        #expect(features.count == expected)
    }

    @Test("a bbox across the antimeridian finds points on both sides and nothing between")
    func antimeridian() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        let file = try dir.write("fiji.geojson", """
            {"type":"FeatureCollection","features":[
            {"type":"Feature","id":"east","geometry":{"type":"Point","coordinates":[179.99,-16.5]},"properties":{}},
            {"type":"Feature","id":"west","geometry":{"type":"Point","coordinates":[-179.99,-16.5]},"properties":{}},
            {"type":"Feature","id":"greenwich","geometry":{"type":"Point","coordinates":[0,-16.5]},"properties":{}}
            ]}
            """)
        _ = try db.importFeatures(from: file, options: ImportOptions(layer: .listings))
        let features = try export(db, .listings, bbox: BBox(parsing: "179.9,-17,-179.9,-16"))
        #expect(Set(features.compactMap { $0["id"] }) == [.string("east"), .string("west")])
    }

    @Test("check finds a spatial index out of step with its table")
    func checkFindsProblems() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        var options = ImportOptions(layer: .buildings)
        options.idField = "uID"
        _ = try db.importFeatures(from: Fixtures.shared("prague-bubenec/buildings.geojson"), options: options)
        #expect(try db.check().isEmpty)
        let queue = try DatabaseQueue(path: db.path)
        try queue.writeWithoutTransaction { try $0.execute(sql: "DELETE FROM idx_buildings_geom WHERE pkid IN (1, 2, 3)") }
        try queue.close()
        let problems = try db.check()
        #expect(problems.count == 1)
        #expect(problems.first?.description.contains("3 geometries are missing from the spatial index") == true)
    }
}
