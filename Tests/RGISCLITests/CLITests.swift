import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISSample
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

@Suite("rgis command line")
struct CLITests {
    @Test("--help matches the golden text", arguments: ["", "import", "export"])
    func help(_ subcommand: String) async throws {
        let result = subcommand.isEmpty ? try await rgis("--help") : try await rgis("help", subcommand)
        #expect(result.status == 0)
        let name = subcommand.isEmpty ? "help.txt" : "help-\(subcommand).txt"
        let mismatch = try Golden.mismatch(result.stdout, "Tests/RGISCLITests/Golden/\(name)")
        #expect(mismatch == nil)
    }

    @Test("init, import, info, export and check work end to end on real data, quietly off a terminal")
    func endToEnd() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("city.sqlite")
        #expect(try await rgis("init", db).status == 0)
        let imported = try await rgis("import", db, "--layer", "listings", Fixtures.shared("berlin-prenzlauer/listings.geojson"), "--map", "price=list_price")
        #expect(imported.status == 0)
        #expect(imported.stderr.isEmpty, "no progress bar when standard error is not a terminal")
        #expect(imported.stdout.contains("read 2203, imported 2203, rejected 0"))
        let districts = try await rgis("import", db, "--layer", "districts", Fixtures.shared("berlin-prenzlauer/boundary.geojson"), "--map", "neighbourh=name")
        #expect(districts.status == 0)

        let info = try await rgis("info", db)
        // The extent is the features' own (kept as rows are written), not the R*Tree's 32-bit boxes.
        #expect(info.stdout.contains("listings        2203  POINT         4326  13.399127, 52.520148, 13.465356, 52.557368"))

        let export = try await rgis("export", db, "--layer", "listings", "--bbox", "13.41,52.535,13.425,52.545")
        #expect(export.status == 0)
        let collection = try JSONValue.parse(Array(export.stdout.utf8))
        let features = try #require(collection["features"]?.arrayValue)
        #expect(features.count > 100)
        if let ogrinfo = which("ogrinfo") {
            let file = try dir.write("out.geojson", export.stdout)
            let read = try await run(ogrinfo, ["-ro", "-so", "-al", file])
            #expect(read.stdout.contains("Feature Count: \(features.count)"))
        }
        let check = try await rgis("check", db)
        #expect(check.status == 0)
        #expect(check.stdout.contains("ok"))
    }

    @Test("errors go to standard error as one line naming the file, with a non-zero exit")
    func errors() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("city.sqlite")
        _ = try await rgis("init", db)
        let bad = try dir.write("bad.csv", "id,lon,lat,list_price\n1,13.4,52.5,100\n2,13.5,52.6,lots\n")
        let result = try await rgis("import", db, "--layer", "listings", bad)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "rgis: error: \(bad): line 3: field list_price: 'lots' is not a number\n")

        let missing = try await rgis("import", db, "--layer", "listings", dir.path("nope.geojson"))
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.geojson: no such file"))

        let layer = try await rgis("import", db, "--layer", "houses", bad)
        #expect(layer.status != 0)
        #expect(layer.stderr.contains("unknown layer 'houses'"))

        let notDB = try await rgis("info", bad)
        #expect(notDB.status != 0)
        #expect(notDB.stderr.contains("not a SQLite database"))

        let box = try await rgis("export", db, "--layer", "listings", "--bbox", "1,2,3")
        #expect(box.status != 0)
        #expect(box.stderr.contains("bbox must be four numbers"))
    }

    @Test("a kill -9 in the middle of an import leaves the database as it was")
    func killedImport() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("city.sqlite")
        _ = try await rgis("init", db)
        _ = try await rgis("import", db, "--layer", "districts", Fixtures.shared("london/boroughs.geojson"))
        // A file big enough that the import is still running when it is killed: 100,000 listings.
        let big = dir.path("big.geojson")
        let script = """
            import sys
            with open(sys.argv[1], "w") as f:
                f.write('{"type":"FeatureCollection","features":[')
                for i in range(100000):
                    lon, lat = -0.5 + (i % 1000) * 0.001, 51.3 + (i // 1000) * 0.001
                    f.write(('' if i == 0 else ',') + '{"type":"Feature","id":"k%d","geometry":{"type":"Point","coordinates":[%.3f,%.3f]},"properties":{"list_price":%d}}' % (i, lon, lat, 100000 + i))
                f.write(']}')
            """
        let generated = try await run("/usr/bin/env", ["python3", "-c", script, big])
        #expect(generated.status == 0, "\(generated.stderr)")

        let before = try RGISDatabase.open(at: db).info()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Fixtures.rgisExecutable)
        process.arguments = ["import", db, "--layer", "listings", big]
        process.standardOutput = Fixtures.devNull()
        process.standardError = Fixtures.devNull()
        try process.run()
        // Wait until the import has read a third of the file (the kernel's count of bytes the process
        // read), so it is in the middle of its transaction, then kill it without warning.
        let fileSize = (try FileManager.default.attributesOfItem(atPath: big)[.size] as? Int) ?? 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            let io = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/io", encoding: .utf8)) ?? ""
            let read = io.split(separator: "\n").first { $0.hasPrefix("rchar:") }.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) } ?? 0
            if read > fileSize / 3 { break }
            usleep(5_000)
        }
        #expect(process.isRunning, "the import finished before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)

        let after = try RGISDatabase.open(at: db)
        let info = try after.info()
        #expect(info.layers.map(\.count) == before.layers.map(\.count))
        #expect(info.layers.first { $0.layer == .listings }?.count == 0)
        #expect(try after.check().isEmpty)
        let check = try await rgis("check", db)
        #expect(check.status == 0)
        // The spatial index triggers, dropped during the bulk import, came back with the rollback.
        let triggers = try await after.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'listings' ORDER BY name")
        }
        #expect(triggers.contains("gii_listings_geom") && triggers.contains("tmi_listings_geom"))
        // And the next import works, found through the R*Tree.
        let small = try dir.write("small.geojson", #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"s1","geometry":{"type":"Point","coordinates":[-0.1,51.5]},"properties":{}}]}"#)
        #expect(try await rgis("import", db, "--layer", "listings", small).status == 0)
        let found = try await rgis("export", db, "--layer", "listings", "--bbox", "-0.11,51.49,-0.09,51.51")
        #expect(found.stdout.contains(#""id":"s1""#))
        #expect(try await rgis("check", db).status == 0)
    }

    @Test("rgis sample is deterministic and writes exactly the committed geodata/")
    func sampleMatchesGeodata() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let result = try await rgis("sample", "--out", dir.path("city"))
        #expect(result.status == 0)
        for file in Layer.allCases.map({ "\($0.rawValue).geojson" }) + ["events.csv"] {
            let generated = try Data(contentsOf: URL(fileURLWithPath: dir.path("city/\(file)")))
            let committed = try Data(contentsOf: URL(fileURLWithPath: Fixtures.demo(file)))
            #expect(generated == committed, "geodata/\(file) differs from rgis sample --seed 42")
        }
    }

    @Test("the demo city imports whole, and its parts fit together")
    func demoCity() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        for layer in Layer.allCases {
            let report = try db.importFeatures(from: Fixtures.demo("\(layer.rawValue).geojson"), options: ImportOptions(layer: layer))
            #expect(report.rejectedCount == 0)
        }
        let (outside, orphanBuildings, subdistricts, clients) = try db.read { db in
            // Every listing lies inside its building's footprint, and every building on its parcel.
            (try Int.fetchOne(db, sql: """
                SELECT count(*) FROM listings l JOIN buildings b ON b.id = l.building_id WHERE NOT ST_Within(l.geom, b.geom)
                """)!,
             try Int.fetchOne(db, sql: """
                SELECT count(*) FROM buildings b JOIN parcels p ON p.id = b.parcel_id WHERE NOT ST_Within(b.geom, p.geom)
                """)!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM districts WHERE level = 'subdistrict'")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM clients")!)
        }
        #expect(outside == 0)
        #expect(orphanBuildings == 0)
        #expect(subdistricts == 24)
        #expect(clients == 600)
        #expect(try db.check().isEmpty)
    }
}

@Suite("rgis query, match and indicators")
struct QueryCLITests {
    static let database: String = {
        let dir = try! Fixtures.temporaryDirectory()
        let db = dir.path("berlin.sqlite")
        _ = try! rgisBlocking("init", db)
        _ = try! rgisBlocking("import", db, "--layer", "listings", Fixtures.shared("berlin-prenzlauer/listings.geojson"), "--map", "price=list_price")
        _ = try! rgisBlocking("import", db, "--layer", "districts", Fixtures.shared("berlin-prenzlauer/boundary.geojson"), "--map", "neighbourh=name")
        return db
    }()

    @Test("radius prints GeoJSON that ogrinfo reads, and its cursor walks on to the next page")
    func radiusPages() async throws {
        let first = try await rgis("query", "radius", Self.database, "--lon", "13.42", "--lat", "52.54", "--radius-m", "500", "--limit", "20")
        #expect(first.status == 0, "\(first.stderr)")
        let page = try JSONValue.parse(Array(first.stdout.utf8))
        #expect(page["numberReturned"] == .int(20))
        let cursor = try #require(page["next"]?.stringValue)
        let second = try await rgis("query", "radius", Self.database, "--lon", "13.42", "--lat", "52.54", "--radius-m", "500", "--limit", "20", "--cursor", cursor)
        let next = try JSONValue.parse(Array(second.stdout.utf8))
        let a = try #require(page["features"]?.arrayValue), b = try #require(next["features"]?.arrayValue)
        #expect(Set(a.compactMap { $0["id"] }).isDisjoint(with: Set(b.compactMap { $0["id"] })))
        #expect((a.last?["properties"]?["distance_m"]?.number ?? 0) <= (b.first?["properties"]?["distance_m"]?.number ?? 0))
        if let ogrinfo = which("ogrinfo") {
            let dir = try Fixtures.temporaryDirectory()
            defer { dir.remove() }
            let read = try await run(ogrinfo, ["-ro", "-so", "-al", try dir.write("r.geojson", first.stdout)])
            #expect(read.stdout.contains("Feature Count: 20"))
            #expect(read.stdout.contains("distance_m: Real"))
        }
    }

    @Test("negative coordinates, polygons from standard input, districts and tables")
    func otherQueries() async throws {
        let polygon = #"{"type":"Polygon","coordinates":[[[13.41,52.535],[13.425,52.535],[13.425,52.545],[13.41,52.545],[13.41,52.535]]]}"#
        let within = try await rgis("query", "polygon", Self.database, "--geometry", "-", "--within", "--limit", "10000", stdin: polygon)
        #expect(within.status == 0, "\(within.stderr)")
        let bbox = try await rgis("query", "bbox", Self.database, "--bbox", "13.41,52.535,13.425,52.545", "--limit", "10000")
        #expect(try JSONValue.parse(Array(within.stdout.utf8))["numberReturned"] == JSONValue.parse(Array(bbox.stdout.utf8))["numberReturned"])
        let west = try await rgis("query", "radius", Self.database, "--lon", "-0.1", "--lat", "51.5", "--radius-m", "1000")
        #expect(west.status == 0, "a negative longitude is a value, not an option: \(west.stderr)")
        let district = try await rgis("query", "district", Self.database, "--lon", "13.42", "--lat", "52.54", "--format", "table")
        #expect(district.stdout.contains("Helmholtzplatz"))
        let nearest = try await rgis("query", "nearest", Self.database, "--lon", "13.42", "--lat", "52.54", "--k", "3", "--format", "table")
        #expect(nearest.stdout.hasSuffix("3 features\n"))
    }

    @Test("bad parameters exit non-zero naming the parameter and the rule", arguments: [
        (["query", "radius", "--lon", "13.4", "--lat", "91", "--radius-m", "10"], "parameter lat"),
        (["query", "radius", "--lon", "13.4", "--lat", "nan", "--radius-m", "10"], "finite"),
        (["query", "radius", "--lon", "13.4", "--lat", "52.5", "--radius-m", "0"], "radius_m must be between 1 and 100000"),
        (["query", "radius", "--lon", "13.4", "--lat", "52.5", "--radius-m", "100001"], "radius_m"),
        (["query", "radius", "--lon", "13.4", "--lat", "52.5", "--radius-m", "10", "--limit", "0"], "limit must be between 1 and 10000"),
        (["query", "radius", "--lon", "13.4", "--lat", "52.5", "--radius-m", "10", "--type", "castle"], "unknown property type 'castle'"),
        (["query", "radius", "--lon", "13.4", "--lat", "52.5", "--radius-m", "10", "--price-min", "9", "--price-max", "1"], "price_min 9.0 is greater than price_max 1.0"),
        (["query", "radius", "--lon", "13.4", "--lat", "52.5", "--radius-m", "10", "--cursor", "garbage!"], "parameter cursor"),
        (["query", "district", "--id", "atlantis"], "no district with id 'atlantis'"),
        (["match", "client", "--demand", "nobody"], "no demand with id 'nobody'"),
        (["indicators", "--level", "county"], "unknown level 'county'"),
    ])
    func badParameters(_ arguments: [String], _ message: String) async throws {
        var args = arguments
        args.insert(Self.database, at: arguments[0] == "indicators" ? 1 : 2)
        let result = try await run(Fixtures.rgisExecutable, args)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("an invalid polygon is refused naming the rule")
    func invalidPolygon() async throws {
        let bowtie = #"{"type":"Polygon","coordinates":[[[13.40,52.52],[13.41,52.53],[13.41,52.52],[13.40,52.53],[13.40,52.52]]]}"#
        let result = try await rgis("query", "polygon", Self.database, "--geometry", "-", stdin: bowtie)
        #expect(result.status == 1)
        #expect(result.stderr.contains("parameter geometry: the polygon is not valid: Self-intersection"))
    }
}
