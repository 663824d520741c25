import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISGeodesy
import RGISStore

/// Writes the archive: every change is one transaction that records an event, closes versions and rights
/// by superseding them with copies that end at the event's date, and opens new ones. Nothing is updated
/// in place or deleted (the schema's triggers refuse it).
public struct ArchiveRegister: Sendable {
    public let database: RGISDatabase
    /// Split pieces and merges must keep the area: the pieces' sum within this fraction of the parent's.
    public static let areaTolerance = 1e-4

    public init(_ database: RGISDatabase) {
        self.database = database
    }

    // MARK: Registration

    /// Registers every Polygon/MultiPolygon feature of a GeoJSON file as a parcel (or building) valid from
    /// the record's date. Ids come from the property `idField`, else the feature's `id`.
    public func register(_ layer: ArchiveLayer, fromFile path: String, idField: String?, record: ArchiveRecord,
                         parcelField: String? = nil) throws -> ArchiveChange {
        try database.refuseOwnFile(path, as: "register from")
        return try register(layer, from: try HistoryFiles.archiveFeatures(path, idField: idField, parcelField: parcelField), record: record)
    }

    /// Registers what `input` reads; stops it when done (also on failure).
    public func register(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) throws -> ArchiveChange {
        defer { input.stop() }
        if let path = input.path { try database.refuseOwnFile(path, as: "register from") }
        do {
            return try database.writeTransaction { db in
                var writer = try ArchiveWriter(db: db, kind: .registration, record: record)
                // A register is many rows at once: its spatial index is filled once at the end.
                let bulk = try BulkSpatialIndex(db: db, table: layer.table, geometryCode: 6)
                while let feature = try input.next() {
                    do {
                        try writer.open(layer, id: feature.id, geometry: .value(feature.geometry), properties: feature.properties, parcel: feature.parcel)
                    } catch let error as RGISError {
                        throw error.located(feature.location)
                    }
                }
                guard !writer.change.opened.isEmpty else { throw RGISError(.invalidValue, "holds no features to register") }
                try bulk.finish()
                return writer.change
            }
        } catch let error as RGISError {
            throw error.located(input.name)
        }
    }

    // MARK: Parcels

    /// Splits a parcel by a line (LineString or MultiLineString) into the pieces SpatiaLite's `ST_Split`
    /// cuts, numbered by decreasing area. The parent ends on the record's date; each piece inherits its
    /// rights. New ids are `newIDs`, or `<parent>-1`, `<parent>-2`, … (skipping ids in use).
    public func split(parcel: String, line: Geometry, newIDs: [String]? = nil, record: ArchiveRecord) throws -> ArchiveChange {
        guard line.kind == .lineString || line.kind == .multiLineString else {
            throw RGISError(.invalidValue, "the split line must be a LineString or MultiLineString, found \(line.typeName)", at: "line")
        }
        try line.validate()
        return try database.writeTransaction { db in
            var writer = try ArchiveWriter(db: db, kind: .split, record: record)
            let version = try writer.currentVersion(.parcels, id: parcel)
            try writer.requireAfterStart(version, id: parcel, layer: .parcels)
            try writer.requireAfterRightChanges(parcel: parcel, type: nil)
            let row = try Row.fetchOne(db, sql: """
                SELECT ST_NumGeometries(geom), ST_NumGeometries(s), s, area_m2
                FROM (SELECT geom, ST_Split(geom, GeomFromWKB(?, 4326)) AS s, area_m2 FROM archive_parcels WHERE fid = ?)
                """, arguments: [Data(line.wkb), version.fid])!
            let parentParts: Int = row[0]
            guard let pieceCount: Int = row[1], pieceCount > parentParts else {
                throw RGISError(.invalidValue, "the split line does not cross parcel \(parcel): it must cut it into at least two pieces", at: "line")
            }
            let splitBlob: Data = row[2]
            let parentArea: Double = row[3]
            var pieces: [(geometry: Data, area: Double)] = []
            for n in 1...pieceCount {
                let piece = try Row.fetchOne(db, sql: """
                    SELECT g, AsGeoJSON(g, 15), ST_IsValid(g) FROM (SELECT CastToMultiPolygon(ST_ForcePolygonCCW(ST_GeometryN(?, ?))) AS g)
                    """, arguments: [splitBlob, n])!
                guard let blob: Data = piece[0], let text: String = piece[1], piece[2] as Int? == 1 else {
                    throw RGISError(.invalidValue, "splitting parcel \(parcel) gave an invalid piece; check the line", at: "line")
                }
                pieces.append((blob, try Self.area(geoJSON: text)))
            }
            try Self.checkAreaKept(parts: pieces.map(\.area), whole: parentArea, what: "the pieces of parcel \(parcel)")
            pieces.sort { $0.area > $1.area }
            if let newIDs, newIDs.count != pieces.count {
                throw RGISError(.invalidValue, "the line cuts parcel \(parcel) into \(pieces.count) pieces but \(newIDs.count) new ids were given", at: "parameter new-ids")
            }
            let ids = try newIDs ?? writer.freshIDs(.parcels, stem: parcel, count: pieces.count)
            let rights = try writer.currentRights(parcel: parcel)
            try writer.close(.parcels, version: version, id: parcel)
            for right in rights { try writer.closeRight(right) }
            for (id, piece) in zip(ids, pieces) {
                try writer.open(.parcels, id: id, geometry: .blob(piece.geometry), properties: nil)
                for right in rights { try writer.insertRight(parcel: id, party: right.party, type: right.type, share: right.share) }
                try writer.link(from: parcel, to: id)
            }
            return writer.change
        }
    }

    /// Merges parcels into one. They must be current, touch (unless `allowDisjoint`), not overlap, and
    /// carry the same rights (same parties, types and shares), which the merged parcel inherits.
    public func merge(parcels: [String], newID: String? = nil, allowDisjoint: Bool = false, record: ArchiveRecord) throws -> ArchiveChange {
        var seen = Set<String>()
        let unique = parcels.filter { seen.insert($0).inserted }
        guard unique.count >= 2 else {
            throw RGISError(.invalidValue, "a merge needs at least two different parcels", at: "parameter parcels")
        }
        return try database.writeTransaction { db in
            var writer = try ArchiveWriter(db: db, kind: .merge, record: record)
            var versions: [ArchiveWriter.Version] = []
            var rightsOfFirst: Set<ArchiveWriter.RightKey>?
            for parcel in unique {
                let version = try writer.currentVersion(.parcels, id: parcel)
                try writer.requireAfterStart(version, id: parcel, layer: .parcels)
                try writer.requireAfterRightChanges(parcel: parcel, type: nil)
                let rights = Set(try writer.currentRights(parcel: parcel).map(\.key))
                if let rightsOfFirst, rights != rightsOfFirst {
                    throw RGISError(.conflict, """
                        parcels \(unique[0]) and \(parcel) carry different rights; transfer them to the same parties and shares before merging
                        """, at: "parameter parcels")
                }
                rightsOfFirst = rights
                versions.append(version)
            }
            let fids = versions.map { String($0.fid) }.joined(separator: ",")
            let row = try Row.fetchOne(db, sql: """
                SELECT g, ST_NumGeometries(g), AsGeoJSON(g, 15), ST_IsValid(g), (SELECT sum(area_m2) FROM archive_parcels WHERE fid IN (\(fids)))
                FROM (SELECT CastToMultiPolygon(ST_ForcePolygonCCW(ST_Union(geom))) AS g FROM archive_parcels WHERE fid IN (\(fids)))
                """)!
            guard let blob: Data = row[0], row[3] as Int? == 1 else {
                throw RGISError(.invalidValue, "the union of parcels \(unique.joined(separator: ", ")) is not a valid polygon", at: "parameter parcels")
            }
            if !allowDisjoint, row[1] as Int != 1 {
                throw RGISError(.invalidValue, """
                    parcels \(unique.joined(separator: ", ")) do not touch along a boundary (their union has \(row[1] as Int) parts); \
                    pass --allow-disjoint to merge them anyway
                    """, at: "parameter parcels")
            }
            try Self.checkAreaKept(parts: [row[4]], whole: try Self.area(geoJSON: row[2]), what: "the merged parcels (they overlap)")
            let rights = try writer.currentRights(parcel: unique[0])
            let id = newID ?? unique.joined(separator: "+")
            for (parcel, version) in zip(unique, versions) {
                try writer.close(.parcels, version: version, id: parcel)
                for right in try writer.currentRights(parcel: parcel) { try writer.closeRight(right) }
            }
            try writer.open(.parcels, id: id, geometry: .blob(blob), properties: nil)
            for right in rights { try writer.insertRight(parcel: id, party: right.party, type: right.type, share: right.share) }
            for parcel in unique { try writer.link(from: parcel, to: id) }
            return writer.change
        }
    }

    // MARK: Rights

    /// Records a transfer: moves `share` from `from` to `to`, or grants it when there is no `from`. The
    /// shares of one right type on a parcel never add up to more than 1.
    public func transfer(_ transfer: Transfer, record: ArchiveRecord) throws -> ArchiveChange {
        guard transfer.from != transfer.to else {
            throw RGISError(.invalidValue, "party \(transfer.to) cannot transfer to itself", at: "parameter to")
        }
        return try database.writeTransaction { db in
            let writer = try ArchiveWriter(db: db, kind: .transfer, record: record, detail: [
                "parcel": .string(transfer.parcel), "to": .string(transfer.to), "from": transfer.from.map(JSONValue.string) ?? .null,
                "share": .string(transfer.share.description), "type": .string(transfer.type.rawValue)])
            let version = try writer.currentVersion(.parcels, id: transfer.parcel)
            try writer.requireNotBeforeStart(version, id: transfer.parcel)
            try writer.requireAfterRightChanges(parcel: transfer.parcel, type: transfer.type, allowSameDay: true)
            let held = try writer.currentRights(parcel: transfer.parcel).filter { $0.type == transfer.type }
            if let from = transfer.from {
                guard let seller = held.first(where: { $0.party == from }) else {
                    throw RGISError(.conflict, "party \(from) holds no \(transfer.type.rawValue) on parcel \(transfer.parcel) on \(record.date)", at: "parameter from")
                }
                guard let remainder = try seller.share - transfer.share else {
                    throw RGISError(.conflict, """
                        party \(from) holds \(seller.share) of the \(transfer.type.rawValue) of parcel \(transfer.parcel), less than the \(transfer.share) transferred
                        """, at: "parameter share")
                }
                try writer.closeRight(seller)
                if remainder > .zero { try writer.insertRight(parcel: transfer.parcel, party: from, type: transfer.type, share: remainder) }
            } else {
                let total = try held.reduce(Share.zero) { try $0 + $1.share } + transfer.share
                guard total <= .whole else {
                    throw RGISError(.conflict, """
                        shares of \(transfer.type.rawValue) on parcel \(transfer.parcel) would sum to \(total), above 1; \
                        name the party giving up the share with --from
                        """, at: "parameter share")
                }
            }
            try writer.ensureParty(transfer.to, kind: transfer.partyKind, name: transfer.partyName)
            var share = transfer.share
            if let buyer = held.first(where: { $0.party == transfer.to }) {
                try writer.closeRight(buyer)
                share = try share + buyer.share
            }
            try writer.insertRight(parcel: transfer.parcel, party: transfer.to, type: transfer.type, share: share)
            return writer.change
        }
    }

    // MARK: Corrections

    /// Corrects a recorded transfer whose receiving party was wrong: the rights it gave are superseded
    /// (still visible as known before this record time) and re-recorded for `party`, with the same valid time.
    public func correctTransfer(event: Int64, to party: String, recordedAt: RecordTime = .now, document: String? = nil) throws -> ArchiveChange {
        try database.writeTransaction { db in
            guard let original = try Row.fetchOne(db, sql: "SELECT kind, valid_date, detail FROM archive_events WHERE id = ?", arguments: [event]) else {
                throw RGISError(.notFound, "no archive event \(event)", at: "parameter event")
            }
            guard original["kind"] as String == ArchiveEventKind.transfer.rawValue,
                  let detailText: String = original["detail"], let detail = try? JSONValue.parse(Array(detailText.utf8)),
                  case .string(let wrongParty)? = detail["to"], case .string(let parcel)? = detail["parcel"] else {
                throw RGISError(.invalidValue, "event \(event) is a \(original["kind"] as String), not a transfer; only transfers are corrected by party", at: "parameter event")
            }
            guard wrongParty != party else {
                throw RGISError(.invalidValue, "event \(event) already gave the right to \(party)", at: "parameter to")
            }
            let record = ArchiveRecord(date: try ValidDate(parsing: original["valid_date"]), recordedAt: recordedAt, document: document)
            let writer = try ArchiveWriter(db: db, kind: .correction, record: record, corrects: event, detail: [
                "parcel": .string(parcel), "wrong": .string(wrongParty), "right": .string(party)])
            let given = try Row.fetchAll(db, sql: """
                SELECT id, party_id, right_type, share_num, share_den, valid_from, superseded_at, superseded_by FROM archive_rights
                WHERE event_id = ? AND party_id = ? AND ended_by IS NULL
                """, arguments: [event, wrongParty])
            guard !given.isEmpty else { throw RGISError(.conflict, "event \(event) recorded no right for \(wrongParty) that can be corrected") }
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM archive_rights WHERE ended_by = ? AND party_id = ?", arguments: [event, wrongParty])! > 0 {
                throw RGISError(.conflict, "party \(wrongParty) held a share before event \(event); correct such a transfer by a new transfer")
            }
            for row in given {
                if let later: Int64 = row["superseded_by"] {
                    throw RGISError(.conflict, "the right event \(event) gave was changed later by event \(later); correct that one first")
                }
                let type = try RightType(parsing: row["right_type"])
                if try writer.currentRights(parcel: parcel).contains(where: { $0.party == party && $0.type == type }) {
                    throw RGISError(.conflict, "party \(party) already holds \(type.rawValue) on parcel \(parcel); correct by a transfer instead")
                }
                try writer.ensureParty(party, kind: "person")
                try writer.supersedeRight(row["id"])
                try writer.insertRight(parcel: parcel, party: party, type: type, share: try Share(row["share_num"], row["share_den"]),
                                       validFrom: row["valid_from"])
            }
            return writer.change
        }
    }

    /// Corrects the surveyed geometry of a parcel's or building's current version (a boundary recorded
    /// wrongly): same valid time, new record.
    public func correctGeometry(_ layer: ArchiveLayer, id: String, geometry: Geometry, recordedAt: RecordTime = .now,
                                document: String? = nil) throws -> ArchiveChange {
        guard geometry.kind == .polygon || geometry.kind == .multiPolygon else {
            throw RGISError(.invalidValue, "the corrected geometry must be a Polygon or MultiPolygon, found \(geometry.typeName)", at: "geometry")
        }
        try geometry.validate()
        return try database.writeTransaction { db in
            let lookup = try ArchiveWriter.latestVersion(db, layer, id: id)
            let record = ArchiveRecord(date: try ValidDate(parsing: lookup.validFrom), recordedAt: recordedAt, document: document)
            var writer = try ArchiveWriter(db: db, kind: .correction, record: record, corrects: lookup.eventID, detail: [layer.idColumn: .string(id)])
            let version = try writer.currentVersion(layer, id: id)
            try writer.reopen(layer, version: version, geometry: Data(geometry.wkb))
            writer.change.opened.append(id)
            return writer.change
        }
    }

    // MARK: Buildings

    /// Records a new building on the record's date.
    public func addBuilding(id: String, parcel: String?, geometry: Geometry, record: ArchiveRecord) throws -> ArchiveChange {
        guard geometry.kind == .polygon || geometry.kind == .multiPolygon else {
            throw RGISError(.invalidValue, "a building footprint must be a Polygon or MultiPolygon, found \(geometry.typeName)", at: "geometry")
        }
        try geometry.validate()
        return try database.writeTransaction { db in
            var writer = try ArchiveWriter(db: db, kind: .newBuilding, record: record)
            if let parcel {
                let version = try writer.currentVersion(.parcels, id: parcel)
                try writer.requireNotBeforeStart(version, id: parcel)
            }
            try writer.open(.buildings, id: id, geometry: .value(geometry), properties: nil, parcel: parcel)
            return writer.change
        }
    }

    /// Records a demolition: the building's valid time ends on the record's date.
    public func demolish(building: String, record: ArchiveRecord) throws -> ArchiveChange {
        try database.writeTransaction { db in
            var writer = try ArchiveWriter(db: db, kind: .demolition, record: record)
            let version = try writer.currentVersion(.buildings, id: building)
            try writer.requireAfterStart(version, id: building, layer: .buildings)
            try writer.close(.buildings, version: version, id: building)
            return writer.change
        }
    }

    static func area(geoJSON text: String) throws -> Double {
        Geodesic.areaSquareMetres(try Geometry(geoJSON: JSONValue.parse(Array(text.utf8))))
    }

    static func checkAreaKept(parts: [Double], whole: Double, what: String) throws {
        let sum = parts.reduce(0, +)
        guard abs(sum - whole) <= whole * areaTolerance else {
            throw RGISError(.invalidValue, String(format: "%@ cover %.2f m² but the whole is %.2f m² (tolerance 0.01 %%)", what, sum, whole))
        }
    }
}

extension ArchiveRegister {
    /// Applies one requested change: the one entry point both the CLI and the server use.
    public func apply(_ request: ArchiveChangeRequest) throws -> ArchiveChange {
        try request.checkNewIDs()
        return try switch request {
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
}
