import Foundation
import GRDB
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// Every layer of ../shared/geodata goes into the table it belongs in, with the counts, extents and
/// attribute values its README gives.
@Suite("Import of the shared real data")
struct SharedDataImportTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let file: String
        let layer: Layer
        let count: Int
        let idField: String?
        let map: String?
        /// An id and a property value that must be stored for it.
        let sample: (id: String, column: String, value: String)
        var testDescription: String { "\(file) → \(layer)" }
    }

    static let cases: [Case] = [
        Case(file: "berlin-prenzlauer/listings.geojson", layer: .listings, count: 2203, idField: nil, map: "price=list_price",
             sample: ("listing-1", "list_price", "35.0")),
        Case(file: "berlin-prenzlauer/boundary.geojson", layer: .districts, count: 1, idField: nil, map: "neighbourh=name",
             sample: ("district-1", "name", "Helmholtzplatz")),
        Case(file: "prague-bubenec/buildings.geojson", layer: .buildings, count: 144, idField: "uID", map: nil,
             sample: ("1", "extra", #"{"uID":1}"#)),
        Case(file: "prague-bubenec/plots.geojson", layer: .parcels, count: 407, idField: "ID", map: "ID_2=cadastral_number",
             sample: ("760", "cadastral_number", "2402108101")),
        Case(file: "prague-bubenec/tessellation.geojson", layer: .parcels, count: 144, idField: "uID", map: nil,
             sample: ("1", "extra", #"{"uID":1}"#)),
        Case(file: "helsinki-osm/buildings.geojson", layer: .buildings, count: 471, idField: "osm_way_id", map: "building=use",
             sample: ("building-1", "use", "yes")),
        Case(file: "nyc-boroughs/boroughs.geojson", layer: .districts, count: 5, idField: "BoroCode", map: "BoroName=name",
             sample: ("5", "name", "Staten Island")),
        Case(file: "boston/tracts.geojson", layer: .districts, count: 506, idField: "poltract", map: "TOWN=name",
             sample: ("0001", "name", "Boston Allston-Brighton")),
        Case(file: "chicago/community_areas.geojson", layer: .districts, count: 77, idField: "AREA_NUMBE", map: "COMMUNITY=name",
             sample: ("1", "name", "ROGERS PARK")),
        Case(file: "london/boroughs.geojson", layer: .districts, count: 33, idField: "GSS_CODE", map: "NAME=name",
             sample: ("E09000021", "name", "Kingston upon Thames")),
        Case(file: "london/cycle_hire.geojson", layer: .demands, count: 742, idField: nil, map: nil,
             sample: ("1", "radius_m", "500.0")),
    ]

    @Test("imports with the README's count, extent and values", arguments: cases)
    func importsSharedLayer(_ c: Case) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        var options = ImportOptions(layer: c.layer)
        options.idField = c.idField
        if let map = c.map { options.mapping = try FieldMapping(parsing: map, for: c.layer) }
        options.defaultRadiusMetres = 500
        let report = try db.importFeatures(from: Fixtures.shared(c.file), options: options)
        #expect(report.rowsRead == c.count)
        #expect(report.imported == c.count)
        #expect(report.rejectedCount == 0)

        let info = try db.info()
        let layer = try #require(info.layers.first { $0.layer == c.layer })
        #expect(layer.count == c.count)
        #expect(layer.srid == .wgs84)
        // The stored extent (read from the R*Tree, 32-bit floats) matches the source file's own.
        let extent = try #require(layer.extent)
        let source = try sourceExtent(Fixtures.shared(c.file))
        // Demand points grow into 500 m circles: about 0.0045° of latitude, 0.0073° of longitude in London.
        let tolerance = c.layer == .demands ? 0.01 : 1e-4
        #expect(abs(extent.west - source.west) < tolerance && abs(extent.east - source.east) < tolerance)
        #expect(abs(extent.south - source.south) < tolerance && abs(extent.north - source.north) < tolerance)
        if c.layer == .demands {
            #expect(extent.west < source.west && extent.north > source.north)
        }

        let stored = try db.read { db in
            try String.fetchOne(db, sql: "SELECT CAST(\(c.sample.column) AS TEXT) FROM \(c.layer.table) WHERE id = ?", arguments: [c.sample.id])
        }
        #expect(stored == c.sample.value)
        #expect(try db.check().isEmpty)
    }

    @Test("the street centre lines are refused by every layer, naming the geometry type, and nothing is stored")
    func streetsHaveNoLayer() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        for layer in Layer.allCases {
            #expect { try db.importFeatures(from: Fixtures.shared("prague-bubenec/streets.geojson"), options: ImportOptions(layer: layer)) } throws: {
                ($0 as? RGISError)?.description.contains("feature 1 (line 4): geometry LineString cannot be stored in layer \(layer)") == true
            }
        }
        #expect(try db.info().layers.allSatisfy { $0.count == 0 })
    }

    /// The bounding box of every position in a GeoJSON file, computed from the file itself.
    func sourceExtent(_ path: String) throws -> BBox {
        let value = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        guard case .array(let features)? = value["features"] else { throw RGISError(.malformedInput, "no features") }
        var w = 180.0, s = 90.0, e = -180.0, n = -90.0
        for f in features {
            for p in try Geometry(geoJSON: f["geometry"]!).positions {
                w = min(w, p.lon); e = max(e, p.lon); s = min(s, p.lat); n = max(n, p.lat)
            }
        }
        return try BBox(west: w, south: s, east: e, north: n)
    }

    @Test("every geometry keeps its vertices: stored area equals the source's geodesic area")
    func areasSurvive() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        try db.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        // area_m2 is computed on import from the stored polygon; recompute from the stored geometry
        // and compare the total with the sum of the parts as an internal consistency check.
        let (total, recomputed, ccw) = try db.read { db -> (Double, Double, Int) in
            let row = try Row.fetchOne(db, sql: """
                SELECT sum(area_m2), sum(ST_Area(geom, 1)),
                       sum(ST_Equals(geom, ST_ForcePolygonCCW(geom))) FROM parcels
                """)!
            return (row[0], row[1], row[2])
        }
        #expect(abs(total - recomputed) < 1e-6 * total)
        #expect(total > 100_000 && total < 2_000_000)
        #expect(ccw == 407)
    }

    @Test("a CSV of projected X/Y with --srid 3857 lands within 1 cm of the GeoJSON positions")
    func projectedCSV() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        // Build the CSV from the shared file's own EPSG:3857 attributes X and Y.
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.shared("berlin-prenzlauer/listings.geojson")))
        let collection = try JSONValue.parse(Array(data))
        guard case .array(let features)? = collection["features"] else { Issue.record("no features"); return }
        var csv = "id,X,Y,price\n"
        for (i, f) in features.enumerated() {
            let p = f["properties"]!
            csv += "\(i + 1),\(p["X"]!.number!),\(p["Y"]!.number!),\(p["price"]!.number!)\n"
        }
        let csvPath = try dir.write("berlin.csv", csv)
        let db = try dir.database()
        var options = ImportOptions(layer: .listings)
        options.sourceSRID = SRID(3857)
        options.mapping = try FieldMapping(parsing: "price=list_price", for: .listings)
        let report = try db.importFeatures(from: csvPath, options: options)
        #expect(report.imported == 2203)
        // Compare each stored point with the GeoJSON position, geodesically.
        var worst = 0.0
        try db.read { db in
            for (i, f) in features.enumerated() {
                guard case .array(let c)? = f["geometry"]?["coordinates"] else { continue }
                let d = try Double.fetchOne(db, sql: "SELECT ST_Distance(geom, MakePoint(?, ?, 4326), 1) FROM listings WHERE id = ?",
                                            arguments: [c[0].number!, c[1].number!, String(i + 1)]) ?? .infinity
                worst = max(worst, d)
            }
        }
        #expect(worst < 0.01, "largest distance \(worst) m")
    }

    @Test("a demand circle of 500 m has the geodesic area of a 500 m circle (within 0.5 %)")
    func demandCircles() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        var options = ImportOptions(layer: .demands)
        options.defaultRadiusMetres = 500
        _ = try db.importFeatures(from: Fixtures.shared("london/cycle_hire.geojson"), options: options)
        let (minArea, maxArea, contains) = try db.read { db -> (Double, Double, Int) in
            let row = try Row.fetchOne(db, sql: """
                SELECT min(ST_Area(geom, 1)), max(ST_Area(geom, 1)),
                       sum(ST_Contains(geom, ST_Centroid(geom))) FROM demands
                """)!
            return (row[0], row[1], row[2])
        }
        let circle = Double.pi * 500 * 500
        #expect(abs(minArea / circle - 1) < 0.005)
        #expect(abs(maxArea / circle - 1) < 0.005)
        #expect(contains == 742)
    }
}
