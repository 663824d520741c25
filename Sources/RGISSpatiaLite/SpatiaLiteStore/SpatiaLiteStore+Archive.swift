import Foundation
import GRDB
import RGISCore
import RGISStore

/// Reads of the archive: what the register said about a place at a date as known at a time, a
/// parcel's rights, and its lineage. Every as-of read goes through the version table's time R*Tree
/// (valid days × record minutes) and, with a box or area, through its spatial R*Tree.
extension SpatiaLiteStore {
    /// The versions matching `query`, in storage order, each with its rights (for parcels).
    public func archive(_ query: ArchiveQuery) async throws -> FeaturePage {
        try await read { db in
            let rows = try db.rows(try Self.archiveSQL(db, query))
            var features = try rows.prefix(query.limit.value).map { try Self.versionFeature($0, layer: query.layer) }
            if query.layer == .parcels {
                try Self.attachRights(db, to: &features, valid: query.valid, knownAt: query.knownAt)
            }
            let next = rows.count > query.limit.value ? features.last.map { PageCursor(distanceMetres: nil, fid: $0.fid) } : nil
            return FeaturePage(features: features, next: next)
        }
    }

    /// One stored version by its storage key (the feature id of the `archive-parcels` collection).
    public func archiveVersion(_ layer: ArchiveLayer, fid: Int64) async throws -> StoredFeature {
        try await read { db in
            guard let row = try db.row(Self.versionSelect(layer) + " WHERE v.fid = \(fid)") else {
                throw RGISError(.notFound, "no version \(fid) in archive-\(layer.rawValue)", at: "featureId")
            }
            var feature = [try Self.versionFeature(row, layer: layer)]
            if layer == .parcels, let from = feature[0].properties["valid_from"].flatMap({ ISODate(parsing: $0.identifierText ?? "") }) {
                let valid = try DateTimeInterval(parsing: from.text)
                try Self.attachRights(db, to: &feature, valid: valid, knownAt: RecordTime(parsing: feature[0].properties["recorded_at"]?.identifierText ?? "", field: "recorded_at", day: .endOfDay))
            }
            return feature[0]
        }
    }

    /// The rights on a parcel valid on a day as known at a time: `{parcel, date, known_at, rights: […]}`.
    public func rights(parcel: String, at instant: ArchiveInstant) async throws -> ParcelRights {
        try await read { db in
            let known = instant.knownAt.text
            let versions = try db.rows("""
                SELECT valid_from, valid_to FROM archive_parcels WHERE parcel_id = \(parcel) AND recorded_at <= \(known) AND (superseded_at IS NULL OR superseded_at > \(known))
                ORDER BY valid_from
                """)
            guard !versions.isEmpty else {
                throw RGISError(.notFound, "no parcel \(parcel) in the archive as known at \(instant.knownAt)", at: "parcel")
            }
            let day = instant.validAt.text
            guard versions.contains(where: { ($0[0] as String) <= day && (($0[1] as String?).map { $0 > day } ?? true) }) else {
                let spans = versions.map { "\($0[0] as String) – \(($0[1] as String?) ?? "")" }.joined(separator: ", ")
                throw RGISError(.invalidValue, "parcel \(parcel) was not in force on \(day) (valid \(spans))", at: "parameter date")
            }
            let rights = try Self.rights(db, parcels: [parcel], valid: DateTimeInterval(parsing: day), knownAt: instant.knownAt)[parcel] ?? []
            return ParcelRights(parcel: parcel, date: day, knownAt: instant.knownAt.text, rights: rights)
        }
    }

    // MARK: Lineage

    /// A parcel's ancestors and descendants through splits and merges, with the events, as the register
    /// knows them now: `{parcel, valid_from, valid_to, ancestors: [{parcel, depth, …}], descendants: […], events: […]}`.
    public func lineage(parcel: String) async throws -> ParcelLineage {
        try await read { db in
            try Self.requireParcel(db, parcel)
            func walk(_ direction: LineageDirection) throws -> [ParcelLineage.Relative] {
                try db.rows(direction.sql(parcel)).map { row in
                    let relative: String = row["parcel"]
                    let span = try Self.validSpan(db, relative)
                    return ParcelLineage.Relative(parcel: relative, depth: row["depth"], event: row["event_id"], link: row["link"],
                                                  validFrom: span.from, validTo: span.to)
                }
            }
            let ancestors = try walk(.up)
            let descendants = try walk(.down)
            let eventIDs = Set((ancestors + descendants).map(\.event))
            let events = try eventIDs.sorted().map { try Self.lineageEvent(db, $0) }
            let span = try Self.validSpan(db, parcel)
            return ParcelLineage(parcel: parcel, validFrom: span.from, validTo: span.to, ancestors: ancestors, descendants: descendants, events: events)
        }
    }

    /// Every recorded version (superseded ones too) of a parcel and of its ancestors and descendants.
    public func lineageVersions(parcel: String) async throws -> FeaturePage {
        try await read { db in
            try Self.requireParcel(db, parcel)
            let related = try db.rows(LineageDirection.up.sql(parcel)).map { $0["parcel"] as String }
                + db.rows(LineageDirection.down.sql(parcel)).map { $0["parcel"] as String }
            let ids = [parcel] + Array(Set(related)).sorted()
            let rows = try db.rows(Self.versionSelect(.parcels) + " WHERE v.parcel_id IN (\(SpatialSQL.list(ids))) ORDER BY v.fid")
            return FeaturePage(features: try rows.map { try Self.versionFeature($0, layer: .parcels) }, next: nil)
        }
    }

    private enum LineageDirection {
        case up, down
        func sql(_ parcel: String) -> SQL {
            let (near, far) = self == .up ? ("to_parcel", "from_parcel") : ("from_parcel", "to_parcel")
            return """
                WITH RECURSIVE walk(parcel, link, event_id, depth) AS (
                    SELECT \(sql: far), \(sql: near), event_id, 1 FROM archive_lineage WHERE \(sql: near) = \(parcel)
                    UNION
                    SELECT l.\(sql: far), l.\(sql: near), l.event_id, w.depth + 1 FROM archive_lineage l JOIN walk w ON l.\(sql: near) = w.parcel
                )
                SELECT parcel, link, event_id, min(depth) AS depth FROM walk GROUP BY parcel, link, event_id ORDER BY depth, parcel
                """
        }
    }

    private static func requireParcel(_ db: Database, _ parcel: String) throws {
        guard try db.value("SELECT EXISTS (SELECT 1 FROM archive_parcels WHERE parcel_id = \(parcel))", as: Bool.self) == true else {
            throw RGISError(.notFound, "no parcel \(parcel) in the archive", at: "parcel")
        }
    }

    /// A parcel's valid time as known now.
    private static func validSpan(_ db: Database, _ parcel: String) throws -> (from: String?, to: String?) {
        let row = try db.row("""
            SELECT min(valid_from), CASE WHEN count(*) = count(valid_to) THEN max(valid_to) END
            FROM archive_parcels WHERE parcel_id = \(parcel) AND superseded_at IS NULL
            """)
        return (row?[0], row?[1])
    }

    private static func lineageEvent(_ db: Database, _ id: Int64) throws -> ParcelLineage.Event {
        guard let row = try db.row("SELECT kind, valid_date, recorded_at, document FROM archive_events WHERE id = \(id)") else {
            throw RGISError(.database, "archive event \(id) is missing")
        }
        let links = try db.rows("SELECT from_parcel, to_parcel FROM archive_lineage WHERE event_id = \(id)")
        let from = Array(Set(links.map { $0[0] as String })).sorted(), to = Array(Set(links.map { $0[1] as String })).sorted()
        return ParcelLineage.Event(id: id, kind: row[0], date: row[1], recordedAt: row[2], document: row[3], from: from, to: to)
    }

    // MARK: SQL

    static func versionSelect(_ layer: ArchiveLayer) -> SQL {
        """
        SELECT v.fid, v.\(sql: layer.idColumn), v.valid_from, v.valid_to, v.recorded_at, v.superseded_at, v.event_id, e.kind, v.area_m2,
               v.properties, AsGeoJSON(v.geom, 9)\(sql: layer == .buildings ? ", v.parcel_id" : "")
        FROM \(sql: layer.table) v JOIN archive_events e ON e.id = v.event_id
        """
    }

    /// The as-of SQL: candidates from one R*Tree, then the exact half-open comparisons on the text
    /// columns. With a box or an area the spatial R*Tree drives (a place has few versions, while most
    /// versions hold at any one time); without one the time R*Tree does, which pays where history is
    /// long or the instant is early. `useIndexes: false` leaves both R*Trees out (a scan of the versions),
    /// for the benchmark that measures what they save.
    package static func archiveSQL(_ db: Database, _ query: ArchiveQuery, useIndexes: Bool = true) throws -> SQL {
        let timeIndex = useIndexes && query.bbox == nil && query.area == nil
        let (lo, hi) = query.valid?.dayRange ?? (nil, nil)
        let known = query.knownAt.text
        guard let bounds = try db.row("""
            SELECT CAST(julianday(\(lo)) - 2440587.5 AS INTEGER), CAST(julianday(\(hi)) - 2440587.5 AS INTEGER), CAST(strftime('%s', \(known)) AS INTEGER) / 60
            """) else { throw RGISError(.database, "the archive's time bounds could not be computed") }
        let loDay = bounds[0] as Int64? ?? Int64(Int32.min), hiDay = bounds[1] as Int64? ?? Int64(Int32.max)
        let minute: Int64 = bounds[2]
        let table = query.layer.table
        let timeCandidates: SQL = timeIndex
            ? "v.fid IN (SELECT id FROM \(sql: table)_time WHERE valid_from <= \(hiDay) AND valid_to >= \(loDay) AND recorded_from <= \(minute) AND recorded_to >= \(minute))"
            : "1"
        var sql = versionSelect(query.layer) + """

            WHERE \(timeCandidates)
              AND (\(hi) IS NULL OR v.valid_from <= \(hi)) AND (\(lo) IS NULL OR v.valid_to IS NULL OR v.valid_to > \(lo))
              AND v.recorded_at <= \(known) AND (v.superseded_at IS NULL OR v.superseded_at > \(known))
            """
        if let bbox = query.bbox {
            if useIndexes { sql += " AND \(SpatialSQL.candidates(table: table, alias: "v", boxes: bbox.parts))" }
            sql += " AND \(SpatialSQL.intersectsAny(bbox.parts, alias: "v"))"
        }
        if let area = query.area {
            let wkb = Data(area.geometry.wkb)
            guard let box = try db.row("SELECT MbrMinX(g), MbrMinY(g), MbrMaxX(g), MbrMaxY(g) FROM (SELECT GeomFromWKB(\(wkb), 4326) AS g)"),
                  let west: Double = box[0] else {
                throw RGISError(.invalidValue, "the area cannot be read as a polygon", at: "parameter geometry")
            }
            if useIndexes {
                sql += " AND \(SpatialSQL.candidates(table: table, alias: "v", boxes: [BBox.Part(west: west, south: box[1], east: box[2], north: box[3])]))"
            }
            sql += " AND ST_Intersects(v.geom, GeomFromWKB(\(wkb), 4326))"
        }
        if let after = query.afterFid { sql += " AND v.fid > \(after)" }
        sql += " ORDER BY v.fid LIMIT \(query.limit.value + 1)"
        return sql
    }

    static func versionFeature(_ row: Row, layer: ArchiveLayer) throws -> StoredFeature {
        var properties: [String: JSONValue] = [:]
        if let text: String = row[9], case .object(let source)? = try? JSONValue.parse(Array(text.utf8)) { properties = source }
        let fid: Int64 = row[0]
        func text(_ i: Int) -> JSONValue { (row[i] as String?).map(JSONValue.string) ?? .null }
        properties[layer.idColumn] = text(1)
        properties["version"] = .int(fid)
        properties["valid_from"] = text(2)
        properties["valid_to"] = text(3)
        properties["recorded_at"] = text(4)
        properties["superseded_at"] = text(5)
        properties["event"] = .int(row[6])
        properties["event_kind"] = text(7)
        properties["area_m2"] = .double(((row[8] as Double) * 100).rounded() / 100)
        if layer == .buildings { properties["parcel_id"] = text(11) }
        return StoredFeature(fid: fid, id: String(fid), geometryGeoJSON: row[10] ?? "null", properties: properties)
    }

    /// Adds `rights` to each parcel feature: the rights valid during `valid` (any time when nil) as known at `knownAt`.
    static func attachRights(_ db: Database, to features: inout [StoredFeature], valid: DateTimeInterval?, knownAt: RecordTime) throws {
        let parcels = Set(features.compactMap { $0.properties["parcel_id"]?.identifierText })
        guard !parcels.isEmpty else { return }
        let byParcel = try rights(db, parcels: Array(parcels), valid: valid, knownAt: knownAt)
        for i in features.indices {
            let parcel = features[i].properties["parcel_id"]?.identifierText ?? ""
            features[i].properties["rights"] = .array((byParcel[parcel] ?? []).map(\.json))
        }
    }

    static func rights(_ db: Database, parcels: [String], valid: DateTimeInterval?, knownAt: RecordTime) throws -> [String: [ParcelRight]] {
        let (lo, hi) = valid?.dayRange ?? (nil, nil)
        var result: [String: [ParcelRight]] = [:]
        // In slices: SQLite binds at most 32,766 values in one statement.
        for start in stride(from: 0, to: parcels.count, by: 5000) {
            let slice = Array(parcels[start..<min(start + 5000, parcels.count)])
            let known = knownAt.text
            let rows = try db.rows("""
                SELECT parcel_id, party_id, right_type, share_num, share_den, valid_from, valid_to,
                       (SELECT name FROM archive_parties p WHERE p.id = party_id) FROM archive_rights
                WHERE parcel_id IN (\(SpatialSQL.list(slice)))
                  AND (\(hi) IS NULL OR valid_from <= \(hi)) AND (\(lo) IS NULL OR valid_to IS NULL OR valid_to > \(lo))
                  AND recorded_at <= \(known) AND (superseded_at IS NULL OR superseded_at > \(known))
                ORDER BY parcel_id, right_type, party_id, valid_from
                """)
            for row in rows {
                let share = try Share(row[3], row[4])
                result[row[0], default: []].append(ParcelRight(party: row[1], partyName: row[7], type: row[2], share: share, validFrom: row[5], validTo: row[6]))
            }
        }
        return result
    }
}
