import Foundation
import GRDB
import GRDBSQLite
import RGISCore
import RGISStore

/// Binds one row's values to a prepared statement's named parameters by position, through SQLite's
/// C API. GRDB's arguments (a dictionary of boxed values, looked up by name for each parameter) cost
/// more than the insert itself when an import writes a million rows.
struct ParameterBinder {
    private let statement: Statement

    /// A parameter's position in the statement; 0 when the statement has none of that name.
    typealias Slot = Int32

    init(_ statement: Statement) {
        self.statement = statement
        // GRDB then takes the statement's bindings as they are set here when it executes it.
        statement.setUncheckedArguments(StatementArguments())
    }

    /// The position of `:name`.
    func slot(_ name: String) -> Slot {
        sqlite3_bind_parameter_index(statement.sqliteStatement, ":\(name)")
    }

    /// Readies the statement for the next row: reset after its last run, every parameter NULL.
    func startRow() {
        // The last run's error, if any, was thrown when it ran.
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    func bind(_ slot: Slot, _ value: FieldValue?) {
        switch value {
        case .text(let s)?: bind(slot, text: s)
        case .integer(let i)?: bind(slot, integer: i)
        case .real(let d)?: bind(slot, real: d)
        case nil: break
        }
    }

    func bind(_ slot: Slot, text: String?) {
        guard slot > 0, var text else { return }
        text.withUTF8 { bytes in
            guard let start = bytes.baseAddress, !bytes.isEmpty else {
                _ = sqlite3_bind_text(statement.sqliteStatement, slot, "", 0, SQLITE_TRANSIENT)
                return
            }
            start.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                _ = sqlite3_bind_text(statement.sqliteStatement, slot, $0, Int32(bytes.count), SQLITE_TRANSIENT)
            }
        }
    }

    func bind(_ slot: Slot, integer: Int64?) {
        guard slot > 0, let integer else { return }
        sqlite3_bind_int64(statement.sqliteStatement, slot, integer)
    }

    func bind(_ slot: Slot, real: Double?) {
        guard slot > 0, let real else { return }
        sqlite3_bind_double(statement.sqliteStatement, slot, real)
    }

    func bind(_ slot: Slot, blob: Data?) {
        guard slot > 0, let blob else { return }
        blob.withUnsafeBytes { bytes in
            // An empty blob is still a blob (not NULL): SQLite needs a pointer for it.
            _ = sqlite3_bind_blob(statement.sqliteStatement, slot, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), SQLITE_TRANSIENT)
        }
    }
}

/// SQLite copies the value before the bind call returns.
private let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
