import Foundation
import GRDB
import RGISCore
import RGISGeodesy
import RGISStore

/// The register's steps on SpatiaLite, inside the write transaction of one change: versions are rows
/// of `archive_parcels`/`archive_buildings` (keyed by fid), rights rows of `archive_rights`; closing
/// supersedes a row and inserts an ended copy; footprints are made valid, counter-clockwise
/// MultiPolygons by SpatiaLite (`ST_Split`, `ST_Union`, `ST_IsValid`), their areas ellipsoidal (PROJ).
struct SpatiaLiteRegisterSteps: RegisterSteps {
    let db: Database
    private var event: Int64 = 0
    private var date = ""
    private var recordedAt = ""

    init(_ db: Database) {
        self.db = db
    }

    func lastRecordedAt() throws -> String? {
        try String.fetchOne(db, sql: "SELECT max(recorded_at) FROM archive_events")
    }

    mutating func recordEvent(kind: ArchiveEventKind, record: ArchiveRecord, corrects: Int64?, detail: [String: JSONValue]?) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO archive_events (kind, valid_date, recorded_at, document, corrects, detail) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [kind.rawValue, record.date.text, record.recordedAt.text, record.document, corrects, detail.map { JSONValue.object($0).jsonText }])
        event = db.lastInsertedRowID
        date = record.date.text
        recordedAt = record.recordedAt.text
        return event
    }

    // MARK: Reads

    func latestVersion(_ layer: ArchiveLayer, id: String) throws -> LatestVersion? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT v.fid, v.valid_from, v.valid_to, v.event_id, v.ended_by, e.kind FROM \(layer.table) v
            LEFT JOIN archive_events e ON e.id = v.ended_by
            WHERE v.\(layer.idColumn) = ? AND v.superseded_at IS NULL ORDER BY v.valid_from DESC LIMIT 1
            """, arguments: [id]) else { return nil }
        return LatestVersion(version: RegisterVersion(key: row[0], validFrom: row[1]), validTo: row[2], endedBy: row[4], endedByKind: row[5], eventID: row[3])
    }

    func firstUse(_ layer: ArchiveLayer, id: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT valid_from FROM \(layer.table) WHERE \(layer.idColumn) = ? LIMIT 1", arguments: [id])
    }

    func lastRightChange(parcel: String, type: RightType?) throws -> String? {
        let typeClause = type == nil ? "" : "AND right_type = ?"
        var arguments: StatementArguments = [parcel]
        if let type { _ = arguments.append(contentsOf: [type.rawValue]) }
        return try String.fetchOne(db, sql: """
            SELECT max(max(valid_from), coalesce(max(valid_to), '')) FROM archive_rights
            WHERE parcel_id = ? \(typeClause) AND superseded_at IS NULL
            """, arguments: arguments)
    }

    func currentRights(parcel: String) throws -> [RegisterRight] {
        try Row.fetchAll(db, sql: """
            SELECT id, party_id, right_type, share_num, share_den, valid_from FROM archive_rights
            WHERE parcel_id = ? AND superseded_at IS NULL AND valid_to IS NULL ORDER BY right_type, party_id
            """, arguments: [parcel]).map(Self.right)
    }

    func event(_ id: Int64) throws -> RegisterEvent? {
        guard let row = try Row.fetchOne(db, sql: "SELECT kind, valid_date, detail FROM archive_events WHERE id = ?", arguments: [id]) else { return nil }
        let detail = (row["detail"] as String?).flatMap { try? JSONValue.parse(Array($0.utf8)) }
        return RegisterEvent(kind: row["kind"], validDate: row["valid_date"], detail: detail)
    }

    func rightsGiven(event: Int64, party: String) throws -> [GivenRight] {
        try Row.fetchAll(db, sql: """
            SELECT id, party_id, right_type, share_num, share_den, valid_from, superseded_by FROM archive_rights
            WHERE event_id = ? AND party_id = ? AND ended_by IS NULL
            """, arguments: [event, party]).map { GivenRight(right: try Self.right($0), supersededBy: $0[6]) }
    }

    func heldBefore(event: Int64, party: String) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM archive_rights WHERE ended_by = ? AND party_id = ?", arguments: [event, party])! > 0
    }

    func partyName(_ id: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT name FROM archive_parties WHERE id = ?", arguments: [id])
    }

    private static func right(_ row: Row) throws -> RegisterRight {
        RegisterRight(key: row[0], party: row[1], type: try RightType(parsing: row[2]), share: try Share(row[3], row[4]), validFrom: row[5])
    }

    // MARK: Geometry

    func split(_ version: RegisterVersion, by line: Geometry) throws -> (parentParts: Int, parentArea: Double, pieceCount: Int?, pieces: [RegisterPiece]?) {
        let row = try Row.fetchOne(db, sql: """
            SELECT ST_NumGeometries(geom), ST_NumGeometries(s), s, area_m2
            FROM (SELECT geom, ST_Split(geom, GeomFromWKB(?, 4326)) AS s, area_m2 FROM archive_parcels WHERE fid = ?)
            """, arguments: [Data(line.wkb), version.key])!
        let parentParts: Int = row[0]
        let parentArea: Double = row[3]
        guard let pieceCount: Int = row[1], pieceCount > parentParts else { return (parentParts, parentArea, row[1], nil) }
        let splitBlob: Data = row[2]
        var pieces: [RegisterPiece] = []
        for n in 1...pieceCount {
            let piece = try Row.fetchOne(db, sql: """
                SELECT g, AsGeoJSON(g, 15), ST_IsValid(g) FROM (SELECT CastToMultiPolygon(ST_ForcePolygonCCW(ST_GeometryN(?, ?))) AS g)
                """, arguments: [splitBlob, n])!
            guard let blob: Data = piece[0], let text: String = piece[1], piece[2] as Int? == 1 else { return (parentParts, parentArea, pieceCount, nil) }
            pieces.append(RegisterPiece(geometry: .made(blob), areaSquareMetres: try Self.area(geoJSON: text)))
        }
        return (parentParts, parentArea, pieceCount, pieces)
    }

    func union(_ versions: [RegisterVersion]) throws -> RegisterUnion? {
        let fids = versions.map { String($0.key) }.joined(separator: ",")
        let row = try Row.fetchOne(db, sql: """
            SELECT g, ST_NumGeometries(g), AsGeoJSON(g, 15), ST_IsValid(g), (SELECT sum(area_m2) FROM archive_parcels WHERE fid IN (\(fids)))
            FROM (SELECT CastToMultiPolygon(ST_ForcePolygonCCW(ST_Union(geom))) AS g FROM archive_parcels WHERE fid IN (\(fids)))
            """)!
        guard let blob: Data = row[0], row[3] as Int? == 1 else { return nil }
        return RegisterUnion(geometry: .made(blob), parts: row[1], areaSquareMetres: try Self.area(geoJSON: row[2]), partsAreaSquareMetres: row[4])
    }

    static func area(geoJSON text: String) throws -> Double {
        Geodesic.areaSquareMetres(try Geometry(geoJSON: JSONValue.parse(Array(text.utf8))))
    }

    // MARK: Writes

    func close(_ layer: ArchiveLayer, version: RegisterVersion) throws {
        if date > version.validFrom {
            let parcelColumn = layer == .buildings ? "parcel_id, " : ""
            try db.execute(sql: """
                INSERT INTO \(layer.table) (\(layer.idColumn), \(parcelColumn)valid_from, valid_to, recorded_at, event_id, ended_by, area_m2, properties, geom)
                SELECT \(layer.idColumn), \(parcelColumn)valid_from, ?, ?, ?, ?, area_m2, properties, geom FROM \(layer.table) WHERE fid = ?
                """, arguments: [date, recordedAt, event, event, version.key])
        }
        try supersede(layer.table, version.key)
    }

    func reopen(_ layer: ArchiveLayer, version: RegisterVersion, geometry: RegisterGeometry) throws -> Double {
        let (blob, area) = try prepare(layer, geometry: geometry, id: String(version.key))
        let parcelColumn = layer == .buildings ? "parcel_id, " : ""
        try db.execute(sql: """
            INSERT INTO \(layer.table) (\(layer.idColumn), \(parcelColumn)valid_from, recorded_at, event_id, area_m2, properties, geom)
            SELECT \(layer.idColumn), \(parcelColumn)valid_from, ?, ?, ?, properties, ? FROM \(layer.table) WHERE fid = ?
            """, arguments: [recordedAt, event, area, blob, version.key])
        try supersede(layer.table, version.key)
        return area
    }

    func open(_ layer: ArchiveLayer, id: String, geometry: RegisterGeometry, properties: [String: JSONValue]?, parcel: String?) throws -> Double {
        let (blob, area) = try prepare(layer, geometry: geometry, id: id)
        var arguments: StatementArguments = [id, date, recordedAt, event, area, properties.map { JSONValue.object($0).jsonText }, blob]
        if layer == .buildings { _ = arguments.append(contentsOf: [parcel]) }
        try db.execute(sql: """
            INSERT INTO \(layer.table) (\(layer.idColumn), valid_from, recorded_at, event_id, area_m2, properties, geom\(layer == .buildings ? ", parcel_id" : ""))
            VALUES (?, ?, ?, ?, ?, ?, ?\(layer == .buildings ? ", ?" : ""))
            """, arguments: arguments)
        return area
    }

    /// The geometry as stored (a counter-clockwise MultiPolygon, SRID 4326) and its ellipsoidal area,
    /// refused when SpatiaLite finds it invalid.
    private func prepare(_ layer: ArchiveLayer, geometry: RegisterGeometry, id: String) throws -> (Data, Double) {
        let source: String
        let value: any DatabaseValueConvertible
        var known: Geometry?
        switch geometry {
        case .value(let g):
            source = "GeomFromWKB(?, 4326)"
            value = Data(g.wkb)
            known = g
        case .made(let blob):
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

    private func supersede(_ table: String, _ key: Int64) throws {
        try db.execute(sql: "UPDATE \(table) SET superseded_at = ?, superseded_by = ? WHERE \(table == "archive_rights" ? "id" : "fid") = ?",
                       arguments: [recordedAt, event, key])
    }

    func link(from parent: String, to child: String) throws {
        try db.execute(sql: "INSERT INTO archive_lineage (event_id, from_parcel, to_parcel) VALUES (?, ?, ?)", arguments: [event, parent, child])
    }

    func insertRight(parcel: String, party: String, type: RightType, share: Share, validFrom: String?) throws {
        try db.execute(sql: """
            INSERT INTO archive_rights (parcel_id, party_id, right_type, share_num, share_den, valid_from, recorded_at, event_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [parcel, party, type.rawValue, share.numerator, share.denominator, validFrom ?? date, recordedAt, event])
    }

    func closeRight(_ right: RegisterRight) throws {
        if date > right.validFrom {
            try db.execute(sql: """
                INSERT INTO archive_rights (parcel_id, party_id, right_type, share_num, share_den, valid_from, valid_to, recorded_at, event_id, ended_by)
                SELECT parcel_id, party_id, right_type, share_num, share_den, valid_from, ?, ?, ?, ? FROM archive_rights WHERE id = ?
                """, arguments: [date, recordedAt, event, event, right.key])
        }
        try supersede("archive_rights", right.key)
    }

    func supersedeRight(key: Int64) throws {
        try supersede("archive_rights", key)
    }

    func addParty(_ id: String, kind: String, name: String?) throws {
        try db.execute(sql: """
            INSERT INTO archive_parties (id, kind, name) VALUES (?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = COALESCE(archive_parties.name, excluded.name)
            """, arguments: [id, kind, name])
    }
}
