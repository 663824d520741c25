import Foundation
import GRDB
import RGISCore
import RGISFiles
import RGISStore

extension RGISDatabase {
    /// Imports dated price and status changes of stored listings and demands (a market's history, from
    /// another system or the demo city) from CSV with the header ``ChangeHistory/columns``, in one transaction:
    /// the first bad row stops it, naming the line and the rule, and nothing is stored.
    ///
    /// They join the change events as history (`events.from_history`): the series read them, the
    /// notifier does not push them (they happened before anyone could be told).
    public func importEvents(from path: String, now: Date = Date()) throws -> EventImportReport {
        try refuseOwnFile(path, as: "import from")
        return try importEvents(from: try HistoryFiles.changes(path, now: now))
    }

    /// Imports what `input` reads; stops it when done (also on failure).
    public func importEvents(from input: ChangeInput) throws -> EventImportReport {
        defer { input.stop() }
        if let path = input.path { try refuseOwnFile(path, as: "import from") }
        do {
            try files.checkAttached()
            return try translatingErrors {
                try pool.write { [files] db in
                    var report = EventImportReport()
                    while let change = try input.next() {
                        report.rowsRead += 1
                        let exists = try db.value("SELECT count(*) > 0 FROM \(SQL(sql: change.layer.table)) WHERE id = \(change.recordID)", as: Bool.self) ?? false
                        guard exists else {
                            throw RGISError(.notFound, "\(change.location): field record_id: no \(change.layer.rawValue) record '\(change.recordID)'")
                        }
                        let known = try db.value("""
                            SELECT count(*) > 0 FROM events WHERE layer = \(change.layer.table) AND record_id = \(change.recordID)
                              AND kind = \(change.kind) AND old_value IS \(change.old) AND new_value IS \(change.new) AND at = \(change.at)
                            """, as: Bool.self) ?? false
                        if known { report.alreadyRecorded += 1; continue }
                        try db.execute(literal: """
                            INSERT INTO events (layer, record_id, kind, old_value, new_value, at, from_history)
                            VALUES (\(change.layer.table), \(change.recordID), \(change.kind), \(change.old), \(change.new), \(change.at), 1)
                            """)
                        report.recorded += 1
                    }
                    guard report.rowsRead > 0 else { throw RGISError(.invalidValue, "holds no changes below its header; nothing was imported") }
                    try files.checkAttached()
                    return report
                }
            }
        } catch let error as RGISError {
            throw error.located(input.name)
        }
    }
}
