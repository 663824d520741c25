import Foundation
import RGISCore
@testable import RGISQuery
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// A database of real data shared by the tests of this suite: Berlin listings and boundary, London
/// boroughs and cycle-hire stations (as listings), Prague plots and buildings.
final class RealDatabase: Sendable {
    static let shared = RealDatabase()
    let directory: TemporaryDirectory
    let database: RGISDatabase
    var store: SpatiaLiteStore { SpatiaLiteStore(database) }
    var engine: QueryEngine { QueryEngine(store) }

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
    func oracle() async throws {
        let result = try await Fixtures.runOracle("oracle.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("oracle: all answers agree"))
        #expect(result.stdout.contains("oracle radius: 60 queries"))
        #expect(result.stdout.contains("oracle nearest: 20 queries"))
        #expect(result.stdout.contains("oracle matching: 50 queries"))
        #expect(result.stdout.contains("oracle placement: 34 real districts"))
        #expect(result.stdout.contains("oracle indicators: 150 districts on two levels and five questions"))
        print(result.stdout, terminator: "")
    }

    @Test("the oracle agrees with the same answers when every database it builds is on PostgreSQL (the CLI and a server on it)")
    func oracleOnPostgreSQL() async throws {
        let result = try await Fixtures.runOracle("oracle.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path,
                                                                "--database-base", try PostgresServer.base.get()])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("oracle: all answers agree"))
        #expect(result.stdout.contains("oracle radius: 60 queries"))
        #expect(result.stdout.contains("oracle nearest: 20 queries"))
        #expect(result.stdout.contains("oracle matching: 50 queries"))
        #expect(result.stdout.contains("oracle indicators: 150 districts on two levels and five questions"))
        print(result.stdout, terminator: "")
    }

    @Test("records on the shared edges and vertices of districts that tile a region (Chicago's community areas, a grid with sales at two decimals) are each in exactly one district per level, by locate, indicators and district listings, on a file and on PostgreSQL",
          arguments: [false, true])
    func borders(onPostgreSQL: Bool) async throws {
        let base = onPostgreSQL ? ["--database-base", try PostgresServer.base.get()] : []
        let result = try await Fixtures.runOracle("borders_oracle.py", base)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("borders: every record in exactly one district per level, as the rule says"))
        #expect(result.stdout.contains("357 sales at two decimals (177 on the grid's edges)"))
        print(result.stdout, terminator: "")
    }

    @Test("unmet demand per district and cell on every level (CLI and HTTP, the demo city and Berlin's real listings) equals the oracle's, its withholding agrees with the indicators, and no withheld count follows from the published ones, on a file and on PostgreSQL",
          arguments: [false, true])
    func unmetDemand(onPostgreSQL: Bool) async throws {
        let base = onPostgreSQL ? ["--database-base", try PostgresServer.base.get()] : []
        let result = try await Fixtures.runOracle("unmet_oracle.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path] + base)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("unmet oracle: all answers agree"))
        // Real figures: thousands of counts, many withheld and some complementary, unmet and near-fit demands.
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("unmet oracle: 14 level answers") } ?? ""
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        // (14, counts, withheld, primary, 1, 4, equations, 0, unmet, near, uncertain)
        #expect(numbers.count >= 10 && numbers[1] > 4000 && numbers[2] > 2500 && numbers[2] > numbers[3] && numbers[6] > 2000
                && numbers[8] > 1000 && numbers[9] > 500, "\(result.stdout)")
        print(result.stdout, terminator: "")
    }

    @Test("valuation by comparables of listings and drawn points (CLI and HTTP): the comparables by an independent geodesic search, each adjustment, the estimate and range, the refusals, and the leave-one-out accuracy, on a file and on PostgreSQL",
          arguments: [false, true])
    func valuation(onPostgreSQL: Bool) async throws {
        let base = onPostgreSQL ? ["--database-base", try PostgresServer.base.get()] : []
        let result = try await Fixtures.runOracle("valuation_oracle.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path] + base)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("valuation oracle: all answers agree"))
        // (valuations, comparables, refused, sales in the backtest)
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("valuation oracle: ") && $0.contains("valuations") } ?? ""
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.count >= 5 && numbers[0] >= 20 && numbers[1] > 300 && numbers[2] >= 1 && numbers[4] >= 150, "\(result.stdout)")
        print(result.stdout, terminator: "")
    }

    @Test("every live query path goes through an R*Tree and scans no table: each radius strategy, polygon, bbox, items, districts, matching, indicators")
    func queryPlans() async throws {
        let store = RealDatabase.shared.store
        let p = Position(lon: 13.42, lat: 52.54)
        var filter = ListingFilter()
        filter.priceMin = 50
        filter.propertyTypes = [.apartment]
        let square = try SearchArea(.polygon([[Position(lon: 13.4, lat: 52.5), Position(lon: 13.5, lat: 52.5), Position(lon: 13.5, lat: 52.6),
                                              Position(lon: 13.4, lat: 52.6), Position(lon: 13.4, lat: 52.5)]]))
        var plans: [(String, PlannedQuery)] = []
        for layer in QueryLayer.allCases {
            var radius = RadiusQuery(centre: try Centre(lon: p.lon, lat: p.lat), radius: try RadiusMetres(1000), limit: try Limit(100))
            radius.layer = layer
            radius.filter = layer == .listings ? filter : ListingFilter()
            radius.after = PageCursor(distanceMetres: 10, fid: 5)
            let strategy = RadiusStrategy.chosen(for: radius)
            plans.append(("radius \(layer) (\(strategy))", .radius(radius, strategy)))
            if layer == .listings {
                var unfiltered = radius
                unfiltered.filter = ListingFilter()
                #expect(RadiusStrategy.chosen(for: unfiltered) == .pointsInIndex)
                #expect(strategy == .pointCandidates)
                plans.append(("radius listings (pointsInIndex)", .radius(unfiltered, .pointsInIndex)))
            } else {
                #expect(strategy == .exactDistance)
            }
            var polygon = PolygonQuery(area: square, limit: try Limit(100))
            polygon.layer = layer
            polygon.filter = radius.filter
            plans.append(("polygon \(layer)", .polygon(polygon)))
            var bbox = BBoxQuery(bbox: try BBox(parsing: "13.4,52.5,13.5,52.6"), limit: try Limit(100))
            bbox.layer = layer
            plans.append(("bbox \(layer)", .bbox(bbox)))
            var items = ItemsQuery(layer: layer.layer, limit: try Limit(100))
            items.bbox = try BBox(parsing: "13.4,52.5,13.5,52.6")
            plans.append(("items in a box \(layer)", .items(items)))
        }
        var filteredItems = ItemsQuery(layer: .listings, limit: try Limit(100))
        filteredItems.bbox = try BBox(parsing: "13.4,52.5,13.5,52.6")
        filteredItems.datetime = try DateTimeInterval(parsing: "2024-01-01/..")
        plans.append(("items in a box with datetime", .items(filteredItems)))
        plans.append(("districts containing", .districtsContaining(p)))
        plans.append(("listings fitting a demand", .listingsFitting(demand: "R1")))
        for reach in FitReach.rounds {
            let facts = ListingFacts(price: 1, livingAreaM2: 50, bedrooms: 2, propertyType: "apartment")
            plans.append(("demands fitting a listing, \(reach)", .demandsFitting(facts, p, reach, beyond: nil)))
            plans.append(("demands fitting a listing, \(reach) beyond 0.9", .demandsFitting(facts, p, reach, beyond: .nearCentre(closeness: 0.9))))
        }
        for (name, query) in plans {
            let details = try await store.queryPlans(query)
            let scans = details.filter { $0.range(of: #"^SCAN (t|d|listings|parcels|buildings|demands|districts)\b"#, options: .regularExpression) != nil }
            #expect(scans.isEmpty, "\(name) scans: \(details)")
            // Reaching the rows through an ordinary index (say, every active listing by status) instead of by key is a scan in disguise.
            let byIndex = details.filter { $0.range(of: #"^SEARCH (t|d) USING (COVERING )?INDEX (listings|demands|parcels|buildings)_"#, options: .regularExpression) != nil }
            #expect(byIndex.isEmpty, "\(name) walks an attribute index: \(details)")
            if name.hasPrefix("demands fitting") {
                // Demands by reach: a range of longitudes in one row of one band, for one list of types.
                #expect(details.contains("SEARCH f USING PRIMARY KEY (type=? AND band=? AND row=? AND lon>? AND lon<?)"),
                        "\(name) does not seek the reach table: \(details)")
                continue
            }
            // An R*Tree by name, or one probed with box constraints (`VIRTUAL TABLE INDEX 2:B0D1…`).
            #expect(details.contains { $0.contains("idx_") || $0.range(of: #"VIRTUAL TABLE INDEX 2:[BD][0-9]"#, options: .regularExpression) != nil },
                    "\(name) does not use the R*Tree: \(details)")
        }
        // Indicators read each district's range of a placement index and nothing else.
        for level in DistrictLevel.allCases {
            let details = try await store.queryPlans(.indicators(level))
            #expect(details.count == 5 && details.allSatisfy {
                $0.range(of: #"^SEARCH (listings|demands) USING (COVERING )?INDEX (listings|demands)_\#(level.rawValue)_fid_(market|price) \(\#(level.rawValue)_fid=\? AND status=\?"#, options: .regularExpression) != nil
            }, "indicators at level \(level): \(details)")
            // A district's rows by its placement index, then their events by record: never every event of a layer.
            let history = try await store.queryPlans(.marketHistory(level))
            #expect(history.allSatisfy { step in
                step.hasPrefix("USE TEMP B-TREE") || step.contains("(\(level.rawValue)_fid=?)") || step.contains("events_market_changes (layer=? AND record_id=?)")
            }, "market history at level \(level): \(history)")
            let segments = try await store.queryPlans(.segments(level, .household))
            #expect(!segments.contains { $0.hasPrefix("SCAN m") || $0.hasPrefix("SCAN c") }, "segments at level \(level): \(segments)")
        }
    }

    @Test("nearest k equals the first k of a wide radius search")
    func nearest() async throws {
        let nearest = try await engine.nearest(NearestQuery(centre: berlin, k: Limit(25)))
        let wide = try await engine.radius(RadiusQuery(centre: berlin, radius: RadiusMetres(5000), limit: Limit(25)))
        #expect(nearest.features.map(\.id) == wide.features.map(\.id))
        // Far from every point: it widens until it finds them (London is ~930 km from Berlin).
        let far = try await engine.nearest(NearestQuery(centre: Centre(lon: 5, lat: 52), k: Limit(3)))
        #expect(far.features.count == 3)
        #expect((far.features.first?.properties["distance_m"]?.number ?? 0) > 300_000)
    }

    @Test("bad parameters are refused with the parameter and the rule")
    func badInput() async throws {
        func reason(_ body: () async throws -> Void) async -> String {
            do { try await body(); return "accepted" } catch let e as RGISError { return e.description } catch { return "\(error)" }
        }
        #expect(await reason { _ = try RadiusMetres(0) }.contains("parameter radius_m"))
        #expect(await reason { _ = try RadiusMetres(100_001) }.contains("between 1 and 100000"))
        #expect(await reason { _ = try RadiusMetres(.nan) }.contains("radius_m"))
        #expect(await reason { _ = try Centre(lon: 0, lat: 90.5) }.contains("parameter lat"))
        #expect(await reason { _ = try Centre(lon: -180.1, lat: 0) }.contains("parameter lon"))
        #expect(await reason { _ = try Centre(lon: .nan, lat: 0) }.contains("finite"))
        #expect(await reason { _ = try Limit(0) }.contains("parameter limit"))
        #expect(await reason { _ = try Limit(10_001) }.contains("between 1 and 10000"))
        #expect(await reason { _ = try Limit(parsing: "abc") }.contains("whole number"))
        #expect(await reason { _ = try PageCursor(parsing: "not-a-cursor") }.contains("parameter cursor"))
        #expect(await reason { _ = try ListingFilter.propertyTypes(parsing: "apartment,castle") }.contains("unknown property type 'castle'"))
        #expect(await reason {
            var f = ListingFilter(); f.priceMin = 10; f.priceMax = 5; try f.validate()
        }.contains("price_min 10.0 is greater than price_max 5.0"))
        let bowtie = Geometry.polygon([[Position(lon: 13.40, lat: 52.52), Position(lon: 13.41, lat: 52.53), Position(lon: 13.41, lat: 52.52),
                                        Position(lon: 13.40, lat: 52.53), Position(lon: 13.40, lat: 52.52)]])
        #expect(await reason { _ = try await engine.polygon(PolygonQuery(area: SearchArea(bowtie), limit: Limit(10))) }.contains("Self-intersection"))
        let open = Geometry.polygon([[Position(lon: 13.40, lat: 52.52), Position(lon: 13.41, lat: 52.53), Position(lon: 13.41, lat: 52.52),
                                      Position(lon: 13.40, lat: 52.53)]])
        #expect(await reason { _ = try SearchArea(open) }.contains("not closed"))
        let huge = Geometry.polygon([(0...10_001).map { Position(lon: Double($0) * 1e-5, lat: sin(Double($0)) * 1e-3) }])
        #expect(await reason { _ = try SearchArea(huge) }.contains("at most 10000"))
        #expect(await reason { _ = try SearchArea(.point(Position(lon: 0, lat: 0))) }.contains("Polygon or MultiPolygon"))
        var q = RadiusQuery(centre: berlin, radius: try RadiusMetres(100), limit: try Limit(10))
        q.layer = .parcels
        q.filter.bedroomsMin = 2
        #expect(await reason { _ = try await engine.radius(q) }.contains("listings layer only"))
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
