import Foundation
import GRDB
import RGISCore
@testable import RGISQuery
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// The property archive on the real Prague-Bubeneč plots, registered on 2010-01-01.
@Suite("Archive")
struct ArchiveTests {
    /// 760 touches 2519 and 365; 2476 is about 400 m away from 760.
    struct Register {
        let directory: TemporaryDirectory
        let database: RGISDatabase
        var archive: ArchiveRegister { ArchiveRegister(database) }
        var engine: QueryEngine { QueryEngine(SpatiaLiteStore(database)) }

        init() throws {
            directory = try Fixtures.temporaryDirectory()
            database = try Templates.pragueRegister(in: directory)
        }

        func asOf(_ date: String, knownAt: String = "2100-01-01", bbox: BBox? = nil) async throws -> [String: StoredFeature] {
            var query = ArchiveQuery(valid: try DateTimeInterval(parsing: date),
                                     knownAt: try RecordTime(parsing: knownAt, field: "known-at", day: .endOfDay), limit: try Limit(10_000))
            query.bbox = bbox
            let page = try await engine.archive(query)
            #expect(page.next == nil)
            return Dictionary(uniqueKeysWithValues: page.features.map { ($0.properties["parcel_id"]!.identifierText!, $0) })
        }

        /// Every archive row, as text: a failed change must leave this exactly as it was.
        func snapshot() throws -> String {
            try database.read { db in
                try ["archive_events", "archive_parcels", "archive_buildings", "archive_rights", "archive_parties", "archive_lineage"].map { table in
                    try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid").map(\.description).joined(separator: "\n")
                }.joined(separator: "\n--\n")
            }
        }
    }

    static func record(_ date: String, _ recorded: String, doc: String? = nil) throws -> ArchiveRecord {
        ArchiveRecord(date: try ValidDate(parsing: date), recordedAt: try RecordTime(parsing: recorded, field: "recorded-at", day: .startOfDay),
                      document: doc)
    }

    static func rights(_ feature: StoredFeature?) -> [String] {
        guard case .array(let rights)? = feature?.properties["rights"] else { return [] }
        return rights.map { "\($0["type"]!.identifierText!) \($0["party"]!.identifierText!) \($0["share"]!.identifierText!)" }.sorted()
    }

    /// A north–south line through 760 (it spans 14.40617–14.40648 east–west) that cuts it in two.
    static let cutThrough760 = Geometry.lineString([Position(lon: 14.4062, lat: 50.1010), Position(lon: 14.4062, lat: 50.0999)])

    @Test("a split's pieces are valid, largest first, add up to the parcel and carry its rights; the parcel ends on the split's date")
    func split() async throws {
        let r = try Register()
        _ = try r.archive.transfer(Transfer(parcel: "760", to: "A", share: try Share(parsing: "1/2")), record: try Self.record("2011-01-01", "2011-01-02"))
        _ = try r.archive.transfer(Transfer(parcel: "760", to: "B", share: try Share(parsing: "1/2")), record: try Self.record("2011-01-01", "2011-01-02"))
        let before = try await r.asOf("2011-06-01")["760"]!
        let parentArea = before.properties["area_m2"]!.number!
        let change = try r.archive.split(parcel: "760", line: Self.cutThrough760, record: try Self.record("2012-01-01", "2012-01-03", doc: "GP-1"))
        #expect(change.opened == ["760-1", "760-2"])
        #expect(change.closed == ["760"])
        #expect(change.areas == change.areas.sorted(by: >))
        #expect(abs(change.areas.reduce(0, +) - parentArea) <= parentArea * 1e-4)

        let after = try await r.asOf("2012-01-01")
        #expect(after["760"] == nil)
        for id in change.opened {
            #expect(Self.rights(after[id]) == ["ownership A 1/2", "ownership B 1/2"])
            #expect(after[id]?.properties["valid_from"] == .string("2012-01-01"))
        }
        // The day before, the parcel is still there, with its rights, ending on the split's date.
        let dayBefore = try await r.asOf("2011-12-31")
        #expect(dayBefore["760"]?.properties["valid_to"] == .string("2012-01-01"))
        #expect(Self.rights(dayBefore["760"]) == ["ownership A 1/2", "ownership B 1/2"])
        #expect(dayBefore["760-1"] == nil)
        // As known before the split was recorded, 760 is still in force after its date.
        #expect(try await r.asOf("2012-06-01", knownAt: "2012-01-02")["760"]?.properties["valid_to"] == .null)

        let lineage = try await r.engine.lineage(parcel: "760-1")
        #expect(lineage.ancestors.map(\.parcel) == ["760"])
        #expect(lineage.events.first?.kind == "split")
        #expect(lineage.events.first?.document == "GP-1")
        #expect(lineage.json["ancestors"]?.arrayValue?.first?["to"] == .string("760-1"), "an ancestor names the parcel it became")
    }

    @Test("merging adjacent parcels keeps their area and rights and records both parents; --allow-disjoint merges parts apart")
    func merge() async throws {
        let r = try Register()
        let areas = try await r.asOf("2010-06-01")
        let change = try r.archive.merge(parcels: ["760", "365"], record: try Self.record("2011-01-01", "2011-01-02"))
        #expect(change.opened == ["760+365"])
        let sum = areas["760"]!.properties["area_m2"]!.number! + areas["365"]!.properties["area_m2"]!.number!
        #expect(abs(change.areas[0] - sum) <= sum * 1e-4)
        let ancestors = try await r.engine.lineage(parcel: "760+365").ancestors
        #expect(Set(ancestors.map(\.parcel)) == ["760", "365"])

        let disjoint = try r.archive.merge(parcels: ["2519", "2476"], newID: "M1", allowDisjoint: true, record: try Self.record("2011-02-01", "2011-02-02"))
        #expect(disjoint.opened == ["M1"])
        let merged = try await r.asOf("2011-02-01")["M1"]
        #expect(merged?.geometryGeoJSON.contains("MultiPolygon") == true)
    }

    @Test("a transfer moves a share and leaves the remainder; a correction recorded later changes the answer only from its record time")
    func transfersAndCorrection() async throws {
        let r = try Register()
        _ = try r.archive.transfer(Transfer(parcel: "1017", to: "A"), record: try Self.record("2011-01-01", "2011-01-02"))
        let wrong = try r.archive.transfer(Transfer(parcel: "1017", to: "X", from: "A", share: try Share(parsing: "1/3")),
                                           record: try Self.record("2012-01-01", "2012-01-02"))
        #expect(Self.rights(try await r.asOf("2012-06-01")["1017"]) == ["ownership A 2/3", "ownership X 1/3"])
        #expect(Self.rights(try await r.asOf("2011-06-01")["1017"]) == ["ownership A 1"])

        _ = try r.archive.correctTransfer(event: wrong.event, to: "Y", recordedAt: try RecordTime(parsing: "2013-05-01", field: "recorded-at", day: .startOfDay))
        #expect(Self.rights(try await r.asOf("2012-06-01")["1017"]) == ["ownership A 2/3", "ownership Y 1/3"])
        #expect(Self.rights(try await r.asOf("2012-06-01", knownAt: "2013-04-30")["1017"]) == ["ownership A 2/3", "ownership X 1/3"])
        let rights = try await r.engine.rights(parcel: "1017", at: ArchiveInstant(validAt: try ValidDate(parsing: "2012-06-01")))
        #expect(rights.rights.map { "\($0.type) \($0.party) \($0.share)" } == ["ownership A 2/3", "ownership Y 1/3"])
    }

    /// A change that must fail, what its message must say, and that it leaves the archive untouched.
    struct BadChange: CustomTestStringConvertible, Sendable {
        let name: String
        let code: RGISError.Code
        let mentions: [String]
        let change: @Sendable (ArchiveRegister) throws -> Void
        var testDescription: String { name }
    }

    static let badChanges: [BadChange] = [
        BadChange(name: "a split line that does not cross the parcel", code: .invalidValue, mentions: ["does not cross parcel 760"]) {
            let away = Geometry.lineString([Position(lon: 14.40, lat: 50.11), Position(lon: 14.401, lat: 50.111)])
            _ = try $0.split(parcel: "760", line: away, record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a split line that only enters the parcel", code: .invalidValue, mentions: ["does not cross"]) {
            let half = Geometry.lineString([Position(lon: 14.4062, lat: 50.1010), Position(lon: 14.4062, lat: 50.1005)])
            _ = try $0.split(parcel: "760", line: half, record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a merge of parcels that do not touch", code: .invalidValue, mentions: ["do not touch", "--allow-disjoint"]) {
            _ = try $0.merge(parcels: ["1017", "2476"], record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a merge of parcels with different owners", code: .conflict, mentions: ["different rights"]) {
            _ = try $0.merge(parcels: ["760", "365"], record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "an event dated before the parcel existed", code: .invalidValue, mentions: ["2009-06-01", "before parcel 1017 existed"]) {
            _ = try $0.transfer(Transfer(parcel: "1017", to: "C"), record: try record("2009-06-01", "2013-01-02"))
        },
        BadChange(name: "a split dated after the parcel ended", code: .conflict, mentions: ["2519 was retired on 2012-01-01"]) {
            let line = Geometry.lineString([Position(lon: 14.4058, lat: 50.1012), Position(lon: 14.4058, lat: 50.0990)])
            _ = try $0.split(parcel: "2519", line: line, record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a transfer on a retired parcel", code: .conflict, mentions: ["2519 was retired", "merge"]) {
            _ = try $0.transfer(Transfer(parcel: "2519", to: "C"), record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "shares of one right type above 1", code: .conflict, mentions: ["would sum to 7/6", "above 1", "--from"]) {
            _ = try $0.transfer(Transfer(parcel: "760", to: "B", share: try Share(parsing: "2/3")), record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "selling more than the seller holds", code: .conflict, mentions: ["holds 1/2", "less than the 1"]) {
            _ = try $0.transfer(Transfer(parcel: "760", to: "B", from: "A"), record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a transfer dated before the parcel's last change of rights", code: .invalidValue, mentions: ["before the last recorded change", "2012-01-01"]) {
            _ = try $0.transfer(Transfer(parcel: "760", to: "C", share: try Share(parsing: "1/4")), record: try record("2011-06-01", "2013-01-02"))
        },
        BadChange(name: "a record time before the register's last record", code: .invalidValue, mentions: ["cannot learn in the past"]) {
            _ = try $0.transfer(Transfer(parcel: "1017", to: "C"), record: try record("2013-01-01", "2011-01-01"))
        },
        BadChange(name: "a new id already in the archive", code: .conflict, mentions: ["1017 is already in the archive"]) {
            _ = try $0.split(parcel: "760", line: cutThrough760, newIDs: ["1017", "N2"], record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "new ids that do not match the pieces", code: .invalidValue, mentions: ["into 2 pieces but 3 new ids"]) {
            _ = try $0.split(parcel: "760", line: cutThrough760, newIDs: ["N1", "N2", "N3"], record: try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a correction of an event that is not a transfer", code: .invalidValue, mentions: ["not a transfer"]) {
            _ = try $0.correctTransfer(event: 1, to: "Z")
        },
    ]

    @Test("a bad change fails with a message naming the rule and leaves the archive as it was", arguments: badChanges)
    func badChange(_ bad: BadChange) async throws {
        let r = try Register()
        _ = try r.archive.transfer(Transfer(parcel: "760", to: "A", share: try Share(parsing: "1/2")), record: try Self.record("2012-01-01", "2012-01-02"))
        _ = try r.archive.merge(parcels: ["2519", "2498"], record: try Self.record("2012-01-01", "2012-01-02"))
        let before = try r.snapshot()
        do {
            try bad.change(r.archive)
            Issue.record("\(bad.name) was accepted")
        } catch let error as RGISError {
            #expect(error.code == bad.code, "\(error)")
            for mention in bad.mentions { #expect(error.description.contains(mention), "\(error) does not mention \(mention)") }
        }
        #expect(try r.snapshot() == before)
    }

    @Test("dates that are not dates are refused before anything is read")
    func notADate() {
        for text in ["2021-02-30", "yesterday", "2021-13-01", "21-01-01"] {
            expectError(.malformedInput) { _ = try ValidDate(parsing: text) }
            expectError(.malformedInput, at: "known-at") { _ = try RecordTime(parsing: text, field: "known-at", day: .endOfDay) }
        }
        expectError(.invalidValue) { _ = try Share(parsing: "3/2") }
        expectError(.invalidValue) { _ = try Share(parsing: "0") }
        expectError(.malformedInput) { _ = try Share(parsing: "a/b") }
    }

    @Test("archive rows cannot be rewritten or deleted, even by SQL")
    func appendOnly() async throws {
        let r = try Register()
        for sql in ["DELETE FROM archive_parcels WHERE parcel_id = '760'",
                    "UPDATE archive_parcels SET valid_from = '2000-01-01' WHERE parcel_id = '760'",
                    "UPDATE archive_parcels SET area_m2 = 1 WHERE parcel_id = '760'"] {
            #expect(throws: (any Error).self, "\(sql)") {
                try r.database.writeTransaction { db in try db.execute(sql: sql) }
            }
        }
    }

    @Test("as-of reads go through the time R*Tree, or with a box through the spatial R*Tree")
    func queryPlans() throws {
        let r = try Register()
        var query = ArchiveQuery(valid: try DateTimeInterval(parsing: "2011-01-01"), limit: try Limit(100))
        try r.database.read { db in
            for bbox in [nil, try BBox(west: 14.40, south: 50.09, east: 14.41, north: 50.11)] {
                query.bbox = bbox
                let sql = try SpatiaLiteStore.archiveSQL(db, query)
                let details = try Row.fetchAll(db, SQLRequest<Row>(literal: "EXPLAIN QUERY PLAN \(sql)")).map { $0["detail"] as String }
                #expect(!details.contains { $0.hasPrefix("SCAN v") }, "\(details)")
                if bbox == nil {
                    #expect(details.contains { $0.contains("archive_parcels_time VIRTUAL TABLE INDEX") }, "\(details)")
                } else {
                    #expect(details.contains { $0.contains("idx_archive_parcels_geom VIRTUAL TABLE INDEX") }, "\(details)")
                }
            }
        }
    }

    @Test("buildings: registered, added and demolished, read as of a date")
    func buildings() async throws {
        let r = try Register()
        _ = try r.archive.register(.buildings, fromFile: Fixtures.shared("prague-bubenec/buildings.geojson"), idField: "uID",
                                   record: try Self.record("2010-01-01", "2010-01-03"))
        let square = Geometry.polygon([[Position(lon: 14.4062, lat: 50.1004), Position(lon: 14.4063, lat: 50.1004), Position(lon: 14.4063, lat: 50.1005),
                                        Position(lon: 14.4062, lat: 50.1005), Position(lon: 14.4062, lat: 50.1004)]])
        _ = try r.archive.addBuilding(id: "new-1", parcel: "760", geometry: square, record: try Self.record("2012-01-01", "2012-01-02"))
        _ = try r.archive.demolish(building: "1", record: try Self.record("2012-06-01", "2012-06-02"))
        func ids(_ date: String) async throws -> Set<String> {
            let page = try await r.engine.archive(ArchiveQuery(layer: .buildings, valid: try DateTimeInterval(parsing: date), limit: try Limit(10_000)))
            return Set(page.features.compactMap { $0.properties["building_id"]?.identifierText })
        }
        let start = try await ids("2011-01-01"), later = try await ids("2013-01-01")
        #expect(start.contains("1") && !start.contains("new-1"))
        #expect(later.contains("new-1") && !later.contains("1"))
        #expect(later.count == start.count)
        #expect(throws: RGISError.self) { try r.archive.demolish(building: "1", record: try Self.record("2013-01-01", "2013-01-02")) }
    }

    @Test("the oracle (shapely, pyproj) replays a 36-event history on the Prague plots and agrees with asof and lineage")
    func oracle() async throws {
        let result = try await Fixtures.runOracle("archive_oracle.py", ["check"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("archive oracle: all answers agree"))
        #expect(result.stdout.contains("archive oracle asof: 15 (date, known-at) pairs"))
        #expect(result.stdout.contains("archive oracle lineage: 7 parcels"))
        print(result.stdout, terminator: "")
    }
}
