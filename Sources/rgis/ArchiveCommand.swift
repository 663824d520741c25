import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISFiles
import RGISQuery
import RGISStore

struct ArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "The property archive: parcels, buildings and rights in valid time and record time, with split/merge lineage.",
        discussion: """
            Every change is an event with a date (valid time: when it became true on the ground) and a record \
            time (when the register learned it; --recorded-at, default now). Nothing is overwritten: a change \
            closes versions and rights by superseding them, and a correction re-records them, so `asof` can \
            show any day as the register knew it at any time.

            Typical use:
              rgis archive register db.sqlite plots.geojson --id-field ID --date 2015-01-01
              rgis archive transfer db.sqlite --parcel 760 --to P1 --share 1 --date 2016-03-01
              rgis archive split db.sqlite --parcel 760 --line cut.geojson --date 2018-06-01 --doc V-2018-17
              rgis archive asof db.sqlite --date 2017-01-01 --known-at 2019-01-01 --bbox 14.39,50.09,14.41,50.11
              rgis archive lineage db.sqlite --parcel 760-1
            """,
        subcommands: [ArchiveRegisterCommand.self, ArchiveSplitCommand.self, ArchiveMergeCommand.self, ArchiveTransferCommand.self,
                      ArchiveCorrectCommand.self, ArchiveBuildCommand.self, ArchiveDemolishCommand.self,
                      ArchiveAsOfCommand.self, ArchiveRightsCommand.self, ArchiveLineageCommand.self]
    )
}

/// The date, record time and document every change carries.
struct ArchiveRecordOptions: ParsableArguments {
    @Option(help: "The day the change took effect on the ground (YYYY-MM-DD).") var date: String
    @Option(name: .customLong("recorded-at"), help: "When the register records it (YYYY-MM-DDThh:mm:ssZ or a date; default now). Never before the last record.")
    var recordedAt: String?
    @Option(help: "Reference of the document the change rests on (deed, survey, decision).") var doc: String?

    func record() throws -> ArchiveRecord {
        ArchiveRecord(date: try ValidDate(parsing: date), recordedAt: try recordedTime(recordedAt), document: doc)
    }
}

func recordedTime(_ text: String?) throws -> RecordTime {
    try text.map { try RecordTime(parsing: $0, field: "recorded-at", day: .startOfDay) } ?? .now
}

/// Reads one geometry from a GeoJSON file (a geometry, a Feature, or a FeatureCollection of one).
func readGeometry(_ path: String, accepting kinds: Set<Geometry.Kind>, role: String) throws -> Geometry {
    let data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: path)
    guard let data else { throw RGISError(.notFound, "no such file", at: path) }
    do {
        return try Geometry(singleGeoJSON: JSONValue.parse(Array(data)), accepting: kinds, role: role)
    } catch let error as RGISError {
        throw error.located(path == "-" ? "<stdin>" : path)
    }
}

/// Prints a change as one JSON line, and what happened in words on standard error.
func report(_ change: ArchiveChange, _ words: String) {
    Console.out(change.json.jsonText + "\n")
    Console.note("event \(change.event) (\(change.kind.rawValue)): \(words)")
}

struct ArchiveRegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a GeoJSON file of parcels (or buildings) as the register's starting state on a date.")

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "GeoJSON FeatureCollection of Polygon/MultiPolygon features.") var file: String
    @Option(help: "parcels or buildings.") var layer: String = "parcels"
    @Option(name: .customLong("id-field"), help: "Property holding each feature's id (default: the feature's id).") var idField: String?
    @Option(name: .customLong("parcel-field"), help: "For buildings: property holding the parcel id.") var parcelField: String?
    @OptionGroup var record: ArchiveRecordOptions

    func run() async throws {
        try await reportingErrors {
            let store = try await StoreLocation.open(target.database)
            let change = try await store.registerArchive(try ArchiveLayer(parsing: layer), fromFile: file, idField: idField, record: try record.record(),
                                                        parcelField: parcelField)
            Console.out(JSONValue.object(["event": .int(change.event), "registered": .int(Int64(change.opened.count))]).jsonText + "\n")
            Console.note("event \(change.event) (registration): \(change.opened.count) \(layer) valid from \(record.date)")
        }
    }
}

struct ArchiveSplitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split a parcel by a line; prints the new parcel ids (largest piece first).",
        discussion: "The pieces inherit the parcel's rights; their areas must add up to the parcel's within 0.01 %.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The parcel to split.") var parcel: String
    @Option(help: "GeoJSON file with the LineString (or MultiLineString) to cut along; - for standard input.") var line: String
    @Option(name: .customLong("new-ids"), help: "Ids for the pieces, comma-separated, largest first (default: PARCEL-1, PARCEL-2, …).") var newIDs: String?
    @OptionGroup var record: ArchiveRecordOptions

    func run() async throws {
        try await reportingErrors {
            let geometry = try readGeometry(line, accepting: [.lineString, .multiLineString], role: "the split line")
            let ids = newIDs.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            let change = try await StoreLocation.open(target.database)
                .apply(.split(parcel: parcel, line: geometry, newIDs: ids, try record.record()))
            report(change, "parcel \(parcel) split into \(change.opened.joined(separator: ", "))")
        }
    }
}

struct ArchiveMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge adjacent parcels into one; prints the new parcel id.",
        discussion: "The parcels must touch along a boundary and carry the same rights, which the merged parcel inherits.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The parcels, comma-separated (at least two).") var parcels: String
    @Option(name: .customLong("new-id"), help: "Id of the merged parcel (default: the ids joined by +).") var newID: String?
    @Flag(name: .customLong("allow-disjoint"), help: "Merge parcels that do not touch into a multi-part parcel.") var allowDisjoint = false
    @OptionGroup var record: ArchiveRecordOptions

    func run() async throws {
        try await reportingErrors {
            let ids = parcels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let change = try await StoreLocation.open(target.database)
                .apply(.merge(parcels: ids, newID: newID, allowDisjoint: allowDisjoint, try record.record()))
            report(change, "parcels \(ids.joined(separator: ", ")) merged into \(change.opened.joined())")
        }
    }
}

struct ArchiveTransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Record a transfer of a share of a right (a sale), or grant a new right without --from.",
        discussion: """
            With --from the share moves from that party, who keeps any remainder; without it the share is \
            granted (a first registration, a lease, a mortgage). Shares of one right type on a parcel never \
            add up to more than 1.
            """)

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The parcel.") var parcel: String
    @Option(help: "The party receiving the share (an id; created if new).") var to: String
    @Option(help: "The party giving up the share.") var from: String?
    @Option(help: "The share as a fraction: 1, 1/2, 2/3.") var share: String = "1"
    @Option(help: "Right type: \(RightType.allCases.map(\.rawValue).joined(separator: ", ")).") var type: String = "ownership"
    @Option(name: .customLong("party-kind"), help: "For a new party: person or organisation.") var partyKind: String = "person"
    @Option(name: .customLong("party-name"), help: "The receiving party's name, if the archive does not know it yet (personal data: shown only to regulators and admins).")
    var partyName: String?
    @OptionGroup var record: ArchiveRecordOptions

    func run() async throws {
        try await reportingErrors {
            guard ["person", "organisation"].contains(partyKind) else {
                throw RGISError(.invalidValue, "party-kind '\(partyKind)' is not person or organisation", at: "parameter party-kind")
            }
            var transfer = Transfer(parcel: parcel, to: to, from: from, share: try Share(parsing: share), type: try RightType(parsing: type))
            transfer.partyKind = partyKind
            transfer.partyName = partyName
            let change = try await StoreLocation.open(target.database).apply(.transfer(transfer, try record.record()))
            report(change, "\(share) of the \(type) of parcel \(parcel) to \(to)" + (from.map { " from \($0)" } ?? ""))
        }
    }
}

struct ArchiveCorrectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correct",
        abstract: "Correct a recorded mistake: the party of a transfer (--event, --to) or a boundary (--parcel/--building, --geometry).",
        discussion: """
            A correction keeps the valid time and adds a record: `asof --known-at` before it still shows \
            what the register said then.
            """)

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The transfer event to correct.") var event: Int64?
    @Option(help: "The party the transfer should have gone to.") var to: String?
    @Option(help: "The parcel whose current boundary is wrong.") var parcel: String?
    @Option(help: "The building whose current footprint is wrong.") var building: String?
    @Option(help: "GeoJSON file with the corrected Polygon.") var geometry: String?
    @Option(name: .customLong("recorded-at"), help: "When the register records the correction (default now).") var recordedAt: String?
    @Option(help: "Reference of the document the correction rests on.") var doc: String?

    func validate() throws {
        let byParty = event != nil || to != nil
        let byGeometry = parcel != nil || building != nil || geometry != nil
        guard byParty != byGeometry else { throw ValidationError("give either --event and --to, or --parcel (or --building) and --geometry") }
        if byParty, event == nil || to == nil { throw ValidationError("a transfer correction needs both --event and --to") }
        if byGeometry, geometry == nil || (parcel == nil) == (building == nil) {
            throw ValidationError("a boundary correction needs --geometry and one of --parcel or --building")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let store = try await StoreLocation.open(target.database)
            let recorded = try recordedTime(recordedAt)
            if let event, let to {
                let change = try await store.apply(.correctTransfer(event: event, to: to, recordedAt: recorded, document: doc))
                report(change, "transfer event \(event) re-recorded to \(to)")
            } else if let geometry {
                let shape = try readGeometry(geometry, accepting: [.polygon, .multiPolygon], role: "the corrected geometry")
                let layer: ArchiveLayer = parcel != nil ? .parcels : .buildings
                let id = parcel ?? building ?? ""
                let change = try await store.apply(.correctGeometry(layer, id: id, geometry: shape, recordedAt: recorded, document: doc))
                report(change, "\(layer.singular) \(id) boundary re-recorded")
            }
        }
    }
}

struct ArchiveBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "build", abstract: "Record a new building.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The new building's id.") var building: String
    @Option(help: "GeoJSON file with its footprint (Polygon).") var geometry: String
    @Option(help: "The parcel it stands on.") var parcel: String?
    @OptionGroup var record: ArchiveRecordOptions

    func run() async throws {
        try await reportingErrors {
            let shape = try readGeometry(geometry, accepting: [.polygon, .multiPolygon], role: "the footprint")
            let change = try await StoreLocation.open(target.database)
                .apply(.addBuilding(id: building, parcel: parcel, geometry: shape, try record.record()))
            report(change, "building \(building) recorded")
        }
    }
}

struct ArchiveDemolishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demolish", abstract: "Record a building's demolition.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The building.") var building: String
    @OptionGroup var record: ArchiveRecordOptions

    func run() async throws {
        try await reportingErrors {
            let change = try await StoreLocation.open(target.database).apply(.demolish(building: building, try record.record()))
            report(change, "building \(building) demolished")
        }
    }
}

/// The two times of a read: valid on --date, as known at --known-at.
struct ArchiveInstantOptions: ParsableArguments {
    @Option(help: "The day to look at (YYYY-MM-DD).") var date: String
    @Option(name: .customLong("known-at"), help: "As the register knew it at this time (a date means the end of that day; default now).")
    var knownAt: String?

    func instant() throws -> ArchiveInstant {
        ArchiveInstant(validAt: try ValidDate(parsing: date),
                       knownAt: try knownAt.map { try RecordTime(parsing: $0, field: "known-at", day: .endOfDay) } ?? .now)
    }
}

struct ArchiveAsOfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asof",
        abstract: "The parcels (or buildings) valid on a date as the register knew them at a time, as GeoJSON with their rights.")

    @OptionGroup var target: DatabaseArgument
    @OptionGroup var when: ArchiveInstantOptions
    @Option(help: "parcels or buildings.") var layer: String = "parcels"
    @Option(parsing: .unconditional, help: "Only within this box: minLon,minLat,maxLon,maxLat.") var bbox: String?
    @Option(help: "Only intersecting the Polygon in this GeoJSON file.") var geometry: String?
    @Option(help: "Most features to return (1–10000).") var limit: Int = 10_000
    @Option(help: "Continue after the page that returned this cursor.") var cursor: String?
    @Option(help: "Output: geojson, or table for people.") var format: PageOptions.OutputFormat = .geojson

    func run() async throws {
        try await reportingErrors {
            let instant = try when.instant()
            var query = ArchiveQuery(layer: try ArchiveLayer(parsing: layer), valid: try DateTimeInterval(parsing: instant.validAt.text),
                                     knownAt: instant.knownAt, limit: try Limit(limit))
            query.bbox = try bbox.map { text in
                do { return try BBox(parsing: text) } catch let error as RGISError { throw error.located("parameter bbox") }
            }
            query.area = try geometry.map { try SearchArea(readGeometry($0, accepting: [.polygon, .multiPolygon], role: "the area")) }
            query.afterFid = try cursor.map { try PageCursor(parsing: $0).fid }
            PageOptions.print(try await engine(target).archive(query), as: format)
        }
    }
}

struct ArchiveRightsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rights", abstract: "The rights on a parcel on a date, as JSON.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The parcel.") var parcel: String
    @OptionGroup var when: ArchiveInstantOptions

    func run() async throws {
        try await reportingErrors {
            let rights = try await engine(target).rights(parcel: parcel, at: try when.instant())
            Console.out(rights.json.jsonText + "\n")
        }
    }
}

struct ArchiveLineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "A parcel's ancestors and descendants through splits and merges, with the events, as JSON.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The parcel.") var parcel: String
    @Flag(help: "Instead, every recorded version of the parcel and its relatives as GeoJSON.") var geojson = false

    func run() async throws {
        try await reportingErrors {
            let engine = try await engine(target)
            Console.out(geojson ? try await engine.lineageVersions(parcel: parcel).geoJSON : try await engine.lineage(parcel: parcel).json.jsonText + "\n")
        }
    }
}
