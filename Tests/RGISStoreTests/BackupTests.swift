import Foundation
import GRDB
import Synchronization
import Testing
import RGISCore
@testable import RGISStore
import RGISTesting

@Suite("Backup and restore")
struct BackupTests {
    @Test("a backup taken while listings are written one transaction at a time holds exactly those committed before it, passes rgis check, and restores")
    func backupUnderWrites() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let committed = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        // A writer that commits W1, W2, … one by one until told to stop, through its own connection.
        let writer = Thread {
            let other = try! RGISDatabase.open(at: database.path)
            var n = 0
            while !stop.load(ordering: .relaxed) || n < 50 {
                n += 1
                try! other.pool.write { db in
                    try db.execute(sql: "INSERT INTO listings (id, status, list_price, living_area_m2, geom) VALUES (?, 'active', 300000, 60, MakePoint(9.05, 48.03, 4326))",
                                   arguments: ["W\(n)"])
                }
                committed.store(n, ordering: .relaxed)
            }
        }
        writer.start()
        while committed.load(ordering: .relaxed) < 20 { Thread.sleep(forTimeInterval: 0.005) }
        let before = committed.load(ordering: .relaxed)
        let report = try database.backup(to: dir.path("backup.sqlite"))
        let after = committed.load(ordering: .relaxed)
        stop.store(true, ordering: .relaxed)
        while !writer.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        #expect(after > before, "the writer kept committing during the backup (\(before) → \(after))")

        let copy = try RGISDatabase.open(at: dir.path("backup.sqlite"))
        let problems = try copy.check()
        #expect(problems.isEmpty, "\(problems)")
        let written = try copy.read { db in try String.fetchAll(db, sql: "SELECT id FROM listings WHERE id LIKE 'W%'") }
        let numbers = Set(written.compactMap { Int($0.dropFirst()) })
        // One snapshot: W1…Wk with no gap, k between what was committed before and after the backup.
        #expect(numbers == Set(1...max(numbers.count, 1)) && numbers.count >= before && numbers.count <= after,
                "\(numbers.count) of W1…W\(after) (≥ \(before))")
        #expect(report.layers.first { $0.0 == .listings }?.1 == 2270 + numbers.count)
        let total = try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM listings WHERE id LIKE 'W%'")! }
        #expect(total > numbers.count, "the original went on after the copy's moment")

        // Restored over a database, it is that database again; an existing file needs --force.
        let target = dir.path("restored.sqlite")
        _ = try RGISDatabase.create(at: target)
        #expect(throws: RGISError.self) { try RGISDatabase.restore(from: dir.path("backup.sqlite"), to: target) }
        try RGISDatabase.restore(from: dir.path("backup.sqlite"), to: target, replacing: true)
        let restored = try RGISDatabase.open(at: target)
        #expect(try restored.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM listings WHERE id LIKE 'W%'") } == numbers.count)
        #expect(try restored.check().isEmpty)
    }

    @Test("refusals: the database itself, an existing file, a missing or foreign backup; nothing is left half written")
    func refusals() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        let itself = try #require(throws: RGISError.self) { try database.backup(to: database.path) }
        #expect(itself.description.contains("the database itself"))
        let existing = try dir.write("existing.sqlite", "x")
        let exists = try #require(throws: RGISError.self) { try database.backup(to: existing) }
        #expect(exists.code == .conflict && exists.description.contains("--force"))
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "x")
        #expect(throws: RGISError.self) { try database.backup(to: dir.path("no/such/dir/b.sqlite")) }
        let missing = try #require(throws: RGISError.self) { try RGISDatabase.restore(from: dir.path("none.sqlite"), to: dir.path("r.sqlite")) }
        #expect(missing.code == .notFound)
        let foreign = try #require(throws: RGISError.self) { try RGISDatabase.restore(from: existing, to: dir.path("r.sqlite")) }
        #expect(foreign.code == .notAnRGISDatabase)
        #expect(!FileManager.default.fileExists(atPath: dir.path("r.sqlite")))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.contains(".partial-") || $0.contains(".restoring-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
