import Foundation
import RGISCore
import RGISFiles
import RGISGeodesy
import RGISStore
import RGISTesting
import Testing

/// Text exports (GeoJSON, CSV) read back, layer statistics kept through writes, and a check that
/// passes on what the store wrote, on every backend.
@Suite("Conformance: export, layer statistics and check")
struct ExportAndCheckConformance {
    func export(_ store: any Store, _ layer: Layer, bbox: BBox? = nil) async throws -> [JSONValue] {
        let (text, count) = try await store.exportedText(layer, bbox: bbox, format: .geojson)
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["type"] == .string("FeatureCollection"))
        guard case .array(let features)? = value["features"] else { return [] }
        #expect(features.count == count)
        return features
    }

    @Test("exported parcels keep their ids, attributes and RFC 7946 winding", arguments: Backends.all)
    func exportParcels(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try await store.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        let features = try await export(store, .parcels)
        #expect(features.count == 407)
        let first = try #require(features.first { $0["id"] == .string("760") })
        #expect(first["properties"]?["ID_2"] == .string("2402108101"))
        #expect(first["properties"]?["KATUZE_KOD"] == .int(730106))
        #expect(first["properties"]?["area_m2"]?.number ?? 0 > 0)
        for f in features {
            let g = try Geometry(geoJSON: f["geometry"]!)
            guard case .multiPolygon(let polygons) = g else { Issue.record("not a MultiPolygon"); continue }
            for rings in polygons {
                #expect(Shapes.signedArea(rings[0]) > 0, "exterior ring of \(f["id"]!.shortDescription) is clockwise")
                for hole in rings.dropFirst() { #expect(Shapes.signedArea(hole) < 0) }
            }
        }
        // Re-importing the export gives the same content.
        let roundTrip = try await store.exportedText(.parcels, format: .geojson).text
        let again = try await backend.emptyStore(in: dir, "again")
        _ = try await again.importFeatures(from: try dir.write("export.geojson", roundTrip), options: ImportOptions(layer: .parcels), progress: nil)
        let second = try await again.exportedText(.parcels, format: .geojson).text
        #expect(second == roundTrip)
    }

    /// Each feature as `id:area:centroid longitude`, by id: its geodesic area to the square metre and
    /// its centroid's longitude to 7 decimals.
    static func fingerprint(_ store: any Store, _ layer: Layer) async throws -> String {
        try await store.exportedFeatures(layer).map { feature -> (String, String) in
            let id = feature["id"]?.stringValue ?? ""
            let geometry = try Shapes.geometry(feature)
            let area = Geodesic.areaSquareMetres(geometry).rounded()
            let lon = ((Shapes.centroid(geometry)?.lon ?? .nan) * 1e7).rounded() / 1e7
            return (id, "\(id):\(area):\(lon)")
        }.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: ",")
    }

    /// Each listing as `id:list_price:close_date:address`, by id.
    static func prices(_ store: any Store) async throws -> String {
        try await store.exportedFeatures(.listings).map { feature -> (String, String) in
            let id = feature["id"]?.stringValue ?? ""
            let text = { (column: String) in Values.columnText(feature["properties"]?[column], .listings, column) ?? "" }
            return (id, "\(id):\(text("list_price")):\(text("close_date")):\(text("address"))")
        }.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: ",")
    }

    @Test("CSV exports read back: rgis imports them again to the same rows, and GDAL reads their geometry", arguments: Backends.all)
    func csvRoundTrip(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let again = try await backend.emptyStore(in: dir, "again")
        for layer in [Layer.districts, .listings, .parcels] {
            let (text, count) = try await store.exportedText(layer, format: .csv)
            let path = try dir.write("\(layer.rawValue).csv", text)
            let report = try await again.importFeatures(from: path, options: ImportOptions(layer: layer), progress: nil)
            #expect(report.inserted == count && count > 30, "\(layer)")
            let (a, b) = (try await Self.fingerprint(store, layer), try await Self.fingerprint(again, layer))
            #expect(a == b, "\(layer): the geometry came back the same")
            if layer == .listings {
                #expect(try await Self.prices(store) == Self.prices(again))
            }
            if let ogrinfo = which("ogrinfo") {
                let options = layer == .listings ? ["-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat"] : ["-oo", "GEOM_POSSIBLE_NAMES=wkt"]
                let info = try await run(ogrinfo, ["-ro", "-so", "-al"] + options + [path])
                // GDAL finds the geometry in lon/lat or wkt: the layer has the city's extent.
                #expect(info.stdout.contains("Feature Count: \(count)") && info.stdout.contains("Extent: (9.0"), "\(info.stdout)")
            }
        }
    }

    @Test("--bbox returns exactly the listings inside the box, as the source file says", arguments: Backends.all)
    func bboxExport(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let path = Fixtures.shared("berlin-prenzlauer/listings.geojson")
        _ = try await store.importFeatures(from: path, options: ImportOptions(layer: .listings), progress: nil)
        let box = try BBox(west: 13.41, south: 52.535, east: 13.425, north: 52.545)
        let source = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        guard case .array(let all)? = source["features"] else { return }
        let expected = all.filter {
            guard case .point(let p) = try? Geometry(geoJSON: $0["geometry"]!) else { return false }
            return p.lon >= box.west && p.lon <= box.east && p.lat >= box.south && p.lat <= box.north
        }.count
        let features = try await export(store, .listings, bbox: box)
        #expect(expected > 100)
        #expect(features.count == expected)
    }

    @Test("a bbox across the antimeridian finds points on both sides and nothing between", arguments: Backends.all)
    func antimeridian(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        let file = try dir.write("fiji.geojson", """
            {"type":"FeatureCollection","features":[
            {"type":"Feature","id":"east","geometry":{"type":"Point","coordinates":[179.99,-16.5]},"properties":{}},
            {"type":"Feature","id":"west","geometry":{"type":"Point","coordinates":[-179.99,-16.5]},"properties":{}},
            {"type":"Feature","id":"greenwich","geometry":{"type":"Point","coordinates":[0,-16.5]},"properties":{}}
            ]}
            """)
        _ = try await store.importFeatures(from: file, options: ImportOptions(layer: .listings), progress: nil)
        let features = try await export(store, .listings, bbox: BBox(parsing: "179.9,-17,-179.9,-16"))
        #expect(Set(features.compactMap { $0["id"] }) == [.string("east"), .string("west")])
    }

    @Test("the Prague buildings imported by their uID check clean", arguments: Backends.all)
    func importedBuildingsCheckClean(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        var options = ImportOptions(layer: .buildings)
        options.idField = "uID"
        _ = try await store.importFeatures(from: Fixtures.shared("prague-bubenec/buildings.geojson"), options: options, progress: nil)
        #expect(try await store.check().isEmpty)
    }

    @Test("layer statistics follow inserts, moves and deletes, and check compares them with what is stored", arguments: Backends.all)
    func statistics(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.emptyStore(in: dir)
        try await store.loadShared("berlin-prenzlauer/listings.geojson", into: .listings, map: "price=list_price")
        let listings = try #require(try await store.layerStatistics().first { $0.layer == .listings })
        #expect(listings.count == 2203)
        let extent = try #require(listings.extent)
        #expect(abs(extent.west - 13.3991274) < 1e-9 && abs(extent.north - 52.5573676) < 1e-9)
        #expect(try await store.check().isEmpty)
        // The first listing moves north-east of all the others; the next two are deleted.
        let moved = try JSONValue.parse(Array(#"{"geometry":{"type":"Point","coordinates":[13.5,52.6]}}"#.utf8))
        _ = try await store.change(.listing, id: "listing-1", .mergePatch(moved), condition: WriteCondition(owner: nil))
        for id in ["listing-2", "listing-3"] { try await store.delete(.listing, id: id, condition: WriteCondition(owner: nil)) }
        let after = try #require(try await store.layerStatistics().first { $0.layer == .listings })
        #expect(after.count == 2201)
        #expect(after.extent?.east == 13.5 && after.extent?.north == 52.6)
        #expect(try await store.check().isEmpty)
    }
}
