import Foundation
import RGISCore
import RGISFiles
import RGISGeodesy
import RGISStore
import RGISTesting
import Testing

/// Every layer of ../shared/geodata goes into the layer it belongs in, with the counts, extents and
/// attribute values its README gives, on every backend.
@Suite("Conformance: import of the shared real data")
struct SharedDataImportConformance {
    struct Case: CustomTestStringConvertible, Sendable {
        let file: String
        let layer: Layer
        let count: Int
        let idField: String?
        let map: String?
        /// An id and a property value that must be stored for it (`extra`: the source's properties that
        /// are not the layer's fields, as JSON).
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

    @Test("imports with the README's count, extent and values", arguments: Backends.all, cases)
    func importsSharedLayer(backend: Backend, _ c: Case) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        var options = ImportOptions(layer: c.layer)
        options.idField = c.idField
        if let map = c.map { options.mapping = try FieldMapping(parsing: map, for: c.layer) }
        options.defaultRadiusMetres = 500
        let report = try await store.importFeatures(from: Fixtures.shared(c.file), options: options, progress: nil)
        #expect(report.rowsRead == c.count)
        #expect(report.imported == c.count)
        #expect(report.rejectedCount == 0)

        let info = try await store.info()
        let layer = try #require(info.layers.first { $0.layer == c.layer })
        #expect(layer.count == c.count)
        #expect(layer.srid == .wgs84)
        // The stored extent (kept by the store, possibly as 32-bit floats) matches the source file's own.
        let extent = try #require(layer.extent)
        let source = try Self.sourceExtent(Fixtures.shared(c.file))
        // Demand points grow into 500 m circles: about 0.0045° of latitude, 0.0073° of longitude in London.
        let tolerance = c.layer == .demands ? 0.01 : 1e-4
        #expect(abs(extent.west - source.west) < tolerance && abs(extent.east - source.east) < tolerance)
        #expect(abs(extent.south - source.south) < tolerance && abs(extent.north - source.north) < tolerance)
        if c.layer == .demands {
            #expect(extent.west < source.west && extent.north > source.north)
        }

        let feature = try await store.feature(c.layer, id: c.sample.id)
        let stored = c.sample.column == "extra" ? Values.extraText(feature.properties, c.layer)
            : Values.columnText(feature.properties[c.sample.column], c.layer, c.sample.column)
        #expect(stored == c.sample.value)
        #expect(try await store.check().isEmpty)
    }

    @Test("the street centre lines are refused by every layer, naming the geometry type, and nothing is stored", arguments: Backends.all)
    func streetsHaveNoLayer(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        for layer in Layer.allCases {
            let error = await #expect(throws: RGISError.self) {
                _ = try await store.importFeatures(from: Fixtures.shared("prague-bubenec/streets.geojson"), options: ImportOptions(layer: layer), progress: nil)
            }
            #expect(error?.description.contains("feature 1 (line 4): geometry LineString cannot be stored in layer \(layer)") == true)
        }
        #expect(try await store.info().layers.allSatisfy { $0.count == 0 })
    }

    /// The bounding box of every position in a GeoJSON file, computed from the file itself.
    static func sourceExtent(_ path: String) throws -> BBox {
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

    @Test("every geometry keeps its vertices: stored area equals the source's geodesic area", arguments: Backends.all)
    func areasSurvive(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try await store.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        // area_m2 is computed on import from the stored polygon; recompute from the stored geometry
        // and compare the total with the sum of the parts as an internal consistency check.
        let parcels = try await store.exportedFeatures(.parcels)
        let total = parcels.reduce(0) { $0 + ($1["properties"]?["area_m2"]?.number ?? 0) }
        let geometries = try parcels.map(Shapes.geometry)
        let recomputed = geometries.reduce(0) { $0 + Geodesic.areaSquareMetres($1) }
        let ccw = geometries.filter(Shapes.isCounterClockwise).count
        #expect(abs(total - recomputed) < 1e-6 * total, "area_m2 totals \(total), the geometries \(recomputed)")
        #expect(total > 100_000 && total < 2_000_000)
        #expect(ccw == 407)
    }

    @Test("a CSV of projected X/Y with --srid 3857 lands within 1 cm of the GeoJSON positions", arguments: Backends.all)
    func projectedCSV(backend: Backend) async throws {
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
        let store = try await backend.emptyStore(in: dir)
        var options = ImportOptions(layer: .listings)
        options.sourceSRID = SRID(3857)
        options.mapping = try FieldMapping(parsing: "price=list_price", for: .listings)
        let report = try await store.importFeatures(from: csvPath, options: options, progress: nil)
        #expect(report.imported == 2203)
        // Compare each stored point with the GeoJSON position, geodesically.
        var stored: [String: Position] = [:]
        for f in try await store.exportedFeatures(.listings) {
            if let id = f["id"]?.stringValue, case .point(let p) = try Shapes.geometry(f) { stored[id] = p }
        }
        var worst = 0.0
        for (i, f) in features.enumerated() {
            guard case .array(let c)? = f["geometry"]?["coordinates"] else { continue }
            let d = stored[String(i + 1)].map { Geodesic.distanceMetres($0, Position(lon: c[0].number!, lat: c[1].number!)) } ?? .infinity
            worst = max(worst, d)
        }
        #expect(worst < 0.01, "largest distance \(worst) m")
    }

    @Test("a demand circle of 500 m has the geodesic area of a 500 m circle (within 0.5 %)", arguments: Backends.all)
    func demandCircles(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        var options = ImportOptions(layer: .demands)
        options.defaultRadiusMetres = 500
        _ = try await store.importFeatures(from: Fixtures.shared("london/cycle_hire.geojson"), options: options, progress: nil)
        let circles = try await store.exportedFeatures(.demands).map(Shapes.geometry)
        let areas = circles.map(Geodesic.areaSquareMetres)
        let (minArea, maxArea) = (areas.min() ?? 0, areas.max() ?? 0)
        let contains = circles.filter { circle in Shapes.centroid(circle).map { Shapes.contains(circle, $0) } ?? false }.count
        let circle = Double.pi * 500 * 500
        #expect(abs(minArea / circle - 1) < 0.005)
        #expect(abs(maxArea / circle - 1) < 0.005)
        #expect(contains == 742)
    }
}
