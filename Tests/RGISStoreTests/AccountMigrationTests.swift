import Foundation
import GRDB
@testable import RGISSpatiaLite
@testable import RGISStore
import RGISTesting
import Testing

@Suite("Migration v4-accounts")
struct AccountMigrationTests {
    @Test("an older file keeps its events, and private fields an import left among the public properties move apart")
    func upgrade() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try SpatiaLiteConnection.load(into: db) }
        let pool = try DatabasePool(path: dir.path("v3.sqlite"), configuration: configuration)
        try Schema.migrate(pool, upTo: "v3-layer-statistics")
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO listings (id, extra, geom) VALUES
                    ('L1', '{"PrivateRemarks":"Keys under the mat","colour":"red"}', MakePoint(9.05, 48.03, 4326)),
                    ('L2', '{"seller_contact":"+49 170 1","ShowingContactPhone":"+49 170 2"}', MakePoint(9.06, 48.03, 4326)),
                    ('L3', '{"colour":"blue"}', MakePoint(9.07, 48.03, 4326));
                INSERT INTO events (layer, record_id, kind) VALUES ('listings', 'L1', 'new'), ('listings', 'L1', 'update');
                """)
        }
        try Schema.migrate(pool)
        try pool.read { db in
            #expect(try String.fetchAll(db, sql: "SELECT COALESCE(extra, '-') FROM listings ORDER BY id") == [#"{"colour":"red"}"#, "-", #"{"colour":"blue"}"#])
            let moved = try Row.fetchAll(db, sql: "SELECT listing_id, private_remarks, showing_contact_phone, seller_contact FROM listing_private ORDER BY listing_id")
            #expect(moved.count == 2)
            #expect(moved[0]["private_remarks"] == "Keys under the mat")
            #expect(moved[1]["showing_contact_phone"] == "+49 170 2" && moved[1]["seller_contact"] == "+49 170 1")
            #expect(try String.fetchAll(db, sql: "SELECT kind FROM events ORDER BY id") == ["new", "update"])
        }
        // The rebuilt events table takes `withdrawn`.
        try pool.write { db in try db.execute(sql: "INSERT INTO events (layer, record_id, kind) VALUES ('listings', 'L3', 'withdrawn')") }
    }
}
