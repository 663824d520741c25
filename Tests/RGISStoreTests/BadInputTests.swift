import Foundation
import GRDB
import RGISCore
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// Files that are not RGIS databases, refused for what their bytes are. Bad input to a store's import is
/// in the conformance suite (BadInputConformance).
@Suite("Files that are not RGIS databases")
struct BadInputTests {
    @Test("a file that is not SQLite, and a SQLite file of another application, are not RGIS databases")
    func notRGIS() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let text = try dir.write("notes.sqlite", "just some text, long enough to not be an empty database file..........")
        #expect { try RGISDatabase.open(at: text) } throws: { ($0 as? RGISError)?.code == .notAnRGISDatabase }
        let other = dir.path("other.sqlite")
        let queue = try DatabaseQueue(path: other)
        try queue.write { try $0.execute(sql: "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts VALUES (1, 'x')") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: other))
        #expect { try RGISDatabase.open(at: other) } throws: { ($0 as? RGISError)?.code == .notAnRGISDatabase }
        #expect { try RGISDatabase.create(at: other) } throws: { ($0 as? RGISError)?.code == .notAnRGISDatabase }
        #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == before)
    }
}
