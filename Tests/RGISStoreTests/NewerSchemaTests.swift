import Foundation
import GRDB
import Testing
import RGISCore
import RGISStore
import RGISTesting

/// A file upgraded by a newer RGIS holds tables this program does not know to keep in step: it is
/// refused, and left as it was.
@Suite("Schema from a newer RGIS")
struct NewerSchemaTests {
    @Test("a database with a migration this RGIS does not know is refused by every command, and not written")
    func refused() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("newer.sqlite")
        // Made and marked in a child process, so that this process holds no open pool on the file.
        let made = try await run(Fixtures.rgisExecutable, ["init", path])
        #expect(made.status == 0, "\(made.stderr)")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-from-the-future')") }
        // Into the main file, so that its bytes are the whole database.
        try await queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for arguments in [["info", path], ["check", path], ["export", path, "--layer", "listings"]] {
            let result = try await run(Fixtures.rgisExecutable, arguments)
            #expect(result.status != 0, "\(arguments[0]) opened it")
            #expect(result.stderr.contains("upgraded by a newer RGIS"), "\(arguments[0]): \(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the file was written")
    }
}
