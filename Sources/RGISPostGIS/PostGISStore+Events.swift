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
