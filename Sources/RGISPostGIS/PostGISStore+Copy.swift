import Foundation
import NIOCore
import PostgresNIO
import RGISCore
import RGISStore

/// A copy out of or into the database (``StoreCopying``). Reads stream each table from one
/// `REPEATABLE READ` snapshot; a load is one transaction (killed part-way, nothing of it stays), its
/// rows placed, stamped and counted by the tables' own triggers, the sequences moved past the ids
/// copied at the end.
extension PostGISStore {
    public func readCopy(batchRows: Int, _ receive: (CopiedBatch) async throws -> Void) async throws {
        try await read { session in
            for table in CopiedTable.all {
                let columns = table.columns.map(Self.readExpression).joined(separator: ", ")
                let q = SQLText("SELECT \(columns) FROM \(table.name) ORDER BY \(table.order)")
                var rows: [[CopiedValue]] = []
                var sentOne = false
                let sequence = try await translating { try await session.connection.query(q.query, logger: session.logger) }
                for try await row in sequence {
                    let cells = row.makeRandomAccess()
                    rows.append(try translating { try table.columns.indices.map { try Self.copied(cells[$0], table.columns[$0].kind) } })
                    if rows.count == batchRows {
                        try await receive(CopiedBatch(table: table, rows: rows, isFirst: !sentOne))
                        sentOne = true
                        rows.removeAll(keepingCapacity: true)
                    }
                }
                if !rows.isEmpty || !sentOne { try await receive(CopiedBatch(table: table, rows: rows, isFirst: !sentOne)) }
            }
        }
    }

    public func loadCopy(_ feed: (_ write: (CopiedBatch) async throws -> Void) async throws -> Void) async throws {
        try await transaction { session in
            for table in CopiedTable.all where !table.replacesInitial {
                let held = try await session.int(SQLText("SELECT count(*) FROM \(table.name)"))
                if held > 0 {
                    throw RGISError(.conflict, "holds records (\(held) in \(table.name)); copy into a new or empty database", at: location)
                }
            }
            try await feed { batch in
                let table = batch.table
                if table.replacesInitial, batch.isFirst { try await session.run(SQLText("DELETE FROM \(table.name)")) }
                // PostgreSQL binds at most 65,535 values per statement.
                let rowsPerStatement = max(1, 30_000 / table.columns.count)
                var start = 0
                while start < batch.rows.count {
                    let end = min(batch.rows.count, start + rowsPerStatement)
                    try await session.run(Self.insert(table, batch.rows[start..<end]))
                    start = end
                }
            }
            for table in CopiedTable.all {
                guard let column = table.numbered else { continue }
                try await session.run(SQLText("""
                    SELECT setval(pg_get_serial_sequence('\(table.name)', '\(column)'), COALESCE(max(\(column)), 0) + 1, false)
                    FROM \(table.name)
                    """))
            }
        }
    }

    public func copiedCounts() async throws -> [String: Int] {
        try await read { session in
            var counts: [String: Int] = [:]
            for table in CopiedTable.all {
                counts[table.name] = try await session.int(SQLText("SELECT count(*) FROM \(table.name)"))
            }
            return counts
        }
    }

    /// One multi-row INSERT, each value bound and converted to the column's own type by the server.
    private static func insert(_ table: CopiedTable, _ rows: ArraySlice<[CopiedValue]>) -> SQLText {
        var q = SQLText("INSERT INTO \(table.name) (\(table.columns.map(\.name).joined(separator: ", "))) VALUES ")
        for (index, row) in rows.enumerated() {
            q.sql(index == 0 ? "(" : ", (")
            for (position, column) in table.columns.enumerated() {
                if position > 0 { q.sql(", ") }
                bind(row[position], as: column.kind, into: &q)
            }
            q.sql(")")
        }
        return q
    }

    private static func bind(_ value: CopiedValue, as kind: CopiedKind, into q: inout SQLText) {
        let (head, tail): (String, String)
        switch kind {
        case .integer, .real, .text, .bytes, .flag: (head, tail) = ("", "")
        case .time: (head, tail) = ("", "::timestamptz")
        case .jsonString: (head, tail) = ("to_jsonb(", "::text)")
        case .textList: (head, tail) = ("ARRAY(SELECT jsonb_array_elements_text(", "::jsonb))")
        case .geometry(let multi): (head, tail) = multi ? ("ST_Multi(ST_GeomFromWKB(", ", 4326))") : ("ST_GeomFromWKB(", ", 4326)")
        }
        q.sql(head)
        switch (value, kind) {
        case (.null, _): q.bind(Optional<String>.none)
        case (.integer(let integer), .flag): q.bind(integer != 0)
        case (.integer(let integer), _): q.bind(integer)
        case (.real(let real), _): q.bind(real)
        case (.text(let text), _): q.bind(text)
        case (.bytes(let data), _): q.bind(ByteBuffer(bytes: data))
        }
        q.sql(tail)
    }

    private static func readExpression(_ column: CopiedColumn) -> String {
        let name = column.name
        switch column.kind {
        case .integer: return "\(name)::bigint"
        case .real: return "\(name)::float8"
        case .text: return "\(name)::text"
        case .flag: return "(\(name)::int)::bigint"
        case .time: return "to_char(\(name) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        case .jsonString: return "\(name) #>> '{}'"
        case .textList: return "to_json(\(name))::text"
        case .geometry: return "ST_AsBinary(\(name))"
        case .bytes: return name
        }
    }

    private static func copied(_ cell: PostgresCell, _ kind: CopiedKind) throws -> CopiedValue {
        switch kind {
        case .integer, .flag: return try cell.decode(Int64?.self).map(CopiedValue.integer) ?? .null
        case .real: return try cell.decode(Double?.self).map(CopiedValue.real) ?? .null
        case .text, .time, .jsonString, .textList: return try cell.decode(String?.self).map(CopiedValue.text) ?? .null
        case .geometry, .bytes: return try cell.decode(Data?.self).map(CopiedValue.bytes) ?? .null
        }
    }
}

extension PostGISStore {
    /// Whether two locations name one database (the same server and database, whoever connects).
    public static func sameDatabase(_ a: String, _ b: String) throws -> Bool {
        let left = try PostgresLocation(parsing: a), right = try PostgresLocation(parsing: b)
        let loopback: Set<String> = ["localhost", "127.0.0.1", "::1"]
        func host(_ name: String) -> String { loopback.contains(name) ? "loopback" : name.lowercased() }
        return host(left.host) == host(right.host) && left.port == right.port && left.database == right.database
    }
}
