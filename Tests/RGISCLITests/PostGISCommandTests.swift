import Foundation
import RGISTesting
import Testing

/// The CLI on a PostgreSQL location, as an operator uses it: init creates the database, import, info,
/// query, export and check work on it and answer as on a SpatiaLite file; a location that holds a
/// password, names no database or reaches no server is refused with a message saying what to do.
@Suite("rgis on a PostgreSQL location")
struct PostGISCommandTests {
    @Test("init, import, info, query, export and check answer as on a SpatiaLite file")
    func commandsAnswerAlike() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let url = try PostgresServer.newDatabase("cli")
        let file = dir.path("city.sqlite")
        for location in [url, file] {
            let made = try await rgis("init", location)
            #expect(made.status == 0, "\(made.stderr)")
            for layer in ["districts", "buildings", "listings"] {
                let imported = try await rgis("import", location, Fixtures.demo("\(layer).geojson"), "--layer", layer)
                #expect(imported.status == 0, "\(imported.stderr)")
            }
        }
        let info = try await rgis("info", url)
        #expect(info.status == 0 && info.stdout.contains("listings        2270"), "\(info.stdout)")
        #expect(!info.stdout.contains("PGPASSWORD"))
        for arguments in [["query", "radius", "--lon", "9.05", "--lat", "48.02", "--radius-m", "1500", "--limit", "1000"],
                          ["query", "nearest", "--lon", "9.05", "--lat", "48.02", "--k", "25"],
                          ["query", "bbox", "--bbox", "9.02,48.01,9.06,48.03", "--limit", "5000"],
                          ["export", "--layer", "buildings"]] {
            let onFile = try await run(Fixtures.rgisExecutable, Array(arguments.prefix(arguments[0] == "query" ? 2 : 1)) + [file] + arguments.dropFirst(arguments[0] == "query" ? 2 : 1))
            let onServer = try await run(Fixtures.rgisExecutable, Array(arguments.prefix(arguments[0] == "query" ? 2 : 1)) + [url] + arguments.dropFirst(arguments[0] == "query" ? 2 : 1))
            #expect(onFile.status == 0 && onServer.status == 0, "\(arguments): \(onServer.stderr)")
            #expect(onServer.stdout == onFile.stdout, "\(arguments)")
            #expect(onServer.stdout.count > 1000)
        }
        let check = try await rgis("check", url)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // A second init changes nothing; a store lacking nothing opens.
        #expect(try await rgis("init", url).status == 0)
        #expect(try await rgis("info", url).stdout.contains("listings        2270"))
    }

    @Test("a store whose records on a shared edge were placed in no district (before p12) has them placed by the covering rule after rgis init upgrades it, the district imported first on a tie")
    func placementOnBordersUpgrade() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let url = try PostgresServer.newDatabase("borders")
        let psqlURL = url.replacingOccurrences(of: "?sslmode=disable", with: "")
        #expect(try await rgis("init", url).status == 0)
        try Data(#"""
            {"type":"FeatureCollection","features":[
            {"type":"Feature","id":"East","properties":{"level":"district"},"geometry":{"type":"Polygon","coordinates":[[[9.01,48.0],[9.02,48.0],[9.02,48.01],[9.01,48.01],[9.01,48.0]]]}},
            {"type":"Feature","id":"West","properties":{"level":"district"},"geometry":{"type":"Polygon","coordinates":[[[9.0,48.0],[9.01,48.0],[9.01,48.01],[9.0,48.01],[9.0,48.0]]]}}]}
            """#.utf8).write(to: URL(fileURLWithPath: dir.path("districts.geojson")))
        try Data("id,lon,lat,status\nedge,9.01,48.005,active\ncorner,9.01,48.0,active\nwest,9.005,48.005,active\noutside,9.03,48.005,active\n".utf8)
            .write(to: URL(fileURLWithPath: dir.path("listings.csv")))
        #expect(try await rgis("import", url, dir.path("districts.geojson"), "--layer", "districts").status == 0)
        #expect(try await rgis("import", url, dir.path("listings.csv"), "--layer", "listings").status == 0)
        func listed(_ district: String) async throws -> [String] {
            let out = try await rgis("query", "district", url, "--id", district, "--listings")
            #expect(out.status == 0, "\(out.stderr)")
            let features = (try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])?["features"] as? [[String: Any]] ?? []
            return features.compactMap { $0["id"] as? String }.sorted()
        }
        #expect(try await listed("East") == ["corner", "edge"])
        #expect(try await listed("West") == ["west"])
        // As p11 left them: the rows on the edge in no district (which rgis check finds), p12 not applied.
        let unplaced = try await run("/usr/bin/psql", [psqlURL, "-qc", "UPDATE listings SET district_fid = NULL WHERE id IN ('edge', 'corner')"])
        #expect(unplaced.status == 0, "\(unplaced.stderr)")
        let found = try await rgis("check", url)
        #expect(found.status != 0 && (found.stdout + found.stderr).contains("2 records are not placed in the districts that hold them now"), "\(found.stdout)\(found.stderr)")
        let rewind = try await run("/usr/bin/psql", [psqlURL, "-qc", "DELETE FROM rgis_migrations WHERE name = 'p12-placement-on-borders'"])
        #expect(rewind.status == 0, "\(rewind.stderr)")
        let stale = try await rgis("query", "district", url, "--id", "East", "--listings")
        #expect(stale.status != 0 && stale.stderr.contains("lacks 1 of this RGIS's migrations; run rgis init"), "\(stale.stderr)")
        let upgraded = try await rgis("init", url)
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        #expect(try await listed("East") == ["corner", "edge"])
        #expect(try await listed("West") == ["west"])
        let check = try await rgis("check", url)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test("rgis copy carries a store with every kind of record to PostgreSQL and back: counts, exports (byte-identical), every table row by row, tokens, saved searches and the archive alike; refusals leave the target alone")
    func copyRoundTrip() async throws {
        let result = try await Fixtures.runOracle("copy_roundtrip.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path,
                                                                         "--database-base", try PostgresServer.base.get()])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("copy round trip: all agree"))
        #expect(result.stdout.contains("tables: 27 tables"))
        print(result.stdout, terminator: "")
    }

    @Test("a password in the location, a missing database, no database name and an unreachable server are refused, saying what to do")
    func badLocations() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let base = try PostgresServer.base.get()
        let withPassword = try await rgis("info", base.replacingOccurrences(of: "postgres@", with: "postgres:secret@") + "/x")
        #expect(withPassword.status != 0 && withPassword.stderr.contains("PGPASSWORD"))
        #expect(!withPassword.stderr.contains("secret"))
        let missing = try await rgis("info", base + "/no_such_db?sslmode=disable")
        #expect(missing.status == 2 && missing.stderr.contains("rgis init"), "\(missing.stderr)")
        let unnamed = try await rgis("info", base)
        #expect(unnamed.status != 0 && unnamed.stderr.contains("names no database"))
        let nowhere = try await rgis("info", "postgresql://postgres@127.0.0.1:1/rgis?sslmode=disable")
        #expect(nowhere.status != 0 && nowhere.stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "\(nowhere.stderr)")
        // A database another application uses is not taken over.
        let name = "foreign_\(UUID().uuidString.prefix(8).lowercased())"
        #expect(try await run("/usr/bin/psql", ["\(base)/postgres", "-qc", "CREATE DATABASE \(name)"]).status == 0)
        #expect(try await run("/usr/bin/psql", ["\(base)/\(name)", "-qc", "CREATE TABLE orders (id int)"]).status == 0)
        let foreign = try await rgis("init", "\(base)/\(name)?sslmode=disable")
        #expect(foreign.status != 0 && foreign.stderr.contains("another application"), "\(foreign.stderr)")
        #expect(try await run("/usr/bin/psql", ["\(base)/\(name)", "-Atc", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        // A PostgreSQL backup restores to a PostgreSQL location, not to a file.
        let store = try PostgresServer.newDatabase("backup")
        #expect(try await rgis("init", store).status == 0)
        let backedUp = try await rgis("backup", store, dir.path("city.pgdump"))
        #expect(backedUp.status == 0 && backedUp.stdout.contains("backed up"), "\(backedUp.stderr)")
        let toFile = try await rgis("restore", dir.path("city.pgdump"), dir.path("city.sqlite"))
        #expect(toFile.status != 0 && toFile.stderr.contains("is a PostgreSQL backup"), "\(toFile.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("city.sqlite")))
    }
}
