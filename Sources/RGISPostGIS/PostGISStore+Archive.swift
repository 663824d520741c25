import Foundation
import PostgresNIO
import RGISCore
import RGISStore

/// The archive in PostGIS (p08-archive): as-of reads through the GiST index on each version's two
/// time ranges (or, with a box or area, on its footprint), then the exact text comparisons, as on the
/// file; a parcel's rights and its lineage; and changes, each one transaction in which ``Register``
/// (the rules) works through ``PostGISRegisterSteps``.
extension PostGISStore {
    // MARK: Changes

    public func apply(_ change: ArchiveChangeRequest) async throws -> ArchiveChange {
        try await transaction { session in
            try await Self.onOwnThread {
                var register = Register(PostGISRegisterSteps(BlockingSession(session: session)))
                return try register.apply(change)
            }
        }
    }

    public func registerArchive(_ layer: ArchiveLayer, from input: ArchiveFeatureInput, record: ArchiveRecord) async throws -> ArchiveChange {
        defer { input.stop() }
        do {
            let reader = HandedOver(input)
            return try await transaction { session in
                try await Self.onOwnThread {
                    var register = Register(PostGISRegisterSteps(BlockingSession(session: session)))
                    return try register.register(layer, from: reader.value, record: record)
                }
            }
        } catch let error as RGISError {
            throw error.located(input.name)
        }
    }

    /// A value handed to the register's thread, which alone uses it until the register is done.
    struct HandedOver<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    /// Runs step-by-step code that waits for the database on a thread of its own (``BlockingSession``).
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: Reads

    public func archive(_ query: ArchiveQuery) async throws -> FeaturePage {
        try await read { session in
            let rows = try await session.rows(try Self.archiveSQL(query))
            var features = try rows.prefix(query.limit.value).map { try Self.versionFeature($0, layer: query.layer) }
            if query.layer == .parcels { try await Self.attachRights(session, to: &features, valid: query.valid, knownAt: query.knownAt) }
            let next = rows.count > query.limit.value ? features.last.map { PageCursor(distanceMetres: nil, fid: $0.fid) } : nil
            return FeaturePage(features: features, next: next)
        }
    }

    public func archiveVersion(_ layer: ArchiveLayer, fid: Int64) async throws -> StoredFeature {
        try await read { session in
            var q = Self.versionSelect(layer)
            q.sql(" WHERE v.fid = ")
            q.bind(fid)
            guard let row = try await session.rows(q).first else { throw RGISError(.notFound, "no version \(fid) in archive-\(layer.rawValue)", at: "featureId") }
            var feature = [try Self.versionFeature(row, layer: layer)]
            if layer == .parcels, let from = feature[0].properties["valid_from"].flatMap({ ISODate(parsing: $0.identifierText ?? "") }) {
                let valid = try DateTimeInterval(parsing: from.text)
                let known = try RecordTime(parsing: feature[0].properties["recorded_at"]?.identifierText ?? "", field: "recorded_at", day: .endOfDay)
                try await Self.attachRights(session, to: &feature, valid: valid, knownAt: known)
            }
            return feature[0]
        }
    }

    public func rights(parcel: String, at instant: ArchiveInstant) async throws -> ParcelRights {
        try await read { session in
            let known = instant.knownAt.text
            let versions = try await session.rows(SQLText("""
                SELECT valid_from, valid_to FROM archive_parcels WHERE parcel_id = ? AND recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)
                ORDER BY valid_from COLLATE "C"
                """, [parcel, known, known])).map { (from: try $0[0].decode(String.self), to: try $0[1].decode(String?.self)) }
            guard !versions.isEmpty else { throw RGISError(.notFound, "no parcel \(parcel) in the archive as known at \(instant.knownAt)", at: "parcel") }
            let day = instant.validAt.text
            guard versions.contains(where: { $0.from <= day && ($0.to.map { $0 > day } ?? true) }) else {
                let spans = versions.map { "\($0.from) – \($0.to ?? "")" }.joined(separator: ", ")
                throw RGISError(.invalidValue, "parcel \(parcel) was not in force on \(day) (valid \(spans))", at: "parameter date")
            }
            let rights = try await Self.rights(session, parcels: [parcel], valid: DateTimeInterval(parsing: day), knownAt: instant.knownAt)[parcel] ?? []
            return ParcelRights(parcel: parcel, date: day, knownAt: instant.knownAt.text, rights: rights)
        }
    }

    // MARK: Lineage

    public func lineage(parcel: String) async throws -> ParcelLineage {
        try await read { session in
            try await Self.requireParcel(session, parcel)
            var relatives: [[ParcelLineage.Relative]] = []
            for direction in [true, false] {
                var found: [ParcelLineage.Relative] = []
                for row in try await session.rows(Self.lineageSQL(parcel, up: direction)) {
                    let relative = try row[0].decode(String.self)
                    let span = try await Self.validSpan(session, relative)
                    found.append(ParcelLineage.Relative(parcel: relative, depth: Int(try row[3].decode(Int32.self)), event: try row[2].decode(Int64.self),
                                                        link: try row[1].decode(String.self), validFrom: span.from, validTo: span.to))
                }
                relatives.append(found)
            }
            var events: [ParcelLineage.Event] = []
            for id in Set((relatives[0] + relatives[1]).map(\.event)).sorted() { events.append(try await Self.lineageEvent(session, id)) }
            let span = try await Self.validSpan(session, parcel)
            return ParcelLineage(parcel: parcel, validFrom: span.from, validTo: span.to, ancestors: relatives[0], descendants: relatives[1], events: events)
        }
    }

    public func lineageVersions(parcel: String) async throws -> FeaturePage {
        try await read { session in
            try await Self.requireParcel(session, parcel)
            var related: [String] = []
            for up in [true, false] { related += try await session.rows(Self.lineageSQL(parcel, up: up)).map { try $0[0].decode(String.self) } }
            var q = Self.versionSelect(.parcels)
            q.sql(" WHERE v.parcel_id = ANY(")
            q.bind([parcel] + Array(Set(related)).sorted())
            q.sql(") ORDER BY v.fid")
            return FeaturePage(features: try await session.rows(q).map { try Self.versionFeature($0, layer: .parcels) }, next: nil)
        }
    }

    /// Ancestors (`up`) or descendants of a parcel, each at its least depth, nearest first.
    private static func lineageSQL(_ parcel: String, up: Bool) -> SQLText {
        let (near, far) = up ? ("to_parcel", "from_parcel") : ("from_parcel", "to_parcel")
        return SQLText("""
            WITH RECURSIVE walk(parcel, link, event_id, depth) AS (
                SELECT \(far), \(near), event_id, 1 FROM archive_lineage WHERE \(near) = ?
                UNION
                SELECT l.\(far), l.\(near), l.event_id, w.depth + 1 FROM archive_lineage l JOIN walk w ON l.\(near) = w.parcel
            )
            SELECT parcel, link, event_id, min(depth) AS depth FROM walk GROUP BY parcel, link, event_id ORDER BY depth, parcel COLLATE "C"
            """, [parcel])
    }

    private static func requireParcel(_ session: Session, _ parcel: String) async throws {
        guard try await session.rows(SQLText("SELECT EXISTS (SELECT 1 FROM archive_parcels WHERE parcel_id = ?)", [parcel]))[0][0].decode(Bool.self) else {
            throw RGISError(.notFound, "no parcel \(parcel) in the archive", at: "parcel")
        }
    }

    /// A parcel's valid time as known now.
    private static func validSpan(_ session: Session, _ parcel: String) async throws -> (from: String?, to: String?) {
        let row = try await session.rows(SQLText("""
            SELECT min(valid_from COLLATE "C"), CASE WHEN count(*) = count(valid_to) THEN max(valid_to COLLATE "C") END
            FROM archive_parcels WHERE parcel_id = ? AND superseded_at IS NULL
            """, [parcel]))[0]
        return (try row[0].decode(String?.self), try row[1].decode(String?.self))
    }

    private static func lineageEvent(_ session: Session, _ id: Int64) async throws -> ParcelLineage.Event {
        guard let row = try await session.rows(SQLText("SELECT kind, valid_date, recorded_at, document FROM archive_events WHERE id = ?", [id])).first else {
            throw RGISError(.database, "archive event \(id) is missing")
        }
        let links = try await session.rows(SQLText("SELECT from_parcel, to_parcel FROM archive_lineage WHERE event_id = ?", [id]))
        let from = Array(Set(try links.map { try $0[0].decode(String.self) })).sorted(), to = Array(Set(try links.map { try $0[1].decode(String.self) })).sorted()
        return ParcelLineage.Event(id: id, kind: try row[0].decode(String.self), date: try row[1].decode(String.self), recordedAt: try row[2].decode(String.self),
                                   document: try row[3].decode(String?.self), from: from, to: to)
    }

    // MARK: SQL

    static func versionSelect(_ layer: ArchiveLayer) -> SQLText {
        SQLText("""
            SELECT v.fid, v.\(layer.idColumn), v.valid_from, v.valid_to, v.recorded_at, v.superseded_at, v.event_id, e.kind, v.area_m2,
                   v.properties, ST_AsGeoJSON(v.geom, 9)\(layer == .buildings ? ", v.parcel_id" : "")
            FROM \(layer.table) v JOIN archive_events e ON e.id = v.event_id
            """)
    }

    /// The as-of statement: the ranges' GiST index (or the footprint's, with a box or area) gives the
    /// candidates, the half-open text comparisons decide, as on the file.
    static func archiveSQL(_ query: ArchiveQuery) throws -> SQLText {
        let (lo, hi) = query.valid?.dayRange ?? (nil, nil)
        let known = query.knownAt.text
        var q = versionSelect(query.layer)
        q.sql(" WHERE v.valid && daterange(")
        q.bind(lo)
        q.sql("::date, ")
        q.bind(hi)
        q.sql("::date, '[]') AND v.recorded @> ")
        q.bind(known)
        q.sql("::timestamptz AND (")
        q.bind(hi)
        q.sql("::text IS NULL OR v.valid_from <= ")
        q.bind(hi)
        q.sql(") AND (")
        q.bind(lo)
        q.sql("::text IS NULL OR v.valid_to IS NULL OR v.valid_to > ")
        q.bind(lo)
        q.sql(") AND v.recorded_at <= ")
        q.bind(known)
        q.sql(" AND (v.superseded_at IS NULL OR v.superseded_at > ")
        q.bind(known)
        q.sql(")")
        if let bbox = query.bbox {
            q.sql(" AND ")
            q.intersectsAny(bbox.parts, alias: "v")
        }
        if let area = query.area {
            q.sql(" AND ST_Intersects(v.geom, ")
            q.bindGeometry(area.geometry)
            q.sql(")")
        }
        if let after = query.afterFid {
            q.sql(" AND v.fid > ")
            q.bind(after)
        }
        q.sql(" ORDER BY v.fid LIMIT \(query.limit.value + 1)")
        return q
    }

    static func versionFeature(_ row: PostgresRandomAccessRow, layer: ArchiveLayer) throws -> StoredFeature {
        var properties: [String: JSONValue] = [:]
        if let text = try row[9].decode(String?.self), case .object(let source)? = try? JSONValue.parse(Array(text.utf8)) { properties = source }
        let fid = try row[0].decode(Int64.self)
        func text(_ i: Int) throws -> JSONValue { try row[i].decode(String?.self).map(JSONValue.string) ?? .null }
        properties[layer.idColumn] = try text(1)
        properties["version"] = .int(fid)
        properties["valid_from"] = try text(2)
        properties["valid_to"] = try text(3)
        properties["recorded_at"] = try text(4)
        properties["superseded_at"] = try text(5)
        properties["event"] = .int(try row[6].decode(Int64.self))
        properties["event_kind"] = try text(7)
        properties["area_m2"] = .double((try row[8].decode(Double.self) * 100).rounded() / 100)
        if layer == .buildings { properties["parcel_id"] = try text(11) }
        return StoredFeature(fid: fid, id: String(fid), geometryGeoJSON: try row[10].decode(String?.self) ?? "null", properties: properties)
    }

    static func attachRights(_ session: Session, to features: inout [StoredFeature], valid: DateTimeInterval?, knownAt: RecordTime) async throws {
        let parcels = Set(features.compactMap { $0.properties["parcel_id"]?.identifierText })
        guard !parcels.isEmpty else { return }
        let byParcel = try await rights(session, parcels: Array(parcels), valid: valid, knownAt: knownAt)
        for i in features.indices {
            let parcel = features[i].properties["parcel_id"]?.identifierText ?? ""
            features[i].properties["rights"] = .array((byParcel[parcel] ?? []).map(\.json))
        }
    }

    /// The rights of parcels valid during `valid` (any time when nil) as known at `knownAt`.
    static func rights(_ session: Session, parcels: [String], valid: DateTimeInterval?, knownAt: RecordTime) async throws -> [String: [ParcelRight]] {
        let (lo, hi) = valid?.dayRange ?? (nil, nil)
        let known = knownAt.text
        let rows = try await session.rows(SQLText("""
            SELECT r.parcel_id, r.party_id, r.right_type, r.share_num, r.share_den, r.valid_from, r.valid_to, p.name FROM archive_rights r
            LEFT JOIN archive_parties p ON p.id = r.party_id
            WHERE r.parcel_id = ANY(?)
              AND (?::text IS NULL OR r.valid_from <= ?) AND (?::text IS NULL OR r.valid_to IS NULL OR r.valid_to > ?)
              AND r.recorded_at <= ? AND (r.superseded_at IS NULL OR r.superseded_at > ?)
            ORDER BY r.parcel_id COLLATE "C", r.right_type COLLATE "C", r.party_id COLLATE "C", r.valid_from COLLATE "C"
            """, [parcels, hi, hi, lo, lo, known, known]))
        var result: [String: [ParcelRight]] = [:]
        for row in rows {
            let share = try Share(Int(try row[3].decode(Int64.self)), Int(try row[4].decode(Int64.self)))
            result[try row[0].decode(String.self), default: []].append(ParcelRight(
                party: try row[1].decode(String.self), partyName: try row[7].decode(String?.self), type: try row[2].decode(String.self),
                share: share, validFrom: try row[5].decode(String.self), validTo: try row[6].decode(String?.self)))
        }
        return result
    }
}
