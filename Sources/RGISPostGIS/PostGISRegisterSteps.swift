import Foundation
import PostgresNIO
import RGISCore
import RGISGeodesy
import RGISStore

/// A transaction's connection for code that runs step by step without suspending (``Register``'s
/// rules): each statement is sent from the register's own thread, which waits for the answer. The
/// register runs on a thread of its own (``PostGISStore/onOwnThread(_:)``), never on one of the
/// cooperative pool, so the wait holds no task back.
struct BlockingSession: @unchecked Sendable {
    let session: Session

    func rows(_ q: SQLText) throws -> [PostgresRandomAccessRow] {
        final class Answer: @unchecked Sendable { var result: Result<[PostgresRandomAccessRow], any Error> = .success([]) }
        let answer = Answer()
        let done = DispatchSemaphore(value: 0)
        let session = session
        Task {
            do { answer.result = .success(try await session.rows(q)) } catch { answer.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try answer.result.get()
    }

    func run(_ q: SQLText) throws { _ = try rows(q) }

    func value<T: PostgresDecodable>(_ q: SQLText, as type: T.Type) throws -> T? {
        guard let cell = try rows(q).first?[0], cell.bytes != nil else { return nil }
        return try cell.decode(T.self)
    }
}

/// The register's steps in PostGIS, inside the transaction of one change: versions are rows of
/// `archive_parcels`/`archive_buildings` (keyed by fid), rights rows of `archive_rights`; closing
/// supersedes a row and inserts an ended copy; footprints are made valid, counter-clockwise
/// MultiPolygons by PostGIS (`ST_Split`, `ST_Union`, `ST_IsValid`), their areas ellipsoidal (as on the file).
struct PostGISRegisterSteps: RegisterSteps {
    let db: BlockingSession
    private var event: Int64 = 0
    private var date = ""
    private var recordedAt = ""

    init(_ db: BlockingSession) {
        self.db = db
    }

    func lastRecordedAt() throws -> String? {
        try db.value(SQLText("SELECT max(recorded_at) FROM archive_events"), as: String.self)
    }

    mutating func recordEvent(kind: ArchiveEventKind, record: ArchiveRecord, corrects: Int64?, detail: [String: JSONValue]?) throws -> Int64 {
        event = try db.value(SQLText("""
            INSERT INTO archive_events (kind, valid_date, recorded_at, document, corrects, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id
            """, [kind.rawValue, record.date.text, record.recordedAt.text, record.document, corrects, detail.map { JSONValue.object($0).jsonText }]),
            as: Int64.self) ?? 0
        date = record.date.text
        recordedAt = record.recordedAt.text
        return event
    }

    // MARK: Reads

    func latestVersion(_ layer: ArchiveLayer, id: String) throws -> LatestVersion? {
        guard let row = try db.rows(SQLText("""
            SELECT v.fid, v.valid_from, v.valid_to, v.event_id, v.ended_by, e.kind FROM \(layer.table) v
            LEFT JOIN archive_events e ON e.id = v.ended_by
            WHERE v.\(layer.idColumn) = ? AND v.superseded_at IS NULL ORDER BY v.valid_from COLLATE "C" DESC LIMIT 1
            """, [id])).first else { return nil }
        return LatestVersion(version: RegisterVersion(key: try row[0].decode(Int64.self), validFrom: try row[1].decode(String.self)),
                             validTo: try row[2].decode(String?.self), endedBy: try row[4].decode(Int64?.self), endedByKind: try row[5].decode(String?.self),
                             eventID: try row[3].decode(Int64.self))
    }

    func firstUse(_ layer: ArchiveLayer, id: String) throws -> String? {
        try db.value(SQLText("SELECT valid_from FROM \(layer.table) WHERE \(layer.idColumn) = ? LIMIT 1", [id]), as: String.self)
    }

    func lastRightChange(parcel: String, type: RightType?) throws -> String? {
        try db.value(SQLText("""
            SELECT CASE WHEN count(*) > 0 THEN greatest(max(valid_from COLLATE "C"), coalesce(max(valid_to COLLATE "C"), '')) END FROM archive_rights
            WHERE parcel_id = ? AND (?::text IS NULL OR right_type = ?) AND superseded_at IS NULL
            """, [parcel, type?.rawValue, type?.rawValue]), as: String.self)
    }

    func currentRights(parcel: String) throws -> [RegisterRight] {
        try db.rows(SQLText("""
            SELECT id, party_id, right_type, share_num, share_den, valid_from FROM archive_rights
            WHERE parcel_id = ? AND superseded_at IS NULL AND valid_to IS NULL ORDER BY right_type COLLATE "C", party_id COLLATE "C"
            """, [parcel])).map(Self.right)
    }

    func event(_ id: Int64) throws -> RegisterEvent? {
        guard let row = try db.rows(SQLText("SELECT kind, valid_date, detail FROM archive_events WHERE id = ?", [id])).first else { return nil }
        let detail = try row[2].decode(String?.self).flatMap { try? JSONValue.parse(Array($0.utf8)) }
        return RegisterEvent(kind: try row[0].decode(String.self), validDate: try row[1].decode(String.self), detail: detail)
    }

    func rightsGiven(event: Int64, party: String) throws -> [GivenRight] {
        try db.rows(SQLText("""
            SELECT id, party_id, right_type, share_num, share_den, valid_from, superseded_by FROM archive_rights
            WHERE event_id = ? AND party_id = ? AND ended_by IS NULL ORDER BY id
            """, [event, party])).map { GivenRight(right: try Self.right($0), supersededBy: try $0[6].decode(Int64?.self)) }
    }

    func heldBefore(event: Int64, party: String) throws -> Bool {
        (try db.value(SQLText("SELECT count(*) FROM archive_rights WHERE ended_by = ? AND party_id = ?", [event, party]), as: Int64.self) ?? 0) > 0
    }

    func partyName(_ id: String) throws -> String? {
        try db.value(SQLText("SELECT name FROM archive_parties WHERE id = ?", [id]), as: String.self)
    }

    private static func right(_ row: PostgresRandomAccessRow) throws -> RegisterRight {
        RegisterRight(key: try row[0].decode(Int64.self), party: try row[1].decode(String.self), type: try RightType(parsing: try row[2].decode(String.self)),
                      share: try Share(Int(try row[3].decode(Int64.self)), Int(try row[4].decode(Int64.self))), validFrom: try row[5].decode(String.self))
    }

    // MARK: Geometry

    func split(_ version: RegisterVersion, by line: Geometry) throws -> (parentParts: Int, parentArea: Double, pieceCount: Int?, pieces: [RegisterPiece]?) {
        var q = SQLText("SELECT ST_NumGeometries(geom), ST_NumGeometries(s), area_m2, ST_AsBinary(s) FROM (SELECT geom, ST_Split(geom, ")
        q.bindGeometry(line)
        q.sql(") AS s, area_m2 FROM archive_parcels WHERE fid = ")
        q.bind(version.key)
        q.sql(") x")
        let row = try db.rows(q)[0]
        let parentParts = Int(try row[0].decode(Int32.self)), parentArea = try row[2].decode(Double.self)
        let count = try row[1].decode(Int32?.self).map(Int.init)
        guard let pieceCount = count, pieceCount > parentParts, let split = try row[3].decode(ByteBuffer?.self) else {
            return (parentParts, parentArea, count, nil)
        }
        var pieces: [RegisterPiece] = []
        for n in 1...pieceCount {
            var piece = SQLText("SELECT ST_AsEWKB(g), ST_AsGeoJSON(g, 15), ST_IsValid(g), GeometryType(g) FROM (SELECT ST_Multi(ST_ForcePolygonCCW(ST_GeometryN(ST_GeomFromWKB(")
            piece.bind(split)
            piece.sql(", 4326), ")
            piece.bind(Int32(n))
            piece.sql("))) AS g) x")
            let made = try db.rows(piece)[0]
            guard let blob = try made[0].decode(ByteBuffer?.self), let text = try made[1].decode(String?.self), try made[2].decode(Bool?.self) == true,
                  try made[3].decode(String?.self) == "MULTIPOLYGON" else { return (parentParts, parentArea, pieceCount, nil) }
            pieces.append(RegisterPiece(geometry: .made(Data(buffer: blob)), areaSquareMetres: try Self.area(geoJSON: text)))
        }
        return (parentParts, parentArea, pieceCount, pieces)
    }

    func union(_ versions: [RegisterVersion]) throws -> RegisterUnion? {
        let row = try db.rows(SQLText("""
            SELECT ST_AsEWKB(g), ST_NumGeometries(g), ST_AsGeoJSON(g, 15), ST_IsValid(g), (SELECT sum(area_m2) FROM archive_parcels WHERE fid = ANY(?)),
                   GeometryType(g)
            FROM (SELECT ST_Multi(ST_ForcePolygonCCW(ST_Union(geom))) AS g FROM archive_parcels WHERE fid = ANY(?)) x
            """, [versions.map(\.key), versions.map(\.key)]))[0]
        guard let blob = try row[0].decode(ByteBuffer?.self), try row[3].decode(Bool?.self) == true, try row[5].decode(String?.self) == "MULTIPOLYGON" else {
            return nil
        }
        return RegisterUnion(geometry: .made(Data(buffer: blob)), parts: Int(try row[1].decode(Int32.self)),
                             areaSquareMetres: try Self.area(geoJSON: try row[2].decode(String.self)), partsAreaSquareMetres: try row[4].decode(Double.self))
    }

    static func area(geoJSON text: String) throws -> Double {
        Geodesic.areaSquareMetres(try Geometry(geoJSON: JSONValue.parse(Array(text.utf8))))
    }

    // MARK: Writes

    func close(_ layer: ArchiveLayer, version: RegisterVersion) throws {
        if date > version.validFrom {
            let parcelColumn = layer == .buildings ? "parcel_id, " : ""
            try db.run(SQLText("""
                INSERT INTO \(layer.table) (\(layer.idColumn), \(parcelColumn)valid_from, valid_to, recorded_at, event_id, ended_by, area_m2, properties, geom)
                SELECT \(layer.idColumn), \(parcelColumn)valid_from, ?, ?, ?, ?, area_m2, properties, geom FROM \(layer.table) WHERE fid = ?
                """, [date, recordedAt, event, event, version.key]))
        }
        try supersede(layer.table, version.key)
    }

    func reopen(_ layer: ArchiveLayer, version: RegisterVersion, geometry: RegisterGeometry) throws -> Double {
        let (blob, area) = try prepare(layer, geometry: geometry, id: String(version.key))
        let parcelColumn = layer == .buildings ? "parcel_id, " : ""
        try db.run(SQLText("""
            INSERT INTO \(layer.table) (\(layer.idColumn), \(parcelColumn)valid_from, recorded_at, event_id, area_m2, properties, geom)
            SELECT \(layer.idColumn), \(parcelColumn)valid_from, ?, ?, ?, properties, ST_GeomFromEWKB(?) FROM \(layer.table) WHERE fid = ?
            """, [recordedAt, event, area, blob, version.key]))
        try supersede(layer.table, version.key)
        return area
    }

    func open(_ layer: ArchiveLayer, id: String, geometry: RegisterGeometry, properties: [String: JSONValue]?, parcel: String?) throws -> Double {
        let (blob, area) = try prepare(layer, geometry: geometry, id: id)
        let building = layer == .buildings
        try db.run(SQLText("""
            INSERT INTO \(layer.table) (\(layer.idColumn), valid_from, recorded_at, event_id, area_m2, properties, geom\(building ? ", parcel_id" : ""))
            VALUES (?, ?, ?, ?, ?, ?, ST_GeomFromEWKB(?)\(building ? ", ?" : ""))
            """, [id, date, recordedAt, event, area, properties.map { JSONValue.object($0).jsonText }, blob] + (building ? [parcel] : [])))
        return area
    }

    /// The geometry as stored (a counter-clockwise MultiPolygon, SRID 4326, as EWKB) and its ellipsoidal
    /// area, refused when PostGIS finds it invalid.
    private func prepare(_ layer: ArchiveLayer, geometry: RegisterGeometry, id: String) throws -> (ByteBuffer, Double) {
        var q = SQLText("SELECT ST_AsEWKB(g), ST_AsGeoJSON(g, 15), ST_IsValid(g), ST_IsValidReason(g), GeometryType(g) FROM (SELECT ST_Multi(ST_ForcePolygonCCW(")
        var known: Geometry?
        switch geometry {
        case .value(let g):
            q.bindGeometry(g)
            known = g
        case .made(let blob):
            q.sql("ST_GeomFromEWKB(")
            q.bind(ByteBuffer(data: blob))
            q.sql(")")
        }
        q.sql(")) AS g) x")
        let row: PostgresRandomAccessRow
        do {
            row = try db.rows(q)[0]
        } catch let error as RGISError where error.code == .invalidValue {
            throw RGISError(.invalidValue, "\(layer.singular) \(id): the geometry cannot be read as a polygon")
        }
        guard let blob = try row[0].decode(ByteBuffer?.self), try row[4].decode(String?.self) == "MULTIPOLYGON" else {
            throw RGISError(.invalidValue, "\(layer.singular) \(id): the geometry cannot be read as a polygon")
        }
        guard try row[2].decode(Bool?.self) == true else {
            throw RGISError(.invalidValue, "\(layer.singular) \(id): invalid geometry (\(try row[3].decode(String?.self) ?? "unknown reason"))")
        }
        let shape = try known ?? Geometry(geoJSON: JSONValue.parse(Array((try row[1].decode(String?.self) ?? "null").utf8)))
        let area = Geodesic.areaSquareMetres(shape)
        guard area > 0 else { throw RGISError(.invalidValue, "\(layer.singular) \(id): the polygon has no area") }
        return (blob, area)
    }

    private func supersede(_ table: String, _ key: Int64) throws {
        try db.run(SQLText("UPDATE \(table) SET superseded_at = ?, superseded_by = ? WHERE \(table == "archive_rights" ? "id" : "fid") = ?",
                           [recordedAt, event, key]))
    }

    func link(from parent: String, to child: String) throws {
        try db.run(SQLText("INSERT INTO archive_lineage (event_id, from_parcel, to_parcel) VALUES (?, ?, ?)", [event, parent, child]))
    }

    func insertRight(parcel: String, party: String, type: RightType, share: Share, validFrom: String?) throws {
        try db.run(SQLText("""
            INSERT INTO archive_rights (parcel_id, party_id, right_type, share_num, share_den, valid_from, recorded_at, event_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [parcel, party, type.rawValue, Int64(share.numerator), Int64(share.denominator), validFrom ?? date, recordedAt, event]))
    }

    func closeRight(_ right: RegisterRight) throws {
        if date > right.validFrom {
            try db.run(SQLText("""
                INSERT INTO archive_rights (parcel_id, party_id, right_type, share_num, share_den, valid_from, valid_to, recorded_at, event_id, ended_by)
                SELECT parcel_id, party_id, right_type, share_num, share_den, valid_from, ?, ?, ?, ? FROM archive_rights WHERE id = ?
                """, [date, recordedAt, event, event, right.key]))
        }
        try supersede("archive_rights", right.key)
    }

    func supersedeRight(key: Int64) throws {
        try supersede("archive_rights", key)
    }

    func addParty(_ id: String, kind: String, name: String?) throws {
        try db.run(SQLText("""
            INSERT INTO archive_parties (id, kind, name) VALUES (?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET name = COALESCE(archive_parties.name, excluded.name)
            """, [id, kind, name]))
    }
}
