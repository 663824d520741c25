import Foundation
import RGISCore
import RGISFiles
import RGISGeodesy
import RGISStore
import RGISTesting
import Testing

/// Files of the formats GDAL reads, written at test time by `ogr2ogr` from the demo city and the shared
/// real data (Shapefiles in projected CRSs among them), imported and compared row by row with the
/// import of the GeoJSON they were made from, on every backend.
@Suite("Conformance: import of Shapefile, GeoPackage, FlatGeobuf, KML and GML through GDAL")
struct GDALImportConformance {
    static let ogr2ogr = which("ogr2ogr") ?? "/usr/bin/ogr2ogr"

    /// `ogr2ogr ARGS`, failing the test with its message when it fails.
    static func convert(_ arguments: [String]) async throws {
        let result = try await run(ogr2ogr, arguments)
        guard result.status == 0 else { throw RGISError(.io, "ogr2ogr \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// The GeoJSON it is made from (the demo city's geodata/ or ../shared/geodata).
        let source: String
        let layer: Layer
        /// ogr2ogr's output name and arguments before it (`-f`, `-t_srs`…).
        let output: String
        let arguments: [String]
        var idField: String? = nil
        var map: String? = nil
        /// The columns compared beside id and geometry.
        let columns: [String]
        /// How far a vertex may move through the projection and back, in degrees (1e-7° is about 1 cm).
        var tolerance = 1e-9
        var testDescription: String { name }
    }

    static let demo = Fixtures.packageRoot.appendingPathComponent("geodata").path
    static let listingColumns = ["status", "property_type", "list_price", "living_area_m2", "bedrooms", "list_date", "close_date", "close_price", "agent"]

    static let cases: [Case] = [
        Case(name: "demo listings as a Shapefile in EPSG:25832 (field names cut to 10 characters)", source: "\(demo)/listings.geojson", layer: .listings,
             output: "listings.shp", arguments: ["-f", "ESRI Shapefile", "-t_srs", "EPSG:25832", "-lco", "ENCODING=UTF-8"],
             columns: listingColumns, tolerance: 1e-7),
        Case(name: "demo demands as a GeoPackage in EPSG:3857", source: "\(demo)/demands.geojson", layer: .demands,
             output: "demands.gpkg", arguments: ["-f", "GPKG", "-t_srs", "EPSG:3857", "-nln", "demands"],
             columns: ["status", "budget_min", "budget_max", "bedrooms_min", "property_types", "client_id"], tolerance: 1e-7),
        Case(name: "Prague plots as a zipped Shapefile in EPSG:32633", source: Fixtures.shared("prague-bubenec/plots.geojson"), layer: .parcels,
             output: "plots.shp.zip", arguments: ["-f", "ESRI Shapefile", "-t_srs", "EPSG:32633"], idField: "ID", map: "ID_2=cadastral_number",
             columns: ["cadastral_number"], tolerance: 1e-7),
        // Without its spatial index, FlatGeobuf keeps the features' order, which the generated ids follow.
        Case(name: "Berlin listings as FlatGeobuf", source: Fixtures.shared("berlin-prenzlauer/listings.geojson"), layer: .listings,
             output: "listings.fgb", arguments: ["-f", "FlatGeobuf", "-lco", "SPATIAL_INDEX=NO"], map: "price=list_price", columns: ["list_price"]),
        // Sheets have no geometry: the coordinates are columns, as a spreadsheet user keeps them.
        Case(name: "demo listings as an XLSX sheet with lon and lat columns", source: "\(demo)/listings.geojson", layer: .listings,
             output: "listings.xlsx", arguments: ["-f", "XLSX", "-nln", "listings", "-dialect", "SQLite", "-sql", "SELECT *, ST_X(geometry) AS lon, ST_Y(geometry) AS lat FROM listings"],
             columns: listingColumns),
        Case(name: "demo parcels as an ODS sheet with a WKT column", source: "\(demo)/parcels.geojson", layer: .parcels,
             output: "parcels.ods", arguments: ["-f", "ODS", "-nln", "parcels", "-dialect", "SQLite", "-sql", "SELECT *, AsWKT(geometry, 9) AS wkt FROM parcels"],
             columns: ["cadastral_number"]),
        Case(name: "Helsinki buildings as KML", source: Fixtures.shared("helsinki-osm/buildings.geojson"), layer: .buildings,
             output: "buildings.kml", arguments: ["-f", "KML"], idField: "osm_way_id", map: "building=use", columns: ["use"], tolerance: 1e-7),
        Case(name: "London boroughs as GML", source: Fixtures.shared("london/boroughs.geojson"), layer: .districts,
             output: "boroughs.gml", arguments: ["-f", "GML"], idField: "GSS_CODE", map: "NAME=name", columns: ["name"], tolerance: 1e-7),
    ]

    static func options(_ c: Case) throws -> ImportOptions {
        var options = ImportOptions(layer: c.layer)
        options.idField = c.idField
        if let map = c.map { options.mapping = try FieldMapping(parsing: map, for: c.layer) }
        options.defaultRadiusMetres = 500
        return options
    }

    /// Each row's compared columns, vertices (as exported: 9 decimals) and geodesic area, by id.
    static func rows(_ store: any Store, _ c: Case) async throws -> [String: (values: [JSONValue], vertices: [Double], geodesicArea: Double)] {
        var out: [String: ([JSONValue], [Double], Double)] = [:]
        for feature in try await store.exportedFeatures(c.layer) {
            guard let id = feature["id"]?.stringValue else { continue }
            let values = c.columns.map { Values.normalized(feature["properties"]?[$0] ?? .null) }
            out[id] = (values, Shapes.coordinates(feature["geometry"]), Geodesic.areaSquareMetres(try Shapes.geometry(feature)))
        }
        return out
    }

    @Test("imports alike: the same ids, values and vertices as the GeoJSON it was made from", arguments: Backends.all, cases)
    func importsAlike(backend: Backend, _ c: Case) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let made: String
        if c.output.hasSuffix(".zip") {
            // A zipped Shapefile: its .shp, .shx, .dbf and .prj in one archive, as cadastral offices hand them out.
            try await Self.convert(c.arguments + [dir.path("plots"), c.source])
            made = dir.path(c.output)
            let zip = try await run("/usr/bin/python3", ["-c", "import shutil, sys; shutil.make_archive(sys.argv[1], 'zip', sys.argv[2])", String(made.dropLast(4)), dir.path("plots")])
            #expect(zip.status == 0, "\(zip.stderr)")
        } else {
            made = dir.path(c.output)
            try await Self.convert(c.arguments + [made, c.source])
        }
        let expected = try await backend.emptyStore(in: dir, "geojson")
        let wanted = try await expected.importFeatures(from: c.source, options: Self.options(c), progress: nil)
        let store = try await backend.emptyStore(in: dir, "gdal")
        let report = try await store.importFeatures(from: made, options: Self.options(c), progress: nil)
        #expect(report.source != nil, "the report names what GDAL read")
        #expect(report.rowsRead == wanted.rowsRead && report.imported == wanted.imported && report.rejectedCount == 0, "\(report.rejected.prefix(3))")
        if c.arguments.contains("-t_srs") { #expect(report.source?.contains("→ EPSG:4326") == true, "\(report.source ?? "")") }

        let ours = try await Self.rows(store, c), theirs = try await Self.rows(expected, c)
        #expect(ours.count == theirs.count && ours.count == wanted.imported)
        var differences: [String] = []
        for (id, want) in theirs {
            guard let got = ours[id] else { differences.append("\(id): missing"); continue }
            if got.values != want.values { differences.append("\(id): \(got.values) ≠ \(want.values)") }
            // KML and GML may close or orient rings their way; the area and the extent of the vertices must agree.
            let sameVertices = got.vertices.count == want.vertices.count && zip(got.vertices, want.vertices).allSatisfy { abs($0 - $1) <= c.tolerance }
            let sameArea = abs(got.geodesicArea - want.geodesicArea) <= max(1e-6 * want.geodesicArea, 0.01)
            if !(sameVertices || (c.layer.storedGeometry != .point && sameArea && abs(got.vertices.count - want.vertices.count) <= 2 * max(1, want.vertices.count / 100))) {
                differences.append("\(id): vertices differ (\(got.vertices.count) against \(want.vertices.count), area \(got.geodesicArea) against \(want.geodesicArea))")
            }
        }
        #expect(differences.isEmpty, "\(differences.count) rows differ: \(differences.prefix(5))")
        // The check reads every stored geometry's validity (among its rules): none is invalid.
        let problems = try await store.check()
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("a GeoPackage of several layers: the one named as the RGIS layer, or --source-layer, else the error lists them", arguments: Backends.all)
    func severalLayers(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let gpkg = dir.path("city.gpkg")
        try await Self.convert(["-f", "GPKG", gpkg, "\(Self.demo)/districts.geojson", "-nln", "quarters"])
        try await Self.convert(["-f", "GPKG", "-update", gpkg, "\(Self.demo)/listings.geojson", "-nln", "listings"])
        try await Self.convert(["-f", "GPKG", "-update", gpkg, "\(Self.demo)/parcels.geojson", "-nln", "plots"])
        let store = try await backend.emptyStore(in: dir)
        #expect(try await store.importFeatures(from: gpkg, options: ImportOptions(layer: .listings), progress: nil).inserted == 2270)
        let error = try await #require(throws: RGISError.self) { _ = try await store.importFeatures(from: gpkg, options: ImportOptions(layer: .districts), progress: nil) }
        #expect(error.description.contains("3 layers (quarters, listings, plots)") && error.description.contains("--source-layer"), "\(error.description)")
        var options = ImportOptions(layer: .districts)
        options.sourceLayer = "quarters"
        #expect(try await store.importFeatures(from: gpkg, options: options, progress: nil).inserted > 10)
        options.sourceLayer = "nope"
        let nope = options
        let missing = try await #require(throws: RGISError.self) { _ = try await store.importFeatures(from: gpkg, options: nope, progress: nil) }
        #expect(missing.description.contains("no layer 'nope'") && missing.description.contains("quarters, listings, plots"), "\(missing.description)")

        // GPX: waypoints beside empty routes and tracks are the layer read.
        let gpx = dir.path("walk.gpx")
        try await Self.convert(["-f", "GPX", gpx, "\(Self.demo)/listings.geojson", "-select", "id", "-where", "list_price > 900000"])
        let fresh = try await backend.emptyStore(in: dir, "gpx")
        let report = try await fresh.importFeatures(from: gpx, options: ImportOptions(layer: .listings), progress: nil)
        let expensive = try await store.exportedFeatures(.listings).filter { ($0["properties"]?["list_price"]?.number ?? 0) > 900000 }.count
        #expect(report.inserted == expensive && expensive > 10 && report.source?.contains("GPX layer 'waypoints'") == true, "\(report.source ?? "")")
    }

    @Test("a sheet without coordinate columns is refused naming the columns found, and nothing is stored", arguments: Backends.all)
    func sheetWithoutCoordinates(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let sheet = dir.path("prices.xlsx")
        try await Self.convert(["-f", "XLSX", sheet, "\(Self.demo)/listings.geojson", "-select", "id,status,list_price"])
        let store = try await backend.emptyStore(in: dir)
        let error = try await #require(throws: RGISError.self) { _ = try await store.importFeatures(from: sheet, options: ImportOptions(layer: .listings), progress: nil) }
        #expect(error.description.contains("no coordinate columns") && error.description.contains("Columns found: id, status, list_price"), "\(error.description)")
        #expect(try await store.count(.listings) == 0)
    }

    @Test("a Shapefile without .prj is read with --srid; with neither, projected metres are refused naming the rule, and nothing is stored",
          arguments: Backends.all)
    func missingProjection(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        try await Self.convert(["-f", "ESRI Shapefile", "-t_srs", "EPSG:25832", dir.path("plain.shp"), "\(Self.demo)/listings.geojson"])
        try FileManager.default.removeItem(atPath: dir.path("plain.prj"))
        let store = try await backend.emptyStore(in: dir)
        let error = try await #require(throws: RGISError.self) { _ = try await store.importFeatures(from: dir.path("plain.shp"), options: ImportOptions(layer: .listings), progress: nil) }
        #expect(error.description.contains("feature 1") && error.description.contains("projected coordinates: pass --srid"), "\(error.description)")
        #expect(try await store.count(.listings) == 0)
        var options = ImportOptions(layer: .listings)
        options.sourceSRID = SRID(25832)
        let report = try await store.importFeatures(from: dir.path("plain.shp"), options: options, progress: nil)
        #expect(report.inserted == 2270 && report.source?.contains("EPSG:25832 → EPSG:4326") == true, "\(report.source ?? "")")
    }
}
