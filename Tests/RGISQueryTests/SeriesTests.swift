import Foundation
import GRDB
import RGISCore
import RGISFiles
@testable import RGISQuery
@testable import RGISSpatiaLite
@testable import RGISStore
import RGISTesting
import Testing

/// The series' SpatiaLite mechanics (district placement columns and their triggers, history rows,
/// the market counter and series stamps under bulk writes), the withholding arithmetic and the
/// calendar, and the series oracle. What the series read from any store and how they follow its
/// writes is stated on every backend in the conformance suite (`SeriesConformance`).
@Suite("Market series: placement, bulk writes, withholding and the oracle")
struct SeriesTests {
    @Test("the oracle (shapely, plain Python) recomputes every monthly figure, change and withheld cell of the demo city's two years, demand by segment, and the alerts in force and raised or cleared")
    func oracle() async throws {
        let result = try await Fixtures.runOracle("series_oracle.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path,
                                                                 "--from", "2025-01", "--to", "2026-11", "--levels", "city,district,subdistrict"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("series oracle: all answers agree"))
        #expect(result.stdout.contains("segments oracle: 2 levels × 4 fields"))
        #expect(result.stdout.contains("alerts oracle: "))
        #expect(result.stdout.contains("23 months × city,district,subdistrict districts"))
        // Real figures, not empty months: most are non-zero, some withheld, the history read.
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("series oracle: 23 months") } ?? ""
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        // (compared, non-zero, withheld by the small-number rule, complements, dated changes)
        #expect(numbers.count >= 6 && numbers[1] > 15_000 && numbers[2] > 4000 && numbers[3] > 500 && numbers[4] > 0 && numbers[5] == 1068, "\(result.stdout)")
        print(result.stdout, terminator: "")
    }

    @Test("the forecast oracle recomputes every forecast, interval, parameter and backtest figure of every level from the published series (CLI and HTTP), and the refusals of short histories, on a file and on PostgreSQL",
          arguments: [false, true])
    func forecastOracle(onPostgreSQL: Bool) async throws {
        let base = onPostgreSQL ? ["--database-base", try PostgresServer.base.get()] : []
        let result = try await Fixtures.runOracle("forecast_oracle.py", ["--demo", Fixtures.packageRoot.appendingPathComponent("geodata").path] + base)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("forecast oracle: all answers agree"))
        // Every level's figures by CLI and HTTP: forecasts made and some refused (withheld months in small districts).
        // (figures, levels, forecasts, numbers, refused, expected alerts crossing a rule's threshold)
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("forecast oracle: 315 district figures") } ?? ""
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.count >= 6 && numbers[2] > 50 && numbers[3] > 1000 && numbers[4] > 0 && numbers[5] >= 2, "\(result.stdout)")
        print(result.stdout, terminator: "")
    }

    /// Listings and demands whose stored placement differs from a fresh polygon test.
    private func misplaced(_ database: RGISDatabase) throws -> Int {
        try database.read { db in try DistrictPlacement.misplaced(db).reduce(0) { $0 + $1.1 } }
    }

    @Test("every listing and demand is placed when written: bulk import, upsert that moves it, districts imported again")
    func placementFollowsWrites() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        #expect(try misplaced(database) == 0)
        let placed = try database.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM listings WHERE subdistrict_fid IS NOT NULL AND district_fid IS NOT NULL AND city_fid IS NOT NULL")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM demands WHERE subdistrict_fid IS NOT NULL")!)
        }
        #expect(placed == (2270, 783))

        // L00001 moves into D6-4 (its south-east corner quarter) by an upsert.
        let quarter = try database.read { db in try Row.fetchOne(db, sql: "SELECT fid, X(ST_Centroid(geom)), Y(ST_Centroid(geom)) FROM districts WHERE id = 'D6-4'")! }
        let moved = try dir.write("moved.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"L00001","geometry":{"type":"Point","coordinates":[\(quarter[1] as Double),\(quarter[2] as Double)]},
             "properties":{"status":"active","list_price":400000,"living_area_m2":70,"list_date":"2026-05-01"}}]}
            """)
        var upsert = ImportOptions(layer: .listings)
        upsert.upsert = true
        _ = try database.importFeatures(from: moved, options: upsert)
        let after = try database.read { db in try Int64.fetchOne(db, sql: "SELECT subdistrict_fid FROM listings WHERE id = 'L00001'") }
        #expect(after == quarter[0] as Int64)

        // D1-1 redrawn over D6-4 (an upsert of the districts): D1-1's listings lose their quarter, D6-4's
        // go to D1-1 (where districts of a level overlap, the lower fid wins), and nothing is left stale.
        let d64 = try database.read { db in try String.fetchOne(db, sql: "SELECT AsGeoJSON(geom) FROM districts WHERE id = 'D6-4'")! }
        let redrawn = try dir.write("district.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"D1-1","geometry":\(d64),
             "properties":{"name":"Altstadt Nord","level":"subdistrict","parent_id":"D1"}}]}
            """)
        var replace = ImportOptions(layer: .districts)
        replace.upsert = true
        _ = try database.importFeatures(from: redrawn, options: replace)
        #expect(try misplaced(database) == 0)
        let counts = try database.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM listings l JOIN districts d ON d.fid = l.subdistrict_fid WHERE d.id = 'D1-1'")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM listings l JOIN districts d ON d.fid = l.subdistrict_fid WHERE d.id = 'D6-4'")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM listings l, districts d WHERE d.id = 'D6-4' AND ST_Contains(d.geom, l.geom)")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM listings WHERE subdistrict_fid IS NULL")!)
        }
        #expect(counts.0 == counts.2 && counts.1 == 0 && counts.2 > 10 && counts.3 > 10, "\(counts)")

        // Bulk import of new listings places each (the insert trigger is dropped for the import).
        let fresh = try dir.write("fresh.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"N1","geometry":{"type":"Point","coordinates":[\(quarter[1] as Double),\(quarter[2] as Double)]},
             "properties":{"status":"active","list_price":300000,"living_area_m2":50}}]}
            """)
        _ = try database.importFeatures(from: fresh, options: ImportOptions(layer: .listings))
        let n1 = try database.read { db in try Int64.fetchOne(db, sql: "SELECT subdistrict_fid FROM listings WHERE id = 'N1'") }
        let d11 = try database.read { db in try Int64.fetchOne(db, sql: "SELECT fid FROM districts WHERE id = 'D1-1'") }
        #expect(n1 == d11, "in D6-4's square, which D1-1 (the lower fid) now covers too")
        #expect(try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'listings_place_insert'") } == 1)
        #expect(try misplaced(database) == 0)

        // A raw edit that moves a row is placed by the move trigger.
        try database.pool.write { db in
            try db.execute(sql: "UPDATE listings SET geom = MakePoint(?, ?, 4326) WHERE id = 'N1'", arguments: [9.01, 48.01])
        }
        let movedN1 = try database.read { db in try Int64.fetchOne(db, sql: "SELECT subdistrict_fid FROM listings WHERE id = 'N1'") }
        #expect(movedN1 != nil && movedN1 != d11)
        #expect(try misplaced(database) == 0)
    }

    @Test("imported history is stored as history: its rows keep their dates and are marked from_history, so no trigger queues them for the notifier")
    func historyRows() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let header = ChangeHistory.columns.joined(separator: ",")
        let path = try dir.write("history.csv", header + "\r\n" + "listings,L00001,price_change,500000,480000,2026-03-01\n"
                                 + "demands,R00001,status_change,active,paused,2026-04-02T10:00:00Z\r\n")
        #expect(try database.importEvents(from: path) == EventImportReport(rowsRead: 2, recorded: 2, alreadyRecorded: 0))
        let stored = try database.read { db in try Row.fetchAll(db, sql: "SELECT at, from_history FROM events WHERE id > (SELECT max(id) - 2 FROM events) ORDER BY id") }
        #expect(stored.map { $0[0] as String } == ["2026-03-01T00:00:00Z", "2026-04-02T10:00:00Z"])
        #expect(stored.allSatisfy { $0[1] as Int == 1 })
    }

    @Test("series options: months and ranges are refused naming the parameter")
    func seriesOptions() throws {
        let today = ISODate(parsing: "2026-12-02")!
        var p = RequestParameters()
        let defaults = try SeriesOptions(p, today: today)
        #expect(defaults.from.text == "2025-01" && defaults.to.text == "2026-12" && defaults.months.count == 24 && defaults.level == .district)
        for (name, value, message) in [("from", "2026-13", "parameter from"), ("to", "26-01", "parameter to"), ("from", "2026-1", "parameter from")] {
            p = RequestParameters()
            p.set(name, value)
            let error = try #require(throws: RGISError.self) { try SeriesOptions(p, today: today) }
            #expect(error.description.contains(message) && error.description.contains("YYYY-MM"), "\(error.description)")
        }
        p = RequestParameters()
        p.set("from", "2026-06")
        p.set("to", "2026-05")
        #expect(throws: RGISError.self) { try SeriesOptions(p, today: today) }
        p.set("from", "2000-01")
        p.set("to", "2026-05")
        #expect(throws: RGISError.self) { try SeriesOptions(p, today: today) }
    }

    @Test("SpatiaLite's bulk writes: an import moves the market counter once and every series stamp once; districts imported again (every row placed again) move every stamp once")
    func bulkWritesMoveEveryStamp() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let store = SpatiaLiteStore(database)
        let engine = QueryEngine(store)
        let options = try SeriesOptions(level: .subdistrict, from: YearMonth(parsing: "2025-01")!, to: YearMonth(parsing: "2026-11")!)
        let today = ISODate(parsing: "2026-12-02")!
        let subdistricts = try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM districts WHERE level = 'subdistrict'")! }
        func computed() async throws -> Int { try await engine.computeSeries(options, keeping: true, today: today).computed }
        #expect(try await computed() == subdistricts)
        #expect(try await computed() == 0)

        // A bulk import of listings moves SpatiaLite's counter once, and every stamp once.
        let before = try #require(Int64(try await store.marketChangeToken().text))
        let fresh = try dir.write("fresh.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"N1","geometry":{"type":"Point","coordinates":[9.01,48.01]},"properties":{"status":"active","list_date":"2026-02-01"}},
             {"type":"Feature","id":"N2","geometry":{"type":"Point","coordinates":[9.02,48.01]},"properties":{"status":"active"}}]}
            """)
        _ = try database.importFeatures(from: fresh, options: ImportOptions(layer: .listings))
        #expect(try await store.marketChangeToken() == ChangeToken(String(before + 1)))
        #expect(try await computed() == subdistricts)

        // Districts imported again (every row placed again): every stamp moves once.
        let d11JSON = try await database.read { db in try String.fetchOne(db, sql: "SELECT AsGeoJSON(geom) FROM districts WHERE id = 'D1-1'")! }
        let redrawn = try dir.write("district.geojson", """
            {"type":"FeatureCollection","features":[{"type":"Feature","id":"D1-1","geometry":\(d11JSON),"properties":{"name":"Altstadt Nord","level":"subdistrict","parent_id":"D1"}}]}
            """)
        var replace = ImportOptions(layer: .districts)
        replace.upsert = true
        _ = try database.importFeatures(from: redrawn, options: replace)
        #expect(try await computed() == subdistricts)
    }

    /// A table with its sums (last row and column) as a system of counts.
    static func withhold(_ table: [[Int]]) -> [[Bool]] {
        var system = Suppression()
        let cells = table.map { row in row.map { system.count($0) } }
        for row in cells { system.sum(row.last!, of: Array(row.dropLast())) }
        for c in cells[0].indices { system.sum(cells.last![c], of: cells.dropLast().map { $0[c] }) }
        let withheld = system.withhold().withheld
        return cells.map { $0.map { withheld[$0] } }
    }

    @Test("complementary withholding: no row or column is left with a single withheld cell, and big cells stay shown")
    func complementaryWithholding() {
        // Districts × (two segments, total), the sums' row last.
        let table = [[3, 40, 43], [20, 30, 50], [12, 2, 14], [35, 72, 107]]
        let withheld = Self.withhold(table)
        #expect(withheld[0][0] && withheld[2][1], "the small cells")
        for line in (0..<4).map({ r in (0..<3).map { (r, $0) } }) + (0..<3).map({ c in (0..<4).map { ($0, c) } }) {
            let n = line.filter { withheld[$0.0][$0.1] }.count
            #expect(n != 1, "\(line): \(withheld)")
        }
        #expect(!withheld[1][0] && !withheld[1][1] && !withheld[1][2], "the row with no small cell needs none withheld: \(withheld)")
        #expect(Self.withhold([[0, 10, 10], [0, 10, 10]]).allSatisfy { $0.allSatisfy { !$0 } })
    }

    @Test("a zero is never withheld as a complement (a count is not negative: beside a total of zero it is known); the fixed total that would need withholding is named instead")
    func zeroIsNoComplement() {
        var system = Suppression()
        let total = system.count(2), x = system.count(2), zero = system.count(0)
        system.sum(total, of: [x, zero])
        let outcome = system.withhold(fixed: [total: false])
        #expect(outcome.withheld[x] && !outcome.withheld[zero])
        #expect(outcome.fixedButNeeded == [total])
        // With a non-zero count open, that one is chosen.
        var open = Suppression()
        let t = open.count(9), a = open.count(2), b = open.count(0), c = open.count(7)
        open.sum(t, of: [a, b, c])
        let chosen = open.withhold().withheld
        #expect(chosen[a] && chosen[c] && !chosen[b] && !chosen[t])
    }

    @Test("complementary withholding: a withheld count that two sums together determine gets a second one, across levels too")
    func withholdingSolvedAsASystem() {
        // x (3) is the only withheld part of neither sum once each has a second withheld count, but
        // a = x + y and b = x + z with y, z withheld and a, b, y + z known… here the system decides.
        var system = Suppression()
        let x = system.count(3), y = system.count(20), z = system.count(30), w = system.count(2)
        let a = system.count(23), b = system.count(33), c = system.count(22)
        system.sum(a, of: [x, y])
        system.sum(b, of: [x, z])
        system.sum(c, of: [y, w])
        let withheld = system.withhold().withheld
        #expect(withheld[x] && withheld[w])
        #expect(system.determined(withheld).isEmpty, "nothing withheld can be solved for: \(withheld)")
        // A district and its two subdistricts: 7 = 3 + 4 hides both children, never one alone.
        var levels = Suppression()
        let parent = levels.count(7), one = levels.count(3), two = levels.count(4)
        levels.sum(parent, of: [one, two])
        let shown = levels.withhold().withheld
        #expect(shown[one] && shown[two] && !shown[parent])
        var lone = Suppression()
        let p = lone.count(12), c1 = lone.count(3), c2 = lone.count(9)
        lone.sum(p, of: [c1, c2])
        let hidden = lone.withhold().withheld
        #expect(hidden[c1] && (hidden[c2] || hidden[p]), "parent minus the child shown would give the withheld one")
    }

    @Test("calendar days: day numbers round-trip over four centuries and months know their last day")
    func calendarDays() {
        #expect(ISODate(parsing: "1970-01-01")!.dayNumber == 0)
        #expect(ISODate(parsing: "2000-03-01")!.dayNumber == 11017)
        var day = ISODate(parsing: "1900-01-01")!
        let start = day.dayNumber
        for n in stride(from: 0, to: 146_097, by: 37) {
            day = ISODate(dayNumber: start + n)!
            #expect(day.dayNumber == start + n)
        }
        #expect(ISODate(parsing: "2024-02-28")!.addingDays(1).text == "2024-02-29")
        #expect(ISODate(parsing: "2023-02-28")!.addingDays(1).text == "2023-03-01")
        #expect(YearMonth(parsing: "2024-02")!.lastDay.text == "2024-02-29")
        #expect(YearMonth(parsing: "2026-01")!.adding(-13).text == "2024-12")
    }
}
