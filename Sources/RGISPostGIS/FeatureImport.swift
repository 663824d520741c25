import Foundation
import NIOCore
import PostgresNIO
import RGISCore
import RGISStore

/// A bulk import into PostGIS, in one transaction: the rows stream into a temporary table through
/// `COPY … FROM STDIN` (text format), the stored geometries are made and checked there by PostGIS
/// (validity, transforms, a demand's circle), rows that break a rule are refused with their place in
/// the file (or skipped and reported), then the rows go into the layer in file order with their change
/// events, private fields and clients. Into an empty layer the GiST indexes are dropped and built once
/// after the load. Killed part-way, the transaction is rolled back whole.
struct FeatureImport {
    let options: ImportOptions
    var layer: Layer { options.layer }
    /// Where each row came from, by its number (0-based), for messages.
    private(set) var locations: [String] = []
    /// The first row the files module refused, when not skipping: reading stops there.
    private(set) var readFailure: (n: Int, error: RGISError)?
    private(set) var clients: [RecordRules.DemandClient] = []
    var report = ImportReport()

    static let privateColumns = ListingPrivateFields.names

    init(options: ImportOptions) { self.options = options }

    /// The staging table's columns after `n`, `id`: the layer's fields, `extra`, the geometry's WKB,
    /// a demand's circle radius (when its geometry is a centre) and a listing's private fields.
    var stagingColumns: [String] {
        ["n", "id"] + layer.fields.map(\.name) + ["extra", "wkb", "circle_m"] + (layer == .listings ? Self.privateColumns : [])
    }

    func stagingTable() -> String {
        let typed = layer.fields.map { field -> String in
            switch field.kind {
            case .integer: "\(field.name) bigint"
            case .real: "\(field.name) double precision"
            case .text, .date, .oneOf, .listOf: "\(field.name) text"
            }
        }
        let columns = ["n integer", "id text"] + typed + ["extra text", "wkb bytea", "circle_m double precision"]
            + (layer == .listings ? Self.privateColumns.map { "\($0) text" } : [])
        return "CREATE TEMP TABLE import_rows (\(columns.joined(separator: ", "))) ON COMMIT DROP"
    }

    /// Reads the input into COPY lines, flushing about every megabyte.
    mutating func stream(_ input: FeatureInput, to writer: PostgresCopyFromWriter, progress: ((ImportProgress) -> Void)?) async throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
        var line = ""
        while let row = try input.next() {
            report.rowsRead += 1
            let n = locations.count
            locations.append(row.location)
            do {
                var record = try row.record.get()
                let privateFields = layer == .listings ? try RecordRules.privateFields(of: &record) : ListingPrivateFields()
                if layer == .demands, let client = try RecordRules.client(of: &record) { clients.append(client) }
                line.removeAll(keepingCapacity: true)
                encode(n: n, record: record, privateFields: privateFields, into: &line)
                buffer.writeString(line)
            } catch let error as RGISError {
                guard options.skipInvalid else {
                    readFailure = (n, error)
                    break
                }
                report.reject(row.location, error.reason)
            }
            if buffer.readableBytes >= 1 << 20 {
                try await writer.write(buffer)
                buffer.clear()
            }
            if report.rowsRead % 2000 == 0 {
                progress?(ImportProgress(rowsRead: report.rowsRead, bytesRead: input.bytesRead, totalBytes: input.totalBytes))
            }
        }
        if buffer.readableBytes > 0 { try await writer.write(buffer) }
    }

    /// One COPY text line: tab-separated, `\N` for NULL, backslash escapes.
    private func encode(n: Int, record: LayerRecord, privateFields: ListingPrivateFields, into line: inout String) {
        var first = true
        func put(_ text: String?) {
            if !first { line += "\t" }
            first = false
            guard let text else { line += "\\N"; return }
            for c in text.unicodeScalars {
                switch c {
                case "\\": line += "\\\\"
                case "\t": line += "\\t"
                case "\n": line += "\\n"
                case "\r": line += "\\r"
                default: line.unicodeScalars.append(c)
                }
            }
        }
        put(String(n))
        put(record.id)
        for field in layer.fields {
            switch record.values[field.name] {
            case .text(let s)?: put(s)
            case .integer(let i)?: put(String(i))
            case .real(let d)?: put(String(d))
            case nil: put(nil)
            }
        }
        put(record.extra.isEmpty ? nil : JSONValue.object(record.extra).jsonText)
        // bytea in COPY text: `\x` + hex, its backslash escaped.
        if !first { line += "\t" }
        line += "\\\\x"
        for byte in record.geometry.wkb {
            line += Self.hex[Int(byte >> 4)]
            line += Self.hex[Int(byte & 15)]
        }
        var circle: String?
        if layer == .demands, record.geometry.kind == .point, case .real(let radius)? = record.values["radius_m"] { circle = String(radius) }
        put(circle)
        if layer == .listings { for name in Self.privateColumns { put(privateFields.values[name]) } }
        line += "\n"
    }

    private static let hex = (0..<16).map { String($0, radix: 16) }

    /// The stored geometry made from a staging row `s` (the column's type, EPSG:4326, rings
    /// counter-clockwise; a demand's centre buffered by its radius in its UTM zone, 16 segments a quarter).
    var geometryExpression: String {
        let srid = options.sourceSRID.code
        let read = srid == 4326 ? "ST_GeomFromWKB(s.wkb, 4326)" : "ST_Transform(ST_GeomFromWKB(s.wkb, \(srid)), 4326)"
        switch layer {
        case .listings:
            return read
        case .demands:
            let centre = read
            return """
                CASE WHEN s.circle_m IS NOT NULL THEN ST_Multi(ST_ForcePolygonCCW(ST_Transform(ST_Buffer(ST_Transform(\(centre),
                    (CASE WHEN ST_Y(\(centre)) >= 0 THEN 32600 ELSE 32700 END) + LEAST(60, GREATEST(1, floor((ST_X(\(centre)) + 180) / 6)::int + 1))),
                    s.circle_m, 16), 4326))) ELSE ST_Multi(ST_ForcePolygonCCW(\(read))) END
                """
        case .parcels, .buildings, .districts:
            return "ST_Multi(ST_ForcePolygonCCW(\(read)))"
        }
    }

    /// What the rows broke, found in the staging table: invalid or untransformable geometry, an id
    /// twice in the file or already in the layer. (row number, reason), in file order.
    func problems(_ session: Session) async throws -> [(n: Int, reason: String)] {
        let table = layer.table
        var found: [(Int, String)] = []
        let outOfRange = options.sourceSRID.isGeographicWGS84 ? "" : """
             WHEN ST_XMin(geom) < -180 OR ST_XMax(geom) > 180 OR ST_YMin(geom) < -90 OR ST_YMax(geom) > 90
               THEN 'coordinates transformed from \(options.sourceSRID) fall outside lon/lat range; is --srid right?'
            """
        let geometryCheck = layer == .listings && options.sourceSRID.isGeographicWGS84 ? "" : """
            SELECT n, CASE WHEN geom IS NULL THEN 'geometry could not be read by PostGIS'\(outOfRange)
                           WHEN NOT ST_IsValid(geom) THEN 'geometry is not valid: ' || ST_IsValidReason(geom) END
            FROM import_shaped WHERE geom IS NULL OR NOT ST_IsValid(geom)\(outOfRange.isEmpty ? "" : " OR ST_XMin(geom) < -180 OR ST_XMax(geom) > 180 OR ST_YMin(geom) < -90 OR ST_YMax(geom) > 90")
            UNION ALL
            """
        let duplicate = "'duplicate id ''' || id || ''': \(layer) already holds it (earlier in this file or in the database); pass --upsert to replace'"
        let rows = try await session.rows(SQLText("""
            SELECT n, reason FROM (
            \(geometryCheck)
            SELECT n, \(duplicate) FROM (SELECT n, id, row_number() OVER (PARTITION BY id ORDER BY n) AS k FROM import_rows WHERE id IS NOT NULL) d WHERE k > 1
            UNION ALL
            SELECT s.n, \(duplicate.replacingOccurrences(of: "|| id ||", with: "|| s.id ||")) FROM import_rows s JOIN \(table) t ON t.id = s.id
            ) p(n, reason) ORDER BY n
            """))
        for row in rows { found.append((Int(try row[0].decode(Int32.self)), try row[1].decode(String.self))) }
        return found
    }

    func location(_ n: Int) -> String { locations[n] }
}
