import Foundation
import RGISBackends
import RGISCore
import RGISStore
import RGISTesting
import Synchronization
import Testing

/// A backup taken while writers go on, and the backups and restores that are refused, on every backend.
@Suite("Conformance: backup under writes, and what backup and restore refuse")
struct BackupConformance {
    /// The listing `W<n>` the writer creates.
    static func listing(_ n: Int) -> JSONValue {
        try! JSONValue.parse(Array(#"""
            {"type":"Feature","id":"W\#(n)","geometry":{"type":"Point","coordinates":[9.05,48.03]},
             "properties":{"status":"active","list_price":300000,"living_area_m2":60}}
            """#.utf8))
    }

    /// The numbers of the `W<n>` listings a store holds.
    static func written(_ store: any Store) async throws -> [Int] {
        try await store.exportedFeatures(.listings).compactMap { feature in
            guard let id = feature["id"]?.stringValue, id.hasPrefix("W") else { return nil }
            return Int(id.dropFirst())
        }
    }

    @Test("a backup taken while listings are written one transaction at a time holds exactly those committed before it, passes check, and restores",
          arguments: Backends.all)
    func backupUnderWrites(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let committed = Atomic<Int>(0)
        // The listing being written: its commit may land before the counter above moves.
        let started = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        // A writer that commits W1, W2, … one by one until told to stop, through its own open of the store.
        let other = try await backend.reopen(store)
        // On a thread of its own: it must go on committing whatever holds the cooperative pool meanwhile.
        let executor = ThreadExecutor(name: "backup-test-writer")
        defer { executor.shutdown() }
        let writer = Task(executorPreference: executor) {
            var n = 0
            while !stop.load(ordering: .relaxed) || n < 50 {
                n += 1
                started.store(n, ordering: .relaxed)
                let created = try await other.create(.listing, Self.listing(n), owner: nil, client: nil, idempotency: nil)
                guard created.id == "W\(n)" else { throw RGISError(.database, "W\(n) was stored as \(created.id)") }
                committed.store(n, ordering: .relaxed)
            }
        }
        while committed.load(ordering: .relaxed) < 20 { try await Task.sleep(for: .milliseconds(5)) }
        let before = committed.load(ordering: .relaxed)
        let backup = dir.path("backup.sqlite")
        let report = try await store.backup(to: backup, replacing: false)
        let after = committed.load(ordering: .relaxed)
        let startedAfter = started.load(ordering: .relaxed)
        stop.store(true, ordering: .relaxed)
        try await writer.value
        #expect(after > before, "the writer kept committing during the backup (\(before) → \(after))")

        let copyLocation = try backend.location(dir, "copy")
        try await StoreLocation.restore(from: backup, to: copyLocation, replacing: false)
        let copy = try await StoreLocation.open(copyLocation)
        let problems = try await copy.check()
        #expect(problems.isEmpty, "\(problems)")
        let numbers = Set(try await Self.written(copy))
        // One snapshot: W1…Wk with no gap, k at least what was committed before the backup and at most
        // what had been started when it ended.
        #expect(numbers == Set(1...max(numbers.count, 1)) && numbers.count >= before && numbers.count <= startedAfter,
                "\(numbers.count) of W1…W\(startedAfter) (≥ \(before))")
        #expect(report.layers.first { $0.0 == .listings }?.1 == 2270 + numbers.count)
        let total = try await Self.written(store).count
        #expect(total > numbers.count, "the original went on after the copy's moment")

        // Restored over a store, it is that store again; an existing one needs --force.
        let target = try backend.location(dir, "restored")
        _ = try await StoreLocation.create(target)
        await #expect(throws: RGISError.self) { try await StoreLocation.restore(from: backup, to: target, replacing: false) }
        try await StoreLocation.restore(from: backup, to: target, replacing: true)
        let restored = try await StoreLocation.open(target)
        #expect(try await Self.written(restored).count == numbers.count)
        #expect(try await restored.check().isEmpty)
    }

    @Test("refusals: the store itself, an existing file, a missing or foreign backup; nothing is left half written", arguments: Backends.all)
    func refusals(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let store = try await backend.demoCity(in: dir)
        let itself = try await #require(throws: RGISError.self) { _ = try await store.backup(to: store.location, replacing: false) }
        #expect(itself.description.contains("the database itself"))
        let existing = try dir.write("existing.sqlite", "x")
        let exists = try await #require(throws: RGISError.self) { _ = try await store.backup(to: existing, replacing: false) }
        #expect(exists.code == .conflict && exists.description.contains("--force"))
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "x")
        await #expect(throws: RGISError.self) { _ = try await store.backup(to: dir.path("no/such/dir/b.sqlite"), replacing: false) }
        let target = try backend.location(dir, "r")
        let missing = try await #require(throws: RGISError.self) { try await StoreLocation.restore(from: dir.path("none.sqlite"), to: target, replacing: false) }
        #expect(missing.code == .notFound)
        let foreign = try await #require(throws: RGISError.self) { try await StoreLocation.restore(from: existing, to: target, replacing: false) }
        #expect(foreign.code == .notAnRGISDatabase)
        #expect(!FileManager.default.fileExists(atPath: target))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.contains(".partial-") || $0.contains(".restoring-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
