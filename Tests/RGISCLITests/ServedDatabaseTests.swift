import Foundation
import RGISCore
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// A database served by `rgis serve` (notifier on) while other processes run every command the
/// README allows on a served file, then `kill -9` of the server: nothing acknowledged is lost, and
/// every write is visible to other processes within a second of its 201. Driven by
/// `tools/served_file.py`, twenty rounds with a fresh random interleaving each run (the seed is
/// printed, and `--seed` replays it).
@Suite("A served database shared with other processes", .serialized)
struct ServedDatabaseTests {
    @Test("twenty interleavings of HTTP writes, CLI commands, a second worker and sqlite3, then kill -9: nothing lost, each write seen at once")
    func nothingAcknowledgedIsLost() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let template = try Templates.demoCity(in: dir, "template.sqlite")
        try template.checkpoint()
        let result = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/served_file.py").path,
                                                 "--rgis", Fixtures.rgisExecutable, "--template", template.path,
                                                 "--workdir", dir.path("rounds"), "--rounds", "20"])
        print(result.stdout, terminator: "")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("safety net: restore over a served file refused"))
        #expect(result.stdout.contains("served_file: all 20 rounds passed"))
    }

    @Test("one open per process: a second open of the same file, by another path, is the same database")
    func oneOpenPerProcess() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let first = try dir.database("city.sqlite")
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.sqlite"), withDestinationPath: dir.path("city.sqlite"))
        #expect(try RGISDatabase.open(at: dir.path("link.sqlite")) === first)
        #expect(try RGISDatabase.open(at: dir.path("city.sqlite")) === first)
        #expect(first.fileFault == nil)
    }

    @Test("the database's own files are refused as an import source and as an export or backup target")
    func ownFilesRefused() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database("city.sqlite")
        try database.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        let before = try FileManager.default.attributesOfItem(atPath: database.path)[.systemFileNumber] as? Int
        let imported = try await rgis("import", database.path, "--layer", "parcels", database.path)
        #expect(imported.status != 0 && imported.stderr.contains("is the database itself"), "\(imported.stderr)")
        let exported = try await rgis("export", database.path, "--layer", "parcels", "--output", database.path, "--format", "gpkg")
        #expect(exported.status != 0 && exported.stderr.contains("is the database itself"), "\(exported.stderr)")
        let backedUp = try await rgis("backup", database.path, database.path + "-wal", "--force")
        #expect(backedUp.status != 0 && backedUp.stderr.contains("is the database itself"), "\(backedUp.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: database.path)[.systemFileNumber] as? Int == before)
        #expect(database.fileFault == nil)
        #expect(try await rgis("check", database.path).status == 0)
    }

    @Test("a file deleted or replaced under an open database is a fault that refuses writes")
    func replacedFileRefusesWrites() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try dir.database("city.sqlite")
        try database.loadShared("prague-bubenec/plots.geojson", into: .parcels, idField: "ID")
        #expect(database.fileFault == nil)
        // Another file put in its place, as a careless restore would.
        try FileManager.default.copyItem(atPath: database.path, toPath: dir.path("copy.sqlite"))
        #expect(rename(dir.path("copy.sqlite"), database.path) == 0)
        let fault = try #require(database.fileFault)
        #expect(fault.contains("another file was put in the database's place"))
        let store = SpatiaLiteStore(database)
        let error = await #expect(throws: RGISError.self) {
            try await store.addUser(User(name: "late", role: .agent))
        }
        #expect(error?.code == .unavailable)
        #expect(store.storageHealth().refusedWrites == 1)
    }
}
