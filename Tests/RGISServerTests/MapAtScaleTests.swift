import Foundation
import Testing
import RGISTesting

/// The map page at scale in headless Chromium: a generated metro region of 300,000 listings.
@Suite("Map at scale")
struct MapAtScaleTests {
    @Test("Chromium draws the three views of a 300,000-listing database; the page's total in view is what raw SQL counts over its box")
    func mapAtScale() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = dir.path("metro.sqlite")
        let made = try await rgis("sample", "--out", dir.path("metro"), "--listings", "300000", "--demands", "1000", "--parcels", "500", "--database", database)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try await rgis("users", "add", database, "ops", "--role", "admin").status == 0)
        let token = try await rgis("tokens", "create", database, "ops").stdout.trimmingCharacters(in: .newlines)
        let server = try ServerProcess(database: database, arguments: ["--no-notify", "--request-timeout", "900"])
        defer { server.stop() }
        let result = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/benchlib/maps.py").path, "--url", server.url,
                                                  "--checks-only", "--database", database, "--screenshots", dir.path("views"), "--token", token])
        print(result.stdout, terminator: "")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for view in ["agent", "planner", "regulator", "unmet"] {
            #expect(result.stdout.contains("ok   \(view) view"), "the \(view) view")
        }
        #expect(result.stdout.contains("of 300,000"), "the page states the whole register")
    }
}
