import Foundation
import Testing
import RGISBackends
import RGISCore
import RGISStore
import RGISTesting

/// The 407 real Prague-Bubeneč plots registered as parcels valid from 2010-01-01, recorded
/// 2010-01-02, once per backend and kept as a backup, which each test restores to a store of its own.
actor PragueRegister {
    static let shared = PragueRegister()
    private var made: [String: Task<(backup: String, registration: Int64), any Error>] = [:]
    private var directories: [TemporaryDirectory] = []

    func backup(_ backend: Backend) async throws -> (backup: String, registration: Int64) {
        if let made = made[backend.name] { return try await made.value }
        let directory = try Fixtures.temporaryDirectory()
        directories.append(directory)
        let task = Task<(backup: String, registration: Int64), any Error> {
            let store = try await backend.emptyStore(in: directory, "register-template")
            let record = ArchiveRecord(date: try ValidDate(parsing: "2010-01-01"),
                                       recordedAt: try RecordTime(parsing: "2010-01-02", field: "recorded_at", day: .startOfDay))
            let registration = try await store.registerArchive(.parcels, fromFile: Fixtures.shared("prague-bubenec/plots.geojson"), idField: "ID",
                                                               record: record, parcelField: nil)
            let path = directory.path("prague-register.backup")
            _ = try await store.backup(to: path, replacing: false)
            return (path, registration.event)
        }
        made[backend.name] = task
        return try await task.value
    }
}

extension Backend {
    /// A new store holding the registered Prague plots, and the registration's event.
    func pragueRegister(in directory: TemporaryDirectory) async throws -> (store: any Store, registration: Int64) {
        let (backup, registration) = try await PragueRegister.shared.backup(self)
        let target = try location(directory, "archive")
        try await StoreLocation.restore(from: backup, to: target, replacing: false)
        return (try await StoreLocation.open(target), registration)
    }
}

/// The property archive (``ArchiveStore``) on the real Prague-Bubeneč plots, registered on
/// 2010-01-01: changes applied whole or refused with the archive unchanged, read back as of any day
/// as known at any time, on every backend.
@Suite("Conformance: the property archive in valid time and record time")
struct ArchiveConformance {
    // 760 touches 2519 and 365; 2476 is about 400 m away from 760.

    static func record(_ date: String, _ recorded: String, doc: String? = nil) throws -> ArchiveRecord {
        ArchiveRecord(date: try ValidDate(parsing: date), recordedAt: try RecordTime(parsing: recorded, field: "recorded-at", day: .startOfDay),
                      document: doc)
    }

    /// The parcels valid on `date` as known at `knownAt`, by parcel id.
    static func asOf(_ store: any Store, _ date: String, knownAt: String = "2100-01-01") async throws -> [String: StoredFeature] {
        let query = ArchiveQuery(valid: try DateTimeInterval(parsing: date),
                                 knownAt: try RecordTime(parsing: knownAt, field: "known-at", day: .endOfDay), limit: try Limit(10_000))
        let page = try await store.archive(query)
        #expect(page.next == nil)
        return Dictionary(uniqueKeysWithValues: page.features.map { ($0.properties["parcel_id"]!.identifierText!, $0) })
    }

    static func rights(_ feature: StoredFeature?) -> [String] {
        guard case .array(let rights)? = feature?.properties["rights"] else { return [] }
        return rights.map { "\($0["type"]!.identifierText!) \($0["party"]!.identifierText!) \($0["share"]!.identifierText!)" }.sorted()
    }

    /// A north–south line through 760 (it spans 14.40617–14.40648 east–west) that cuts it in two.
    static let cutThrough760 = Geometry.lineString([Position(lon: 14.4062, lat: 50.1010), Position(lon: 14.4062, lat: 50.0999)])

    @Test("a split's pieces are valid, largest first, add up to the parcel and carry its rights; the parcel ends on the split's date",
          arguments: Backends.all)
    func split(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, _) = try await backend.pragueRegister(in: dir)
        _ = try await store.apply(.transfer(Transfer(parcel: "760", to: "A", share: try Share(parsing: "1/2")), try Self.record("2011-01-01", "2011-01-02")))
        _ = try await store.apply(.transfer(Transfer(parcel: "760", to: "B", share: try Share(parsing: "1/2")), try Self.record("2011-01-01", "2011-01-02")))
        let before = try await Self.asOf(store, "2011-06-01")["760"]!
        let parentArea = before.properties["area_m2"]!.number!
        let change = try await store.apply(.split(parcel: "760", line: Self.cutThrough760, newIDs: nil, try Self.record("2012-01-01", "2012-01-03", doc: "GP-1")))
        #expect(change.opened == ["760-1", "760-2"])
        #expect(change.closed == ["760"])
        #expect(change.areas == change.areas.sorted(by: >))
        #expect(abs(change.areas.reduce(0, +) - parentArea) <= parentArea * 1e-4)

        let after = try await Self.asOf(store, "2012-01-01")
        #expect(after["760"] == nil)
        for id in change.opened {
            #expect(Self.rights(after[id]) == ["ownership A 1/2", "ownership B 1/2"])
            #expect(after[id]?.properties["valid_from"] == .string("2012-01-01"))
        }
        // The day before, the parcel is still there, with its rights, ending on the split's date.
        let dayBefore = try await Self.asOf(store, "2011-12-31")
        #expect(dayBefore["760"]?.properties["valid_to"] == .string("2012-01-01"))
        #expect(Self.rights(dayBefore["760"]) == ["ownership A 1/2", "ownership B 1/2"])
        #expect(dayBefore["760-1"] == nil)
        // As known before the split was recorded, 760 is still in force after its date.
        #expect(try await Self.asOf(store, "2012-06-01", knownAt: "2012-01-02")["760"]?.properties["valid_to"] == .null)

        let lineage = try await store.lineage(parcel: "760-1")
        #expect(lineage.ancestors.map(\.parcel) == ["760"])
        #expect(lineage.events.first?.kind == "split")
        #expect(lineage.events.first?.document == "GP-1")
        #expect(lineage.json["ancestors"]?.arrayValue?.first?["to"] == .string("760-1"), "an ancestor names the parcel it became")
    }

    @Test("merging adjacent parcels keeps their area and rights and records both parents; --allow-disjoint merges parts apart",
          arguments: Backends.all)
    func merge(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, _) = try await backend.pragueRegister(in: dir)
        let areas = try await Self.asOf(store, "2010-06-01")
        let change = try await store.apply(.merge(parcels: ["760", "365"], newID: nil, allowDisjoint: false, try Self.record("2011-01-01", "2011-01-02")))
        #expect(change.opened == ["760+365"])
        let sum = areas["760"]!.properties["area_m2"]!.number! + areas["365"]!.properties["area_m2"]!.number!
        #expect(abs(change.areas[0] - sum) <= sum * 1e-4)
        let ancestors = try await store.lineage(parcel: "760+365").ancestors
        #expect(Set(ancestors.map(\.parcel)) == ["760", "365"])

        let disjoint = try await store.apply(.merge(parcels: ["2519", "2476"], newID: "M1", allowDisjoint: true, try Self.record("2011-02-01", "2011-02-02")))
        #expect(disjoint.opened == ["M1"])
        let merged = try await Self.asOf(store, "2011-02-01")["M1"]
        #expect(merged?.geometryGeoJSON.contains("MultiPolygon") == true)
    }

    @Test("a transfer moves a share and leaves the remainder; a correction recorded later changes the answer only from its record time",
          arguments: Backends.all)
    func transfersAndCorrection(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, _) = try await backend.pragueRegister(in: dir)
        _ = try await store.apply(.transfer(Transfer(parcel: "1017", to: "A"), try Self.record("2011-01-01", "2011-01-02")))
        let wrong = try await store.apply(.transfer(Transfer(parcel: "1017", to: "X", from: "A", share: try Share(parsing: "1/3")),
                                                    try Self.record("2012-01-01", "2012-01-02")))
        #expect(Self.rights(try await Self.asOf(store, "2012-06-01")["1017"]) == ["ownership A 2/3", "ownership X 1/3"])
        #expect(Self.rights(try await Self.asOf(store, "2011-06-01")["1017"]) == ["ownership A 1"])

        _ = try await store.apply(.correctTransfer(event: wrong.event, to: "Y",
                                                   recordedAt: try RecordTime(parsing: "2013-05-01", field: "recorded-at", day: .startOfDay), document: nil))
        #expect(Self.rights(try await Self.asOf(store, "2012-06-01")["1017"]) == ["ownership A 2/3", "ownership Y 1/3"])
        #expect(Self.rights(try await Self.asOf(store, "2012-06-01", knownAt: "2013-04-30")["1017"]) == ["ownership A 2/3", "ownership X 1/3"])
        let rights = try await store.rights(parcel: "1017", at: ArchiveInstant(validAt: try ValidDate(parsing: "2012-06-01")))
        #expect(rights.rights.map { "\($0.type) \($0.party) \($0.share)" } == ["ownership A 2/3", "ownership Y 1/3"])
    }

    /// A change that must fail, what its message must say, and that it leaves the archive untouched.
    struct BadChange: CustomTestStringConvertible, Sendable {
        let name: String
        let code: RGISError.Code
        let mentions: [String]
        /// The change, given the registration's event.
        let change: @Sendable (_ registration: Int64) throws -> ArchiveChangeRequest
        var testDescription: String { name }
    }

    static let badChanges: [BadChange] = [
        BadChange(name: "a split line that does not cross the parcel", code: .invalidValue, mentions: ["does not cross parcel 760"]) { _ in
            let away = Geometry.lineString([Position(lon: 14.40, lat: 50.11), Position(lon: 14.401, lat: 50.111)])
            return .split(parcel: "760", line: away, newIDs: nil, try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a split line that only enters the parcel", code: .invalidValue, mentions: ["does not cross"]) { _ in
            let half = Geometry.lineString([Position(lon: 14.4062, lat: 50.1010), Position(lon: 14.4062, lat: 50.1005)])
            return .split(parcel: "760", line: half, newIDs: nil, try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a merge of parcels that do not touch", code: .invalidValue, mentions: ["do not touch", "--allow-disjoint"]) { _ in
            .merge(parcels: ["1017", "2476"], newID: nil, allowDisjoint: false, try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a merge of parcels with different owners", code: .conflict, mentions: ["different rights"]) { _ in
            .merge(parcels: ["760", "365"], newID: nil, allowDisjoint: false, try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "an event dated before the parcel existed", code: .invalidValue, mentions: ["2009-06-01", "before parcel 1017 existed"]) { _ in
            .transfer(Transfer(parcel: "1017", to: "C"), try record("2009-06-01", "2013-01-02"))
        },
        BadChange(name: "a split dated after the parcel ended", code: .conflict, mentions: ["2519 was retired on 2012-01-01"]) { _ in
            let line = Geometry.lineString([Position(lon: 14.4058, lat: 50.1012), Position(lon: 14.4058, lat: 50.0990)])
            return .split(parcel: "2519", line: line, newIDs: nil, try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a transfer on a retired parcel", code: .conflict, mentions: ["2519 was retired", "merge"]) { _ in
            .transfer(Transfer(parcel: "2519", to: "C"), try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "shares of one right type above 1", code: .conflict, mentions: ["would sum to 7/6", "above 1", "--from"]) { _ in
            .transfer(Transfer(parcel: "760", to: "B", share: try Share(parsing: "2/3")), try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "selling more than the seller holds", code: .conflict, mentions: ["holds 1/2", "less than the 1"]) { _ in
            .transfer(Transfer(parcel: "760", to: "B", from: "A"), try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a transfer dated before the parcel's last change of rights", code: .invalidValue, mentions: ["before the last recorded change", "2012-01-01"]) { _ in
            .transfer(Transfer(parcel: "760", to: "C", share: try Share(parsing: "1/4")), try record("2011-06-01", "2013-01-02"))
        },
        BadChange(name: "a record time before the register's last record", code: .invalidValue, mentions: ["cannot learn in the past"]) { _ in
            .transfer(Transfer(parcel: "1017", to: "C"), try record("2013-01-01", "2011-01-01"))
        },
        BadChange(name: "a new id already in the archive", code: .conflict, mentions: ["1017 is already in the archive"]) { _ in
            .split(parcel: "760", line: cutThrough760, newIDs: ["1017", "N2"], try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "new ids that do not match the pieces", code: .invalidValue, mentions: ["into 2 pieces but 3 new ids"]) { _ in
            .split(parcel: "760", line: cutThrough760, newIDs: ["N1", "N2", "N3"], try record("2013-01-01", "2013-01-02"))
        },
        BadChange(name: "a correction of an event that is not a transfer", code: .invalidValue, mentions: ["not a transfer"]) { registration in
            .correctTransfer(event: registration, to: "Z", recordedAt: .now, document: nil)
        },
    ]

    /// The parcels the bad changes name, and the one the setup merges them into.
    static let named = ["760", "365", "1017", "2476", "2498", "2519", "2519+2498"]

    /// Everything the archive answers, as text: every version of parcels and buildings as known far
    /// ahead (parcels with their rights of any time), and the lineage, with every recorded version, of
    /// each parcel the bad changes name. A refused change must leave it exactly as it was.
    static func snapshot(_ store: any Store) async throws -> String {
        var out: [String] = []
        let farAhead = try RecordTime(parsing: "2100-01-01", field: "known-at", day: .endOfDay)
        for layer in ArchiveLayer.allCases {
            var query = ArchiveQuery(layer: layer, valid: nil, knownAt: farAhead, limit: try Limit(Limit.maximum))
            while true {
                let page = try await store.archive(query)
                for feature in page.features {
                    var text = "\(layer.rawValue) \(feature.fid) "
                    feature.write(to: &text)
                    out.append(text)
                }
                guard let next = page.next else { break }
                query.afterFid = next.fid
            }
        }
        for parcel in Self.named {
            do {
                let lineage = try await store.lineage(parcel: parcel)
                out.append("lineage \(parcel) \(lineage.json.jsonText)")
                for feature in try await store.lineageVersions(parcel: parcel).features {
                    var text = "version of \(parcel) \(feature.fid) "
                    feature.write(to: &text)
                    out.append(text)
                }
            } catch let error as RGISError {
                out.append("lineage \(parcel): \(error.code)")
            }
        }
        return out.joined(separator: "\n")
    }

    @Test("a bad change fails with a message naming the rule and leaves the archive as it was", arguments: Backends.all, badChanges)
    func badChange(backend: Backend, _ bad: BadChange) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, registration) = try await backend.pragueRegister(in: dir)
        _ = try await store.apply(.transfer(Transfer(parcel: "760", to: "A", share: try Share(parsing: "1/2")), try Self.record("2012-01-01", "2012-01-02")))
        _ = try await store.apply(.merge(parcels: ["2519", "2498"], newID: nil, allowDisjoint: false, try Self.record("2012-01-01", "2012-01-02")))
        let before = try await Self.snapshot(store)
        do {
            _ = try await store.apply(try bad.change(registration))
            Issue.record("\(bad.name) was accepted")
        } catch let error as RGISError {
            #expect(error.code == bad.code, "\(error)")
            for mention in bad.mentions { #expect(error.description.contains(mention), "\(error) does not mention \(mention)") }
        }
        #expect(try await Self.snapshot(store) == before)
    }

    @Test("buildings: registered, added and demolished, read as of a date", arguments: Backends.all)
    func buildings(backend: Backend) async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (store, _) = try await backend.pragueRegister(in: dir)
        _ = try await store.registerArchive(.buildings, fromFile: Fixtures.shared("prague-bubenec/buildings.geojson"), idField: "uID",
                                            record: try Self.record("2010-01-01", "2010-01-03"), parcelField: nil)
        let square = Geometry.polygon([[Position(lon: 14.4062, lat: 50.1004), Position(lon: 14.4063, lat: 50.1004), Position(lon: 14.4063, lat: 50.1005),
                                        Position(lon: 14.4062, lat: 50.1005), Position(lon: 14.4062, lat: 50.1004)]])
        _ = try await store.apply(.addBuilding(id: "new-1", parcel: "760", geometry: square, try Self.record("2012-01-01", "2012-01-02")))
        _ = try await store.apply(.demolish(building: "1", try Self.record("2012-06-01", "2012-06-02")))
        func ids(_ date: String) async throws -> Set<String> {
            let page = try await store.archive(ArchiveQuery(layer: .buildings, valid: try DateTimeInterval(parsing: date), limit: try Limit(10_000)))
            return Set(page.features.compactMap { $0.properties["building_id"]?.identifierText })
        }
        let start = try await ids("2011-01-01"), later = try await ids("2013-01-01")
        #expect(start.contains("1") && !start.contains("new-1"))
        #expect(later.contains("new-1") && !later.contains("1"))
        #expect(later.count == start.count)
        await #expect(throws: RGISError.self) { try await store.apply(.demolish(building: "1", try Self.record("2013-01-01", "2013-01-02"))) }
    }
}
