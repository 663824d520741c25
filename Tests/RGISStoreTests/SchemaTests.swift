import Foundation
import GRDB
import RGISCore
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

@Suite("Schema")
struct SchemaTests {
    /// Tables, columns and registered geometry, one line each, in a stable order.
    func describe(_ db: RGISDatabase) throws -> String {
        try db.read { db in
            var lines: [String] = []
            let tables = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name IN
                ('districts','parcels','buildings','listings','clients','client_contacts','demands','events',
                 'archive_events','archive_parties','archive_rights','archive_lineage','archive_parcels','archive_buildings',
                 'users','tokens','audit_log','idempotency_keys','listing_private','store_secrets') ORDER BY name
                """)
            for table in tables {
                let columns = try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", arguments: [table])
                lines.append("\(table): " + columns.map { "\($0[0] as String) \($0[1] as String)\(($0[2] as Int) == 1 ? " NOT NULL" : "")\(($0[3] as Int) > 0 ? " PK" : "")" }.joined(separator: ", "))
            }
            let geometry = try Row.fetchAll(db, sql: "SELECT f_table_name, f_geometry_column, geometry_type, coord_dimension, srid, spatial_index_enabled FROM geometry_columns ORDER BY f_table_name")
            lines += geometry.map { row in "geometry_columns: " + (0..<6).map { "\(row[$0] as DatabaseValue)" }.joined(separator: " ") }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    @Test("the migrated schema matches the golden file")
    func golden() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let actual = try describe(dir.database())
        let mismatch = try Golden.mismatch(actual, "Tests/RGISStoreTests/Golden/schema.txt")
        #expect(mismatch == nil)
    }

    @Test("every field RGISCore declares is a column of its layer's table, with the same type")
    func fieldsAreColumns() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        try db.read { db in
            for layer in Layer.allCases {
                let columns = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_info(?)", arguments: [layer.table]).map { ($0[0] as String, $0[1] as String) })
                for field in layer.fields {
                    #expect(columns[field.name] == field.sqlType, "\(layer).\(field.name)")
                }
                #expect(columns["id"] == "TEXT" && columns["extra"] == "TEXT")
            }
        }
    }

    @Test("opening again is a no-op, and a file whose creation was cut short after tagging is finished")
    func reopen() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let first = try describe(dir.database("a.sqlite"))
        let again = try describe(RGISDatabase.create(at: dir.path("a.sqlite")))
        #expect(first == again)
        // A file tagged as RGIS but without tables yet (init killed after the first step) is completed.
        let queue = try DatabaseQueue(path: dir.path("b.sqlite"))
        try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA application_id = 1380403539") }
        try queue.close()
        #expect(try describe(RGISDatabase.open(at: dir.path("b.sqlite"))) == first)
    }

    @Test("GDAL reads every layer with its geometry type, EPSG:4326 and count")
    func gdalReads() async throws {
        guard let ogrinfo = which("ogrinfo") else {
            Issue.record("ogrinfo is not installed (apt-get install gdal-bin; tools/setup does it)")
            return
        }
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let db = try dir.database()
        try db.loadShared("berlin-prenzlauer/listings.geojson", into: .listings, map: "price=list_price")
        try db.loadShared("london/boroughs.geojson", into: .districts)

        let list = try await run(ogrinfo, ["-ro", "-q", db.path])
        #expect(list.status == 0, "\(list.stderr)")
        for expected in ["listings (Point)", "districts (Multi Polygon)", "parcels (Multi Polygon)", "buildings (Multi Polygon)", "demands (Multi Polygon)"] {
            #expect(list.stdout.contains(expected), "ogrinfo lists \(list.stdout)")
        }
        let listings = try await run(ogrinfo, ["-ro", "-so", db.path, "listings"])
        #expect(listings.stdout.contains("Feature Count: 2203"))
        #expect(listings.stdout.contains("Geometry: Point"))
        #expect(listings.stdout.contains(#"ID["EPSG",4326]"#))
        #expect(listings.stdout.contains("list_price: Real"))
        let districts = try await run(ogrinfo, ["-ro", "-so", db.path, "districts"])
        #expect(districts.stdout.contains("Feature Count: 33"))
    }
}
