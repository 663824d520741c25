import Foundation
import GRDB
import RGISCore
import RGISGeodesy
import RGISStore

/// The steps every archive change is made of, inside one transaction: the event row first, then
/// versions and rights closed (superseded, with an ended copy) and opened, all stamped with the event.
struct ArchiveWriter {
    let db: Database
    let record: ArchiveRecord
    var change: ArchiveChange
    var event: Int64 { change.event }
    var date: String { record.date.text }
    var recordedAt: String { record.recordedAt.text }

    /// A version as the register knows it now.
    struct Version {
        let fid: Int64
        let validFrom: String
    }

    struct RightKey: Hashable {
        let party: String
        let type: RightType
        let share: Share
    }

    struct Right {
        let id: Int64
        let party: String
        let type: RightType
        let share: Share
        let validFrom: String
        var key: RightKey { RightKey(party: party, type: type, share: share) }
    }

    enum GeometryInput {
        case value(Geometry)
        case blob(Data)
    }

    init(db: Database, kind: ArchiveEventKind, record: ArchiveRecord, corrects: Int64? = nil, detail: [String: JSONValue]? = nil) throws {
        if let last = try String.fetchOne(db, sql: "SELECT max(recorded_at) FROM archive_events"), record.recordedAt.text < last {
            throw RGISError(.invalidValue, """
                recorded-at \(record.recordedAt) is before the register's last record (\(last)): the register cannot learn in the past
                """, at: "parameter recorded-at")
        }
        try db.execute(sql: """
            INSERT INTO archive_events (kind, valid_date, recorded_at, document, corrects, detail) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [kind.rawValue, record.date.text, record.recordedAt.text, record.document, corrects, detail.map { JSONValue.object($0).jsonText }])
        self.db = db
        self.record = record
        change = ArchiveChange(event: db.lastInsertedRowID, kind: kind)
    }

    // MARK: Versions

    /// The latest version of `id` in current knowledge, whether or not it has ended.
    static func latestVersion(_ db: Database, _ layer: ArchiveLayer, id: String) throws -> (fid: Int64, validFrom: String, validTo: String?, eventID: Int64, endedBy: Int64?) {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT fid, valid_from, valid_to, event_id, ended_by FROM \(layer.table)
            WHERE \(layer.idColumn) = ? AND superseded_at IS NULL ORDER BY valid_from DESC LIMIT 1
            """, arguments: [id]) else {
            throw RGISError(.notFound, "no \(layer.singular) \(id) in the archive", at: "parameter \(layer.singular)")
        }
        return (row[0], row[1], row[2], row[3], row[4])
    }

    /// The version of `id` in force now; a retired parcel or building has none.
    func currentVersion(_ layer: ArchiveLayer, id: String) throws -> Version {
        let latest = try Self.latestVersion(db, layer, id: id)
        if let validTo = latest.validTo {
            let kind = try String.fetchOne(db, sql: "SELECT kind FROM archive_events WHERE id = ?", arguments: [latest.endedBy]) ?? "an event"
            throw RGISError(.conflict, "\(layer.singular) \(id) was retired on \(validTo) by event \(latest.endedBy ?? 0) (\(kind)); it can no longer change",
                            at: "parameter \(layer.singular)")
        }
        return Version(fid: latest.fid, validFrom: latest.validFrom)
    }

    /// Splits, merges and demolitions end a version, so they must fall after the day it began.
    func requireAfterStart(_ version: Version, id: String, layer: ArchiveLayer) throws {
        guard date > version.validFrom else {
            throw RGISError(.invalidValue, date == version.validFrom
                ? "\(layer.singular) \(id) came into being on \(date); a change that ends it must be dated later"
                : "dated \(date), before \(layer.singular) \(id) existed (it is valid from \(version.validFrom))", at: "parameter date")
        }
    }

    func requireNotBeforeStart(_ version: Version, id: String) throws {
        guard date >= version.validFrom else {
            throw RGISError(.invalidValue, "dated \(date), before parcel \(id) existed (it is valid from \(version.validFrom))", at: "parameter date")
        }
    }

    /// The register takes a parcel's changes in date order; an earlier record is fixed by a correction.
    func requireAfterRightChanges(parcel: String, type: RightType?, allowSameDay: Bool = true) throws {
        let typeClause = type == nil ? "" : "AND right_type = ?"
        var arguments: StatementArguments = [parcel]
        if let type { _ = arguments.append(contentsOf: [type.rawValue]) }
        guard let last = try String.fetchOne(db, sql: """
            SELECT max(max(valid_from), coalesce(max(valid_to), '')) FROM archive_rights
            WHERE parcel_id = ? \(typeClause) AND superseded_at IS NULL
            """, arguments: arguments) else { return }
        if last > date || (!allowSameDay && last == date) {
            throw RGISError(.invalidValue, """
                dated \(date), before the last recorded change of rights on parcel \(parcel) (\(last)); the register records a \
                parcel's events in date order (fix an earlier record with `rgis archive correct`)
                """, at: "parameter date")
        }
    }

    /// Ends a version on the event's date: the row is superseded, and a copy that ends on the date is
    /// recorded (none when it began that same day: then it never held).
    mutating func close(_ layer: ArchiveLayer, version: Version, id: String) throws {
        if date > version.validFrom {
            let parcelColumn = layer == .buildings ? "parcel_id, " : ""
            try db.execute(sql: """
                INSERT INTO \(layer.table) (\(layer.idColumn), \(parcelColumn)valid_from, valid_to, recorded_at, event_id, ended_by, area_m2, properties, geom)
                SELECT \(layer.idColumn), \(parcelColumn)valid_from, ?, ?, ?, ?, area_m2, properties, geom FROM \(layer.table) WHERE fid = ?
                """, arguments: [date, recordedAt, event, event, version.fid])
        }
        try supersede(layer.table, version.fid)
        change.closed.append(id)
    }

    /// Re-records a version with a corrected geometry and the same valid time.
    mutating func reopen(_ layer: ArchiveLayer, version: Version, geometry: Data) throws {
        let (blob, area) = try prepare(layer, geometry: .blob(geometry), id: String(version.fid))
        let parcelColumn = layer == .buildings ? "parcel_id, " : ""
        try db.execute(sql: """
            INSERT INTO \(layer.table) (\(layer.idColumn), \(parcelColumn)valid_from, recorded_at, event_id, area_m2, properties, geom)
            SELECT \(layer.idColumn), \(parcelColumn)valid_from, ?, ?, ?, properties, ? FROM \(layer.table) WHERE fid = ?
            """, arguments: [recordedAt, event, area, blob, version.fid])
        change.areas.append(area)
        try supersede(layer.table, version.fid)
    }

    /// Opens a new parcel or building valid from the event's date.
    mutating func open(_ layer: ArchiveLayer, id: String, geometry: GeometryInput, properties: [String: JSONValue]?, parcel: String? = nil) throws {
        guard !id.isEmpty else { throw RGISError(.invalidValue, "an id must not be empty") }
        if let used = try String.fetchOne(db, sql: "SELECT valid_from FROM \(layer.table) WHERE \(layer.idColumn) = ? LIMIT 1", arguments: [id]) {
            throw RGISError(.conflict, "\(layer.singular) id \(id) is already in the archive (since \(used)); ids are never reused", at: "\(layer.singular) \(id)")
        }
        let (blob, area) = try prepare(layer, geometry: geometry, id: id)
        var arguments: StatementArguments = [id, date, recordedAt, event, area, properties.map { JSONValue.object($0).jsonText }, blob]
        if layer == .buildings { _ = arguments.append(contentsOf: [parcel]) }
        try db.execute(sql: """
            INSERT INTO \(layer.table) (\(layer.idColumn), valid_from, recorded_at, event_id, area_m2, properties, geom\(layer == .buildings ? ", parcel_id" : ""))
            VALUES (?, ?, ?, ?, ?, ?, ?\(layer == .buildings ? ", ?" : ""))
            """, arguments: arguments)
        change.opened.append(id)
        change.areas.append(area)
    }

    /// The geometry as stored (a counter-clockwise MultiPolygon, SRID 4326) and its ellipsoidal area,
    /// refused when SpatiaLite finds it invalid.
    private func prepare(_ layer: ArchiveLayer, geometry: GeometryInput, id: String) throws -> (Data, Double) {
        let source: String
        let value: any DatabaseValueConvertible
        var known: Geometry?
        switch geometry {
        case .value(let g):
            source = "GeomFromWKB(?, 4326)"
            value = Data(g.wkb)
            known = g
        case .blob(let blob):
            source = "?"
            value = blob
        }
        // The coordinates are read back only for pieces SpatiaLite made; the reason only when invalid.
        guard let row = try Row.fetchOne(db, sql: """
            SELECT g, \(known == nil ? "AsGeoJSON(g, 15)" : "NULL"), ST_IsValid(g) FROM (SELECT CastToMultiPolygon(ST_ForcePolygonCCW(\(source))) AS g)
            """, arguments: [value]), let blob: Data = row[0] else {
            throw RGISError(.invalidValue, "\(layer.singular) \(id): the geometry cannot be read as a polygon")
        }
        guard row[2] as Int? == 1 else {
            let reason = try String.fetchOne(db, sql: "SELECT IsValidReason(?)", arguments: [blob])
            throw RGISError(.invalidValue, "\(layer.singular) \(id): invalid geometry (\(reason ?? "unknown reason"))")
        }
        let shape = try known ?? Geometry(geoJSON: JSONValue.parse(Array((row[1] as String? ?? "null").utf8)))
        let area = Geodesic.areaSquareMetres(shape)
        guard area > 0 else { throw RGISError(.invalidValue, "\(layer.singular) \(id): the polygon has no area") }
        return (blob, area)
    }

    private func supersede(_ table: String, _ fid: Int64) throws {
        try db.execute(sql: "UPDATE \(table) SET superseded_at = ?, superseded_by = ? WHERE \(table == "archive_rights" ? "id" : "fid") = ?",
                       arguments: [recordedAt, event, fid])
    }

    func freshIDs(_ layer: ArchiveLayer, stem: String, count: Int) throws -> [String] {
        var ids: [String] = []
        var n = 1
        while ids.count < count {
            let candidate = "\(stem)-\(n)"
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM \(layer.table) WHERE \(layer.idColumn) = ?", arguments: [candidate])! == 0 {
                ids.append(candidate)
            }
            n += 1
        }
        return ids
    }

    mutating func link(from parent: String, to child: String) throws {
        try db.execute(sql: "INSERT INTO archive_lineage (event_id, from_parcel, to_parcel) VALUES (?, ?, ?)", arguments: [event, parent, child])
    }

    // MARK: Rights

    /// The rights on a parcel in force now (open-ended in current knowledge).
    func currentRights(parcel: String) throws -> [Right] {
        try Row.fetchAll(db, sql: """
            SELECT id, party_id, right_type, share_num, share_den, valid_from FROM archive_rights
            WHERE parcel_id = ? AND superseded_at IS NULL AND valid_to IS NULL ORDER BY right_type, party_id
            """, arguments: [parcel]).map { row in
            Right(id: row[0], party: row[1], type: try RightType(parsing: row[2]), share: try Share(row[3], row[4]), validFrom: row[5])
        }
    }

    func insertRight(parcel: String, party: String, type: RightType, share: Share, validFrom: String? = nil) throws {
        try db.execute(sql: """
            INSERT INTO archive_rights (parcel_id, party_id, right_type, share_num, share_den, valid_from, recorded_at, event_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [parcel, party, type.rawValue, share.numerator, share.denominator, validFrom ?? date, recordedAt, event])
    }

    func closeRight(_ right: Right) throws {
        if date > right.validFrom {
            try db.execute(sql: """
                INSERT INTO archive_rights (parcel_id, party_id, right_type, share_num, share_den, valid_from, valid_to, recorded_at, event_id, ended_by)
                SELECT parcel_id, party_id, right_type, share_num, share_den, valid_from, ?, ?, ?, ? FROM archive_rights WHERE id = ?
                """, arguments: [date, recordedAt, event, event, right.id])
        }
        try supersede("archive_rights", right.id)
    }

    func supersedeRight(_ id: Int64) throws {
        try supersede("archive_rights", id)
    }

    /// A party known by id; its name is stored the first time one is given and never replaced.
    func ensureParty(_ id: String, kind: String, name: String? = nil) throws {
        guard !id.isEmpty else { throw RGISError(.invalidValue, "a party id must not be empty", at: "parameter to") }
        if let name, let known = try String.fetchOne(db, sql: "SELECT name FROM archive_parties WHERE id = ?", arguments: [id]), known != name {
            throw RGISError(.conflict, "party \(id) is recorded under another name; a party's name is not replaced", at: "parameter party_name")
        }
        try db.execute(sql: """
            INSERT INTO archive_parties (id, kind, name) VALUES (?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = COALESCE(archive_parties.name, excluded.name)
            """, arguments: [id, kind, name])
    }
}
