import Foundation
import RGISCore

/// The land register's rules, over the steps a backend provides inside one transaction per change:
/// every change records its event first, then closes versions and rights (superseded, with copies
/// that end on the event's date) and opens new ones. The register learns in date order per parcel,
/// never in the past, never reuses an id, and keeps a parcel's area through splits and merges.
public struct Register<Steps: RegisterSteps> {
    public private(set) var steps: Steps
    // The change under way: set by its first step, `begin`.
    private var record: ArchiveRecord!
    private var change: ArchiveChange!

    /// Split pieces and merges must keep the area: the pieces' sum within this fraction of the parent's.
    public static var areaTolerance: Double { 1e-4 }

    public init(_ steps: Steps) {
        self.steps = steps
    }

    /// Applies one requested change: the one entry point both the CLI and the server use.
    public mutating func apply(_ request: ArchiveChangeRequest) throws -> ArchiveChange {
        try request.checkNewIDs()
        return switch request {
        case .transfer(let transfer, let record): try self.transfer(transfer, record: record)
        case .split(let parcel, let line, let newIDs, let record): try split(parcel: parcel, line: line, newIDs: newIDs, record: record)
        case .merge(let parcels, let newID, let allowDisjoint, let record):
            try merge(parcels: parcels, newID: newID, allowDisjoint: allowDisjoint, record: record)
        case .correctTransfer(let event, let to, let recordedAt, let document):
            try correctTransfer(event: event, to: to, recordedAt: recordedAt, document: document)
        case .correctGeometry(let layer, let id, let geometry, let recordedAt, let document):
            try correctGeometry(layer, id: id, geometry: geometry, recordedAt: recordedAt, document: document)
        case .addBuilding(let id, let parcel, let geometry, let record): try addBuilding(id: id, parcel: parcel, geometry: geometry, record: record)
        case .demolish(let building, let record): try demolish(building: building, record: record)
        }
    }

    // MARK: Registration

    /// Registers what `input` reads as parcels (or buildings) valid from the record's date. Does not
    /// stop the input.
    public mutating func register(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) throws -> ArchiveChange {
        try begin(.registration, record)
        while let feature = try input.next() {
            do {
                try open(layer, id: feature.id, geometry: .value(feature.geometry), properties: feature.properties, parcel: feature.parcel)
            } catch let error as RGISError {
                throw error.located(feature.location)
            }
        }
        guard !change.opened.isEmpty else { throw RGISError(.invalidValue, "holds no features to register") }
        return change
    }

    // MARK: Parcels

    /// Splits a parcel by a line (LineString or MultiLineString) into the pieces the geometry engine
    /// cuts, numbered by decreasing area. The parent ends on the record's date; each piece inherits its
    /// rights. New ids are `newIDs`, or `<parent>-1`, `<parent>-2`, … (skipping ids in use).
    public mutating func split(parcel: String, line: Geometry, newIDs: [String]? = nil, record: ArchiveRecord) throws -> ArchiveChange {
        guard line.kind == .lineString || line.kind == .multiLineString else {
            throw RGISError(.invalidValue, "the split line must be a LineString or MultiLineString, found \(line.typeName)", at: "line")
        }
        try line.validate()
        try begin(.split, record)
        let version = try currentVersion(.parcels, id: parcel)
        try requireAfterStart(version, id: parcel, layer: .parcels)
        try requireAfterRightChanges(parcel: parcel, type: nil)
        let cut = try steps.split(version, by: line)
        guard let pieceCount = cut.pieceCount, pieceCount > cut.parentParts else {
            throw RGISError(.invalidValue, "the split line does not cross parcel \(parcel): it must cut it into at least two pieces", at: "line")
        }
        guard var pieces = cut.pieces else {
            throw RGISError(.invalidValue, "splitting parcel \(parcel) gave an invalid piece; check the line", at: "line")
        }
        try Self.checkAreaKept(parts: pieces.map(\.areaSquareMetres), whole: cut.parentArea, what: "the pieces of parcel \(parcel)")
        pieces.sort { $0.areaSquareMetres > $1.areaSquareMetres }
        if let newIDs, newIDs.count != pieces.count {
            throw RGISError(.invalidValue, "the line cuts parcel \(parcel) into \(pieces.count) pieces but \(newIDs.count) new ids were given", at: "parameter new-ids")
        }
        let ids = try newIDs ?? freshIDs(.parcels, stem: parcel, count: pieces.count)
        let rights = try steps.currentRights(parcel: parcel)
        try close(.parcels, version: version, id: parcel)
        for right in rights { try steps.closeRight(right) }
        for (id, piece) in zip(ids, pieces) {
            try open(.parcels, id: id, geometry: piece.geometry, properties: nil, parcel: nil)
            for right in rights { try steps.insertRight(parcel: id, party: right.party, type: right.type, share: right.share, validFrom: nil) }
            try steps.link(from: parcel, to: id)
        }
        return change
    }

    /// Merges parcels into one. They must be current, touch (unless `allowDisjoint`), not overlap, and
    /// carry the same rights (same parties, types and shares), which the merged parcel inherits.
    public mutating func merge(parcels: [String], newID: String? = nil, allowDisjoint: Bool = false, record: ArchiveRecord) throws -> ArchiveChange {
        var seen = Set<String>()
        let unique = parcels.filter { seen.insert($0).inserted }
        guard unique.count >= 2 else {
            throw RGISError(.invalidValue, "a merge needs at least two different parcels", at: "parameter parcels")
        }
        try begin(.merge, record)
        var versions: [RegisterVersion] = []
        var rightsOfFirst: Set<RightHolding>?
        for parcel in unique {
            let version = try currentVersion(.parcels, id: parcel)
            try requireAfterStart(version, id: parcel, layer: .parcels)
            try requireAfterRightChanges(parcel: parcel, type: nil)
            let rights = Set(try steps.currentRights(parcel: parcel).map(\.holding))
            if let rightsOfFirst, rights != rightsOfFirst {
                throw RGISError(.conflict, """
                    parcels \(unique[0]) and \(parcel) carry different rights; transfer them to the same parties and shares before merging
                    """, at: "parameter parcels")
            }
            rightsOfFirst = rights
            versions.append(version)
        }
        guard let union = try steps.union(versions) else {
            throw RGISError(.invalidValue, "the union of parcels \(unique.joined(separator: ", ")) is not a valid polygon", at: "parameter parcels")
        }
        if !allowDisjoint, union.parts != 1 {
            throw RGISError(.invalidValue, """
                parcels \(unique.joined(separator: ", ")) do not touch along a boundary (their union has \(union.parts) parts); \
                pass --allow-disjoint to merge them anyway
                """, at: "parameter parcels")
        }
        try Self.checkAreaKept(parts: [union.partsAreaSquareMetres], whole: union.areaSquareMetres, what: "the merged parcels (they overlap)")
        let rights = try steps.currentRights(parcel: unique[0])
        let id = newID ?? unique.joined(separator: "+")
        for (parcel, version) in zip(unique, versions) {
            try close(.parcels, version: version, id: parcel)
            for right in try steps.currentRights(parcel: parcel) { try steps.closeRight(right) }
        }
        try open(.parcels, id: id, geometry: union.geometry, properties: nil, parcel: nil)
        for right in rights { try steps.insertRight(parcel: id, party: right.party, type: right.type, share: right.share, validFrom: nil) }
        for parcel in unique { try steps.link(from: parcel, to: id) }
        return change
    }

    // MARK: Rights

    /// Records a transfer: moves `share` from `from` to `to`, or grants it when there is no `from`. The
    /// shares of one right type on a parcel never add up to more than 1.
    public mutating func transfer(_ transfer: Transfer, record: ArchiveRecord) throws -> ArchiveChange {
        guard transfer.from != transfer.to else {
            throw RGISError(.invalidValue, "party \(transfer.to) cannot transfer to itself", at: "parameter to")
        }
        try begin(.transfer, record, detail: [
            "parcel": .string(transfer.parcel), "to": .string(transfer.to), "from": transfer.from.map(JSONValue.string) ?? .null,
            "share": .string(transfer.share.description), "type": .string(transfer.type.rawValue)])
        let version = try currentVersion(.parcels, id: transfer.parcel)
        try requireNotBeforeStart(version, id: transfer.parcel)
        try requireAfterRightChanges(parcel: transfer.parcel, type: transfer.type)
        let held = try steps.currentRights(parcel: transfer.parcel).filter { $0.type == transfer.type }
        if let from = transfer.from {
            guard let seller = held.first(where: { $0.party == from }) else {
                throw RGISError(.conflict, "party \(from) holds no \(transfer.type.rawValue) on parcel \(transfer.parcel) on \(record.date)", at: "parameter from")
            }
            guard let remainder = try seller.share - transfer.share else {
                throw RGISError(.conflict, """
                    party \(from) holds \(seller.share) of the \(transfer.type.rawValue) of parcel \(transfer.parcel), less than the \(transfer.share) transferred
                    """, at: "parameter share")
            }
            try steps.closeRight(seller)
            if remainder > .zero { try steps.insertRight(parcel: transfer.parcel, party: from, type: transfer.type, share: remainder, validFrom: nil) }
        } else {
            let total = try held.reduce(Share.zero) { try $0 + $1.share } + transfer.share
            guard total <= .whole else {
                throw RGISError(.conflict, """
                    shares of \(transfer.type.rawValue) on parcel \(transfer.parcel) would sum to \(total), above 1; \
                    name the party giving up the share with --from
                    """, at: "parameter share")
            }
        }
        try ensureParty(transfer.to, kind: transfer.partyKind, name: transfer.partyName)
        var share = transfer.share
        if let buyer = held.first(where: { $0.party == transfer.to }) {
            try steps.closeRight(buyer)
            share = try share + buyer.share
        }
        try steps.insertRight(parcel: transfer.parcel, party: transfer.to, type: transfer.type, share: share, validFrom: nil)
        return change
    }

    // MARK: Corrections

    /// Corrects a recorded transfer whose receiving party was wrong: the rights it gave are superseded
    /// (still visible as known before this record time) and re-recorded for `party`, with the same valid time.
    public mutating func correctTransfer(event: Int64, to party: String, recordedAt: RecordTime = .now, document: String? = nil) throws -> ArchiveChange {
        guard let original = try steps.event(event) else {
            throw RGISError(.notFound, "no archive event \(event)", at: "parameter event")
        }
        guard original.kind == ArchiveEventKind.transfer.rawValue,
              case .string(let wrongParty)? = original.detail?["to"], case .string(let parcel)? = original.detail?["parcel"] else {
            throw RGISError(.invalidValue, "event \(event) is a \(original.kind), not a transfer; only transfers are corrected by party", at: "parameter event")
        }
        guard wrongParty != party else {
            throw RGISError(.invalidValue, "event \(event) already gave the right to \(party)", at: "parameter to")
        }
        try begin(.correction, ArchiveRecord(date: try ValidDate(parsing: original.validDate), recordedAt: recordedAt, document: document),
                  corrects: event, detail: ["parcel": .string(parcel), "wrong": .string(wrongParty), "right": .string(party)])
        let given = try steps.rightsGiven(event: event, party: wrongParty)
        guard !given.isEmpty else { throw RGISError(.conflict, "event \(event) recorded no right for \(wrongParty) that can be corrected") }
        if try steps.heldBefore(event: event, party: wrongParty) {
            throw RGISError(.conflict, "party \(wrongParty) held a share before event \(event); correct such a transfer by a new transfer")
        }
        for entry in given {
            if let later = entry.supersededBy {
                throw RGISError(.conflict, "the right event \(event) gave was changed later by event \(later); correct that one first")
            }
            let right = entry.right
            if try steps.currentRights(parcel: parcel).contains(where: { $0.party == party && $0.type == right.type }) {
                throw RGISError(.conflict, "party \(party) already holds \(right.type.rawValue) on parcel \(parcel); correct by a transfer instead")
            }
            try ensureParty(party, kind: "person", name: nil)
            try steps.supersedeRight(key: right.key)
            try steps.insertRight(parcel: parcel, party: party, type: right.type, share: right.share, validFrom: right.validFrom)
        }
        return change
    }

    /// Corrects the surveyed geometry of a parcel's or building's current version (a boundary recorded
    /// wrongly): same valid time, new record.
    public mutating func correctGeometry(_ layer: ArchiveLayer, id: String, geometry: Geometry, recordedAt: RecordTime = .now,
                                         document: String? = nil) throws -> ArchiveChange {
        guard geometry.kind == .polygon || geometry.kind == .multiPolygon else {
            throw RGISError(.invalidValue, "the corrected geometry must be a Polygon or MultiPolygon, found \(geometry.typeName)", at: "geometry")
        }
        try geometry.validate()
        let lookup = try latestVersion(layer, id: id)
        try begin(.correction, ArchiveRecord(date: try ValidDate(parsing: lookup.version.validFrom), recordedAt: recordedAt, document: document),
                  corrects: lookup.eventID, detail: [layer.idColumn: .string(id)])
        let version = try currentVersion(layer, id: id)
        change.areas.append(try steps.reopen(layer, version: version, geometry: .value(geometry)))
        change.opened.append(id)
        return change
    }

    // MARK: Buildings

    /// Records a new building on the record's date.
    public mutating func addBuilding(id: String, parcel: String?, geometry: Geometry, record: ArchiveRecord) throws -> ArchiveChange {
        guard geometry.kind == .polygon || geometry.kind == .multiPolygon else {
            throw RGISError(.invalidValue, "a building footprint must be a Polygon or MultiPolygon, found \(geometry.typeName)", at: "geometry")
        }
        try geometry.validate()
        try begin(.newBuilding, record)
        if let parcel {
            try requireNotBeforeStart(try currentVersion(.parcels, id: parcel), id: parcel)
        }
        try open(.buildings, id: id, geometry: .value(geometry), properties: nil, parcel: parcel)
        return change
    }

    /// Records a demolition: the building's valid time ends on the record's date.
    public mutating func demolish(building: String, record: ArchiveRecord) throws -> ArchiveChange {
        try begin(.demolition, record)
        let version = try currentVersion(.buildings, id: building)
        try requireAfterStart(version, id: building, layer: .buildings)
        try close(.buildings, version: version, id: building)
        return change
    }

    // MARK: Rules

    private var date: String { record.date.text }

    /// Records the event: the register cannot learn in the past.
    private mutating func begin(_ kind: ArchiveEventKind, _ record: ArchiveRecord, corrects: Int64? = nil, detail: [String: JSONValue]? = nil) throws {
        if let last = try steps.lastRecordedAt(), record.recordedAt.text < last {
            throw RGISError(.invalidValue, """
                recorded-at \(record.recordedAt) is before the register's last record (\(last)): the register cannot learn in the past
                """, at: "parameter recorded-at")
        }
        let event = try steps.recordEvent(kind: kind, record: record, corrects: corrects, detail: detail)
        self.record = record
        change = ArchiveChange(event: event, kind: kind)
    }

    private func latestVersion(_ layer: ArchiveLayer, id: String) throws -> LatestVersion {
        guard let latest = try steps.latestVersion(layer, id: id) else {
            throw RGISError(.notFound, "no \(layer.singular) \(id) in the archive", at: "parameter \(layer.singular)")
        }
        return latest
    }

    /// The version of `id` in force now; a retired parcel or building has none.
    private func currentVersion(_ layer: ArchiveLayer, id: String) throws -> RegisterVersion {
        let latest = try latestVersion(layer, id: id)
        if let validTo = latest.validTo {
            throw RGISError(.conflict, "\(layer.singular) \(id) was retired on \(validTo) by event \(latest.endedBy ?? 0) (\(latest.endedByKind ?? "an event")); it can no longer change",
                            at: "parameter \(layer.singular)")
        }
        return latest.version
    }

    /// Splits, merges and demolitions end a version, so they must fall after the day it began.
    private func requireAfterStart(_ version: RegisterVersion, id: String, layer: ArchiveLayer) throws {
        guard date > version.validFrom else {
            throw RGISError(.invalidValue, date == version.validFrom
                ? "\(layer.singular) \(id) came into being on \(date); a change that ends it must be dated later"
                : "dated \(date), before \(layer.singular) \(id) existed (it is valid from \(version.validFrom))", at: "parameter date")
        }
    }

    private func requireNotBeforeStart(_ version: RegisterVersion, id: String) throws {
        guard date >= version.validFrom else {
            throw RGISError(.invalidValue, "dated \(date), before parcel \(id) existed (it is valid from \(version.validFrom))", at: "parameter date")
        }
    }

    /// The register takes a parcel's changes in date order; an earlier record is fixed by a correction.
    private func requireAfterRightChanges(parcel: String, type: RightType?) throws {
        guard let last = try steps.lastRightChange(parcel: parcel, type: type) else { return }
        if last > date {
            throw RGISError(.invalidValue, """
                dated \(date), before the last recorded change of rights on parcel \(parcel) (\(last)); the register records a \
                parcel's events in date order (fix an earlier record with `rgis archive correct`)
                """, at: "parameter date")
        }
    }

    /// Ends a version on the event's date.
    private mutating func close(_ layer: ArchiveLayer, version: RegisterVersion, id: String) throws {
        try steps.close(layer, version: version)
        change.closed.append(id)
    }

    /// Opens a new parcel or building valid from the event's date: ids are never reused.
    private mutating func open(_ layer: ArchiveLayer, id: String, geometry: RegisterGeometry, properties: [String: JSONValue]?, parcel: String?) throws {
        guard !id.isEmpty else { throw RGISError(.invalidValue, "an id must not be empty") }
        if let used = try steps.firstUse(layer, id: id) {
            throw RGISError(.conflict, "\(layer.singular) id \(id) is already in the archive (since \(used)); ids are never reused", at: "\(layer.singular) \(id)")
        }
        let area = try steps.open(layer, id: id, geometry: geometry, properties: properties, parcel: parcel)
        change.opened.append(id)
        change.areas.append(area)
    }

    private func freshIDs(_ layer: ArchiveLayer, stem: String, count: Int) throws -> [String] {
        var ids: [String] = []
        var n = 1
        while ids.count < count {
            let candidate = "\(stem)-\(n)"
            if try steps.firstUse(layer, id: candidate) == nil { ids.append(candidate) }
            n += 1
        }
        return ids
    }

    /// A party known by id; its name is recorded the first time one is given and never replaced.
    private mutating func ensureParty(_ id: String, kind: String, name: String?) throws {
        guard !id.isEmpty else { throw RGISError(.invalidValue, "a party id must not be empty", at: "parameter to") }
        if let name, let known = try steps.partyName(id), known != name {
            throw RGISError(.conflict, "party \(id) is recorded under another name; a party's name is not replaced", at: "parameter party_name")
        }
        try steps.addParty(id, kind: kind, name: name)
    }

    static func checkAreaKept(parts: [Double], whole: Double, what: String) throws {
        let sum = parts.reduce(0, +)
        guard abs(sum - whole) <= whole * areaTolerance else {
            throw RGISError(.invalidValue, String(format: "%@ cover %.2f m² but the whole is %.2f m² (tolerance 0.01 %%)", what, sum, whole))
        }
    }
}
