import PostgresNIO
import RGISCore
import RGISStore

/// A record's change events.
extension PostGISStore {
    public func events(_ layer: Layer, id: String) async throws -> [RecordEvent] {
        var q = SQLText("SELECT id, kind, old_value::text, new_value::text, at FROM events WHERE layer = ")
        q.bind(layer.table)
        q.sql(" AND record_id = ")
        q.bind(id)
        q.sql(" ORDER BY id")
        let rows = try await rows(q)
        return try translating {
            try rows.map { row in
                let eventID = try row[0].decode(Int64.self)
                let kindText = try row[1].decode(String.self)
                guard let kind = RecordRules.ChangeEvent.Kind(rawValue: kindText) else {
                    throw RGISError(.database, "event \(eventID) of \(layer.rawValue) '\(id)' has an unknown kind '\(kindText)'")
                }
                return RecordEvent(id: eventID, kind: kind, oldValue: try Self.fieldValue(row[2].decode(String?.self)),
                                   newValue: try Self.fieldValue(row[3].decode(String?.self)), at: try row[4].decode(String.self))
            }
        }
    }

    /// An event's value from its JSON: a whole number, a number or text, as it was written.
    static func fieldValue(_ json: String?) throws -> FieldValue? {
        guard let json else { return nil }
        switch try JSONValue.parse(Array(json.utf8)) {
        case .string(let s): return .text(s)
        case .int(let i): return .integer(i)
        case .double(let d): return .real(d)
        default: return .text(json)
        }
    }
}

/// Dated changes from a market's history.
extension PostGISStore {
    /// In one transaction: the first bad row stops it, naming the line and the rule, and nothing is
    /// stored. They join the change events as history (`from_history`), values as JSON text as read;
    /// a change already recorded (same record, kind, values and time) is counted, not written again.
    public func importEvents(from input: ChangeInput) async throws -> EventImportReport {
        defer { input.stop() }
        do {
            return try await transaction { session in
                var report = EventImportReport()
                while let change = try input.next() {
                    report.rowsRead += 1
                    var exists = SQLText("SELECT EXISTS (SELECT 1 FROM \(change.layer.table) WHERE id = ")
                    exists.bind(change.recordID)
                    exists.sql(")")
                    guard try await session.rows(exists)[0][0].decode(Bool.self) else {
                        throw RGISError(.notFound, "\(change.location): field record_id: no \(change.layer.rawValue) record '\(change.recordID)'")
                    }
                    var q = SQLText("INSERT INTO events (layer, record_id, kind, old_value, new_value, at, from_history) SELECT ")
                    q.bind(change.layer.table)
                    q.sql(", ")
                    q.bind(change.recordID)
                    q.sql(", ")
                    q.bind(change.kind)
                    q.sql(", to_jsonb(")
                    q.bind(change.old)
                    q.sql("::text), to_jsonb(")
                    q.bind(change.new)
                    q.sql("::text), ")
                    q.bind(change.at)
                    q.sql(", true WHERE NOT EXISTS (SELECT 1 FROM events WHERE layer = $1 AND record_id = $2 AND kind = $3")
                    q.sql(" AND old_value IS NOT DISTINCT FROM to_jsonb($4::text) AND new_value IS NOT DISTINCT FROM to_jsonb($5::text) AND at = $6) RETURNING 1")
                    if try await session.rows(q).isEmpty { report.alreadyRecorded += 1 } else { report.recorded += 1 }
                }
                guard report.rowsRead > 0 else { throw RGISError(.invalidValue, "holds no changes below its header; nothing was imported") }
                return report
            }
        } catch let error as RGISError {
            throw error.located(input.name)
        }
    }
}
