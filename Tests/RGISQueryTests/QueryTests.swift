import Foundation
import GRDB
import Testing
import RGISCore
@testable import RGISQuery
import RGISStore
import RGISTesting

/// A database of real data shared by the tests of this suite: Berlin listings and boundary, London
/// boroughs and cycle-hire stations (as listings), Prague plots and buildings.
final class RealDatabase: Sendable {
    static let shared = RealDatabase()
    let directory: TemporaryDirectory
    let database: RGISDatabase
    var engine: QueryEngine { QueryEngine(database) }

    private init() {
        directory = try! Fixtures.temporaryDirectory()
        database = try! directory.database()
        func load(_ file: String, _ layer: Layer, idField: String? = nil, map: String? = nil) {
            try! database.loadShared(file, into: layer, idField: idField, map: map)
        }
        load("berlin-prenzlauer/listings.geojson", .listings, map: "price=list_price")
        load("london/cycle_hire.geojson", .listings)
        load("london/boroughs.geojson", .districts, idField: "GSS_CODE", map: "NAME=name")
        load("prague-bubenec/plots.geojson", .parcels, idField: "ID")
        load("prague-bubenec/buildings.geojson", .buildings, idField: "uID")
    }
}

@Suite("Queries")
struct QueryTests {
    let engine = RealDatabase.shared.engine
    let berlin = try! Centre(lon: 13.42, lat: 52.54)

    @Test("the oracle (pyproj, shapely) agrees with every radius, polygon, district, matching and indicator answer")
    func oracle() throws {
        let result = try Fixtures.runOracle("oracle.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("oracle: all answers agree"))
        #expect(result.stdout.contains("oracle radius: 60 queries"))
        #expect(result.stdout.contains("oracle matching: 50 queries"))
        #expect(result.stdout.contains("oracle indicators: 30 districts"))
        print(result.stdout, terminator: "")
    }

    @Test("no query scans a whole listings, parcels, buildings, demands or districts table")
    func queryPlans() throws {
        var plans: [(String, String, StatementArguments)] = []
        let p = Position(lon: 13.42, lat: 52.54)
        var filter = ListingFilter()
        filter.priceMin = 50
        filter.propertyTypes = [.apartment]
        for layer in QueryLayer.allCases {
            let f = layer == .listings ? filter : ListingFilter()
            let radius = try QueryEngine.distanceSQL(layer: layer, centre: p, radiusMetres: 1000, filter: f, limit: 100,
                                                     after: PageCursor(distanceMetres: 10, fid: 5))
            plans.append(("radius \(layer)", radius.sql, radius.arguments))
            if layer == .listings {
                let points = try QueryEngine.pointCandidatesSQL(centre: p, radiusMetres: 1000, filter: f)
                plans.append(("radius candidates", points.sql, points.arguments))
            }
            let box = try QueryEngine.storageOrderSQL(layer: layer, boxes: [BBox.Part(west: 13.4, south: 52.5, east: 13.5, north: 52.6)],
                                                      exact: "ST_Intersects(t.geom, a.g)", filter: f, limit: 100, after: nil,
                                                      prefix: "WITH a(g) AS MATERIALIZED (SELECT BuildMbr(13.4, 52.5, 13.5, 52.6, 4326))",
                                                      from: "a, ", arguments: [:])
            plans.append(("polygon \(layer)", box.sql, box.arguments))
        }
        let containing = QueryEngine.containingSQL(p)
        plans.append(("district containing", containing.sql, containing.arguments))
        try RealDatabase.shared.database.read { db in
            for (name, sql, arguments) in plans {
                let details = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(sql)", arguments: arguments).map { $0["detail"] as String }
                let scans = details.filter { $0.range(of: #"^SCAN (t|listings|parcels|buildings|demands|districts)\b"#, options: .regularExpression) != nil }
                #expect(scans.isEmpty, "\(name) scans: \(details)")
                #expect(details.contains { $0.contains("idx_") }, "\(name) does not use the R*Tree: \(details)")
            }
        }
    }

    @Test("paging a radius query walks the whole result without repeat or gap, and a page reads the same twice")
    func paging() throws {
        let full = try engine.radius(RadiusQuery(centre: berlin, radius: RadiusMetres(800), limit: Limit(10_000)))
        #expect(full.next == nil)
        #expect(full.features.count > 50)
        var walked: [String] = []
        var query = RadiusQuery(centre: berlin, radius: try RadiusMetres(800), limit: try Limit(7))
        var pages = 0
        while true {
            let page = try engine.radius(query)
            let again = try engine.radius(query)
            #expect(page.features.map(\.id) == again.features.map(\.id))
            walked += page.features.map(\.id)
            pages += 1
            guard let next = page.next else { break }
            query.after = try PageCursor(parsing: next.token)
        }
        #expect(walked == full.features.map(\.id))
        #expect(pages == (full.features.count + 6) / 7)
        let distances = full.features.compactMap { $0.properties["distance_m"]?.number }
        #expect(distances == distances.sorted())
        #expect(distances.last! <= 800)
    }

    @Test("paging a bbox query walks the whole result")
    func bboxPaging() throws {
        let box = try BBox(parsing: "13.41,52.53,13.43,52.55")
        let full = try engine.bbox(BBoxQuery(bbox: box, limit: Limit(10_000)))
        var query = BBoxQuery(bbox: box, limit: try Limit(50))
        var walked: [String] = []
        while true {
            let page = try engine.bbox(query)
            walked += page.features.map(\.id)
            guard let next = page.next else { break }
            query.after = next
        }
        #expect(walked == full.features.map(\.id))
        #expect(walked.count > 200)
    }

    @Test("nearest k equals the first k of a wide radius search")
    func nearest() throws {
        let nearest = try engine.nearest(NearestQuery(centre: berlin, k: Limit(25)))
        let wide = try engine.radius(RadiusQuery(centre: berlin, radius: RadiusMetres(5000), limit: Limit(25)))
        #expect(nearest.features.map(\.id) == wide.features.map(\.id))
        // Far from every point: it widens until it finds them (London is ~930 km from Berlin).
        let far = try engine.nearest(NearestQuery(centre: Centre(lon: 5, lat: 52), k: Limit(3)))
        #expect(far.features.count == 3)
        #expect((far.features.first?.properties["distance_m"]?.number ?? 0) > 300_000)
    }

    @Test("filters narrow a radius query, on typed columns")
    func filters() throws {
        var query = RadiusQuery(centre: berlin, radius: try RadiusMetres(1500), limit: try Limit(10_000))
        let all = try engine.radius(query)
        query.filter.priceMin = 60
        query.filter.priceMax = 120
        query.filter.bedroomsMin = 2
        let some = try engine.radius(query)
        #expect(!some.features.isEmpty && some.features.count < all.features.count)
        for f in some.features {
            let price = f.properties["list_price"]?.number ?? -1
            #expect(price >= 60 && price <= 120)
            #expect((f.properties["bedrooms"]?.number ?? 0) >= 2)
        }
        query.filter = ListingFilter()
        query.filter.propertyTypes = [.house]
        #expect(try engine.radius(query).features.isEmpty, "the Berlin data has no property types")
    }

    @Test("polygon queries on parcels and buildings: Prague buildings lie on the plots they intersect")
    func polygonLayers() throws {
        let plots = try engine.bbox({ var q = BBoxQuery(bbox: try BBox(parsing: "14.39,50.09,14.42,50.11"), limit: try Limit(10_000)); q.layer = .parcels; return q }())
        #expect(plots.features.count == 407)
        let first = try #require(plots.features.first)
        let area = try SearchArea(geoJSON: JSONValue.parse(Array(first.geometryGeoJSON.utf8)))
        var query = PolygonQuery(area: area, limit: try Limit(100))
        query.layer = .parcels
        let touching = try engine.polygon(query)
        #expect(touching.features.contains { $0.id == first.id })
        query.predicate = .within
        #expect(try engine.polygon(query).features.map(\.id) == [first.id])
    }

    @Test("district lookups: by point from the widest level down, by id with children, listings inside")
    func districts() throws {
        let westminster = try engine.districts(containing: Centre(lon: -0.1357, lat: 51.4975))
        #expect(westminster.features.map(\.id) == ["E09000033"])
        #expect(try engine.districts(containing: Centre(lon: 13.42, lat: 52.54)).features.isEmpty)
        let district = try engine.district(id: "E09000033")
        #expect(district.features.first?.properties["name"] == .string("Westminster"))
        let stations = try engine.listings(inDistrict: "E09000033", limit: Limit(10_000))
        #expect(stations.features.count > 50)
        #expect(throws: RGISError.self) { try engine.district(id: "nowhere") }
        #expect(throws: RGISError.self) { try engine.listings(inDistrict: "nowhere", limit: Limit(10)) }
    }

    @Test("bad parameters are refused with the parameter and the rule")
    func badInput() throws {
        func reason(_ body: () throws -> Void) -> String {
            do { try body(); return "accepted" } catch let e as RGISError { return e.description } catch { return "\(error)" }
        }
        #expect(reason { _ = try RadiusMetres(0) }.contains("parameter radius_m"))
        #expect(reason { _ = try RadiusMetres(100_001) }.contains("between 1 and 100000"))
        #expect(reason { _ = try RadiusMetres(.nan) }.contains("radius_m"))
        #expect(reason { _ = try Centre(lon: 0, lat: 90.5) }.contains("parameter lat"))
        #expect(reason { _ = try Centre(lon: -180.1, lat: 0) }.contains("parameter lon"))
        #expect(reason { _ = try Centre(lon: .nan, lat: 0) }.contains("finite"))
        #expect(reason { _ = try Limit(0) }.contains("parameter limit"))
        #expect(reason { _ = try Limit(10_001) }.contains("between 1 and 10000"))
        #expect(reason { _ = try Limit(parsing: "abc") }.contains("whole number"))
        #expect(reason { _ = try PageCursor(parsing: "not-a-cursor") }.contains("parameter cursor"))
        #expect(reason { _ = try ListingFilter.propertyTypes(parsing: "apartment,castle") }.contains("unknown property type 'castle'"))
        #expect(reason {
            var f = ListingFilter(); f.priceMin = 10; f.priceMax = 5; try f.validate()
        }.contains("price_min 10.0 is greater than price_max 5.0"))
        let bowtie = Geometry.polygon([[Position(lon: 13.40, lat: 52.52), Position(lon: 13.41, lat: 52.53), Position(lon: 13.41, lat: 52.52),
                                        Position(lon: 13.40, lat: 52.53), Position(lon: 13.40, lat: 52.52)]])
        #expect(reason { _ = try engine.polygon(PolygonQuery(area: SearchArea(bowtie), limit: Limit(10))) }.contains("Self-intersection"))
        let open = Geometry.polygon([[Position(lon: 13.40, lat: 52.52), Position(lon: 13.41, lat: 52.53), Position(lon: 13.41, lat: 52.52),
                                      Position(lon: 13.40, lat: 52.53)]])
        #expect(reason { _ = try SearchArea(open) }.contains("not closed"))
        let huge = Geometry.polygon([(0...10_001).map { Position(lon: Double($0) * 1e-5, lat: sin(Double($0)) * 1e-3) }])
        #expect(reason { _ = try SearchArea(huge) }.contains("at most 10000"))
        #expect(reason { _ = try SearchArea(.point(Position(lon: 0, lat: 0))) }.contains("Polygon or MultiPolygon"))
        var q = RadiusQuery(centre: berlin, radius: try RadiusMetres(100), limit: try Limit(10))
        q.layer = .parcels
        q.filter.bedroomsMin = 2
        #expect(reason { _ = try engine.radius(q) }.contains("listings layer only"))
    }

    @Test("the search box is conservative: near the antimeridian it splits, near a pole it spans all longitudes")
    func searchBox() {
        let wrap = SearchBox.around(Position(lon: 179.99, lat: -16.5), radiusMetres: 5000)
        #expect(wrap.count == 2)
        #expect(wrap.contains { $0.east == 180 } && wrap.contains { $0.west == -180 })
        let pole = SearchBox.around(Position(lon: 10, lat: 89.99), radiusMetres: 5000)
        #expect(pole.count == 1 && pole[0].west == -180 && pole[0].east == 180 && pole[0].north == 90)
        let plain = SearchBox.around(Position(lon: 13.4, lat: 52.5), radiusMetres: 1000)
        #expect(plain.count == 1)
        // 1 km is 0.00898° of latitude; the box must hold at least that.
        #expect(plain[0].north - 52.5 > 0.00898 && plain[0].east - 13.4 > 0.0147)
    }
}
