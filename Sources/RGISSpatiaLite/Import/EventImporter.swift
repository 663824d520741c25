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
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RGISError(FileManager.default.fileExists(atPath: path) ? .io : .notFound,
                            FileManager.default.fileExists(atPath: path) ? "cannot be opened for reading" : "no such file", at: path)
        }
        defer { try? handle.close() }
        var reader = CSVReader(ByteStream(fileChunks(handle)))
        let today = ISODate.today(now).text
        do {
            guard let header = try reader.next() else { throw RGISError(.invalidValue, "is empty; a header line is needed: \(ChangeHistory.columns.joined(separator: ","))") }
            guard header.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) == ChangeHistory.columns else {
                throw RGISError(.invalidValue, "line 1: the header is '\(header.fields.joined(separator: ","))'; it must be \(ChangeHistory.columns.joined(separator: ","))")
            }
            try files.checkAttached()
            return try translatingErrors {
                try pool.write { [files] db in
                    var report = EventImportReport()
                    while let row = try reader.next() {
                        report.rowsRead += 1
                        let change = try Self.change(row, today: today)
                        let exists = try db.value("SELECT count(*) > 0 FROM \(SQL(sql: change.layer.table)) WHERE id = \(change.recordID)", as: Bool.self) ?? false
                        guard exists else {
                            throw RGISError(.notFound, "line \(row.line): field record_id: no \(change.layer.rawValue) record '\(change.recordID)'")
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
            throw error.located(path)
        }
    }

    private struct Change {
        let layer: Layer
        let recordID: String
        let kind: String
        let old: String?
        let new: String?
        /// `YYYY-MM-DDThh:mm:ssZ`, as the events table writes its own times.
        let at: String
    }

    private static func change(_ row: CSVRecord, today: String) throws -> Change {
        func fail(_ field: String, _ rule: String) -> RGISError { RGISError(.invalidValue, "line \(row.line): field \(field): \(rule)") }
        guard row.fields.count == ChangeHistory.columns.count else {
            throw RGISError(.invalidValue, "line \(row.line): \(row.fields.count) fields; a change has \(ChangeHistory.columns.count) (\(ChangeHistory.columns.joined(separator: ",")))")
        }
        let f = row.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let layer = Layer(rawValue: f[0]), layer == .listings || layer == .demands else {
            throw fail("layer", "'\(f[0])' is not listings or demands")
        }
        guard !f[1].isEmpty else { throw fail("record_id", "is empty") }
        guard f[2] == "price_change" || f[2] == "status_change" else {
            throw fail("kind", "'\(f[2])' is not price_change or status_change")
        }
        let old = f[3].isEmpty ? nil : f[3], new = f[4].isEmpty ? nil : f[4]
        if f[2] == "price_change" {
            for (name, value) in [("old_value", old), ("new_value", new)] {
                if let value, !(Double(value).map { $0.isFinite && $0 >= 0 } ?? false) {
                    throw fail(name, "'\(value)' is not a price (a number, zero or more)")
                }
            }
        } else {
            let statuses = layer == .listings ? ListingStatus.allCases.map(\.rawValue) : DemandStatus.allCases.map(\.rawValue)
            for (name, value) in [("old_value", old), ("new_value", new)] {
                guard let value else { throw fail(name, "a status change names both statuses") }
                if !statuses.contains(value) { throw fail(name, "'\(value)' is not a \(layer == .listings ? "listing" : "demand") status (\(statuses.joined(separator: ", ")))") }
            }
        }
        guard let at = ISODate(parsing: f[5]) else { throw fail("at", "'\(f[5])' is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)") }
        guard at.text.prefix(10) <= today else { throw fail("at", "\(at.text) is after today; a history holds what happened") }
        return Change(layer: layer, recordID: f[1], kind: f[2], old: old, new: new,
                      at: at.text.count == 10 ? at.text + "T00:00:00Z" : at.text)
    }
}
