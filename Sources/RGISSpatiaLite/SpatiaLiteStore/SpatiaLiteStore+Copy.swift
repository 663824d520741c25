import Foundation
import GRDB
import RGISCore
import RGISStore

/// A copy out of or into the file (``StoreCopying``). Reads walk each table by rowid in one snapshot
/// (a connection of its own holding one read transaction); loads insert through the file's own
/// triggers, which place, index and count every row as an ordinary write would.
extension SpatiaLiteStore {
    public func readCopy(batchRows: Int, _ receive: (CopiedBatch) async throws -> Void) async throws {
        let snapshot = try database.translatingErrors { try database.pool.makeSnapshot() }
        for table in CopiedTable.all {
            let sql = "SELECT rowid, \(table.columns.map(Self.readExpression).joined(separator: ", ")) FROM \(table.name) WHERE rowid > ? ORDER BY rowid LIMIT \(batchRows)"
            var after: Int64 = .min
            var sentOne = false
            while true {
                let (rows, last) = try await snapshot.read { [after] db -> ([[CopiedValue]], Int64?) in
                    var rows: [[CopiedValue]] = []
                    var last: Int64?
                    let cursor = try Row.fetchCursor(db, sql: sql, arguments: [after])
                    while let row = try cursor.next() {
                        last = row[0]
                        rows.append((1..<row.count).map { index -> CopiedValue in Self.copied(row[index] as DatabaseValue) })
                    }
                    return (rows, last)
                }
                if !rows.isEmpty || !sentOne { try await receive(CopiedBatch(table: table, rows: rows, isFirst: !sentOne)) }
                sentOne = true
                guard let last, rows.count == batchRows else { break }
                after = last
            }
        }
    }

    public func loadCopy(_ feed: (_ write: (CopiedBatch) async throws -> Void) async throws -> Void) async throws {
        let held = try await copiedCounts().filter { name, count in
            count > 0 && CopiedTable.all.contains { $0.name == name && !$0.replacesInitial }
        }
        if let table = held.keys.sorted().first {
            throw RGISError(.conflict, "holds records (\(held[table]!) in \(table)); copy into a new or empty store", at: location)
        }
        try await feed { batch in
            let table = batch.table
            let columns = table.columns.map(\.name).joined(separator: ", ")
            let values = table.columns.map(Self.writeExpression).joined(separator: ", ")
            let sql = "INSERT INTO \(table.name) (\(columns)) VALUES (\(values))"
            try await write { db in
                if table.replacesInitial, batch.isFirst {
                    try db.execute(sql: "DELETE FROM \(table.name)")
                }
                let statement = try db.cachedStatement(sql: sql)
                for row in batch.rows {
                    try statement.execute(arguments: StatementArguments(row.map(\.databaseValue)))
                }
            }
        }
    }

    public func copiedCounts() async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for table in CopiedTable.all {
                counts[table.name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0
            }
            return counts
        }
    }

    private static func readExpression(_ column: CopiedColumn) -> String {
        if case .geometry = column.kind { return "AsBinary(\(column.name))" }
        return column.name
    }

    private static func writeExpression(_ column: CopiedColumn) -> String {
        switch column.kind {
        case .geometry(multi: true): return "CastToMultiPolygon(GeomFromWKB(?, 4326))"
        case .geometry(multi: false): return "GeomFromWKB(?, 4326)"
        default: return "?"
        }
    }

    private static func copied(_ value: DatabaseValue) -> CopiedValue {
        switch value.storage {
        case .null: return .null
        case .int64(let integer): return .integer(integer)
        case .double(let real): return .real(real)
        case .string(let text): return .text(text)
        case .blob(let data): return .bytes(data)
        }
    }
}

extension CopiedValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let integer): return integer.databaseValue
        case .real(let real): return real.databaseValue
        case .text(let text): return text.databaseValue
        case .bytes(let data): return data.databaseValue
        }
    }
}
