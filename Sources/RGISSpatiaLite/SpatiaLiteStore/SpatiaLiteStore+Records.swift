import Foundation
import GRDB
import RGISCore
import RGISStore

extension SpatiaLiteStore: RecordStore {
    public func record(_ kind: RecordKind, id: String) async throws -> StoredRecord {
        try await read { db in try RecordTables(db).load(kind, id: id) }
    }

    public func clients(agent: String?, limit: Int, after: String?) async throws -> [StoredRecord] {
        try await read { db in
            var sql: SQL = "SELECT id FROM clients WHERE 1"
            if let agent { sql += " AND agent = \(agent)" }
            if let after { sql += " AND id > \(after)" }
            sql += " ORDER BY id LIMIT \(limit)"
            let tables = try RecordTables(db)
            return try db.values(sql, as: String.self).map { try tables.load(.client, id: $0) }
        }
    }

    public func demands(client: String) async throws -> [StoredRecord] {
        try await read { db in
            let tables = try RecordTables(db)
            _ = try tables.load(.client, id: client)
            return try db.values("SELECT id FROM demands WHERE client_id = \(client) ORDER BY fid", as: String.self)
                .map { try tables.load(.demand, id: $0) }
        }
    }

    public func create(_ kind: RecordKind, _ body: JSONValue, owner: String?, client: String?, idempotency: IdempotencyKey?) async throws -> WriteResult {
        try await write { db in
            if let key = idempotency, let row = try db.row("""
                SELECT endpoint, body_sha256, record_id FROM idempotency_keys WHERE user_name = \(key.user) AND key = \(key.key)
                """) {
                // The record as it is now: what was erased since (a client's contact data) stays erased.
                let now = try RecordWriteRules.replay(key, storedEndpoint: row[0], storedBodySHA256: row[1],
                                                      record: try RecordTables(db).find(kind, id: row[2]), owner: owner)
                return WriteResult(id: now.id, etag: now.etag, json: now.wholeJSON, replayed: true)
            }
            let tables = try RecordTables(db)
            let id = try tables.write(kind, body, id: nil, owner: owner, client: client)
            let record = try tables.load(kind, id: id)
            let json = record.wholeJSON
            if let key = idempotency {
                try db.execute(literal: """
                    INSERT INTO idempotency_keys (user_name, key, endpoint, body_sha256, record_id, etag, response, created_at)
                    VALUES (\(key.user), \(key.key), \(key.endpoint), \(key.bodySHA256), \(id), \(record.etag), '', \(Timestamp.text(Date())))
                    """)
            }
            return WriteResult(id: id, etag: record.etag, json: json, replayed: false)
        }
    }

    public func change(_ kind: RecordKind, id: String, _ change: RecordChange, condition: WriteCondition) async throws -> StoredRecord {
        try await write { db in
            let tables = try RecordTables(db)
            let current = try tables.load(kind, id: id)
            try RecordWriteRules.check(condition, current)
            let body: JSONValue = switch change {
            case .replace(let whole): whole
            case .mergePatch(let patch): current.wholeJSON.mergePatched(with: patch)
            }
            _ = try tables.write(kind, body, id: id, owner: condition.owner, client: current.clientID, current: current)
            return try tables.load(kind, id: id)
        }
    }

    public func delete(_ kind: RecordKind, id: String, condition: WriteCondition) async throws {
        try await write { db in
            let tables = try RecordTables(db)
            let current = try tables.load(kind, id: id)
            try RecordWriteRules.check(condition, current)
            switch kind {
            case .listing: try tables.withdraw(.listings, id: id)
            case .demand: try tables.withdraw(.demands, id: id)
            case .client:
                for demand in try db.values("SELECT id FROM demands WHERE client_id = \(id)", as: String.self) {
                    try tables.withdraw(.demands, id: demand)
                }
                try db.execute(literal: "DELETE FROM clients WHERE id = \(id)")
            }
            if kind == .client { try tables.forgetResponses(.client, id: id) }
        }
    }

    public func events(_ layer: Layer, id: String) async throws -> [RecordEvent] {
        try await read { db in
            try db.rows("SELECT id, kind, old_value, new_value, at FROM events WHERE layer = \(layer.table) AND record_id = \(id) ORDER BY id").map { row in
                func value(_ i: Int) -> FieldValue? {
                    switch (row[i] as DatabaseValue).storage {
                    case .int64(let v): .integer(v)
                    case .double(let v): .real(v)
                    case .string(let v): .text(v)
                    case .null, .blob: nil
                    }
                }
                guard let kind = RecordRules.ChangeEvent.Kind(rawValue: row[1]) else {
                    throw RGISError(.database, "event \(row[0] as Int64) of \(layer.rawValue) '\(id)' has an unknown kind '\(row[1] as String)'")
                }
                return RecordEvent(id: row[0], kind: kind, oldValue: value(2), newValue: value(3), at: row[4])
            }
        }
    }
}

/// Reads and writes of single records on one connection, inside the caller's transaction.
struct RecordTables {
    let db: Database
    private let etagKey: Data

    init(_ db: Database) throws {
        self.db = db
        etagKey = try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM store_secrets WHERE name = 'etag'")) ?? Data()
    }

    func load(_ kind: RecordKind, id: String) throws -> StoredRecord {
        guard let record = try find(kind, id: id) else {
            throw RGISError(.notFound, "no \(kind.rawValue) '\(id)'", at: kind.idParameter)
        }
        return record
    }

    func find(_ kind: RecordKind, id: String) throws -> StoredRecord? {
        let publicJSON: JSONValue, privateMembers: [String: JSONValue], agent: String?, clientID: String?
        switch kind {
        case .listing, .demand:
            let layer = kind.layer!
            // A listing's private fields come in the same statement, after the feature's columns.
            let privateColumns: SQL = kind == .listing
                ? ", p.private_remarks, p.showing_contact_phone, p.seller_contact FROM listings t LEFT JOIN listing_private p ON p.listing_id = t.id"
                : " FROM \(sql: layer.table) t"
            guard let row = try db.row("SELECT \(StoredFeature.selection(layer))\(privateColumns) WHERE t.id = \(id)", cached: true) else { return nil }
            let feature = StoredFeature(row: row, layer: layer)
            var text = ""
            feature.write(to: &text)
            publicJSON = try JSONValue.parse(Array(text.utf8))
            agent = feature.properties["agent"]?.stringValue
            clientID = feature.properties["client_id"]?.stringValue
            var members: [String: JSONValue] = [:]
            if kind == .listing {
                let first = StoredFeature.columnCount(layer)
                for (i, name) in ListingPrivateFields.names.enumerated() { if let v: String = row[first + i] { members[name] = .string(v) } }
            }
            privateMembers = members
        case .client:
            guard let row = try db.row("""
                SELECT c.id, c.agent, c.age_band, c.household, c.income_band, c.lifecycle_stage, c.created_at, k.name, k.phone, k.email
                FROM clients c LEFT JOIN client_contacts k ON k.client_id = c.id WHERE c.id = \(id)
                """, cached: true) else { return nil }
            var segment: [String: String] = [:]
            for (i, key) in ["age_band", "household", "income_band"].enumerated() { if let v: String = row[2 + i] { segment[key] = v } }
            var contact: [String: String] = [:]
            for (i, key) in ["name", "phone", "email"].enumerated() { if let v: String = row[7 + i] { contact[key] = v } }
            let client = ClientRecord(id: row[0], agent: row[1], segment: segment, lifecycleStage: row[5], createdAt: row[6], contact: contact)
            publicJSON = client.json(withContact: false)
            privateMembers = ["contact": .object(contact.mapValues(JSONValue.string))]
            agent = client.agent
            clientID = nil
        }
        return StoredRecord(kind: kind, id: id, agent: agent, clientID: clientID, publicJSON: publicJSON, privateMembers: privateMembers,
                            signedWith: etagKey)
    }

    /// Writes one record by the import's rules; `current` is nil for a new one. Returns its id.
    func write(_ kind: RecordKind, _ body: JSONValue, id: String?, owner: String?, client: String?, current: StoredRecord? = nil) throws -> String {
        switch kind {
        case .client: return try writeClient(body, id: id, owner: owner)
        case .listing, .demand: return try writeFeature(kind.layer!, body, id: id, owner: owner, client: client, current: current)
        }
    }

    private func writeFeature(_ layer: Layer, _ body: JSONValue, id: String?, owner: String?, client: String?, current: StoredRecord?) throws -> String {
        var record: LayerRecord
        do {
            record = try LayerRecordBuilder(layer: layer).record(fromFeature: body)
        } catch let error as RGISError {
            throw error.location == nil ? error.located("body") : error
        }
        record.id = try RecordWriteRules.identify(given: record.id, url: id)
        // The client's owner, read in this transaction: a client moved since the caller looked is refused.
        let clientAgent = try client.map { (id: $0, agent: try db.value("SELECT agent FROM clients WHERE id = \($0)", as: String.self)) }
        try RecordWriteRules.prepare(&record, layer, owner: owner, client: clientAgent, current: current)
        if current == nil { record.id = try newID(layer.table, given: record.id, prefix: layer.generatedIDPrefix) }
        var options = ImportOptions(layer: layer)
        options.upsert = true
        var writer = try LayerWriter(db: db, options: options)
        do {
            _ = try writer.write(record)
        } catch let error as RGISError {
            throw error.location == nil ? error.located("body") : error
        }
        return writer.lastStoredID ?? record.id!
    }

    private func writeClient(_ body: JSONValue, id: String?, owner: String?) throws -> String {
        var client = try ClientRecord(json: body, agent: owner)
        client.id = try RecordWriteRules.identify(given: client.id, url: id)
        if id == nil {
            client.id = try newID("clients", given: client.id, prefix: "client-")
            if client.createdAt == nil { client.createdAt = String(Timestamp.text(Date()).prefix(10)) }
        }
        let clientID = client.id!
        do {
            try db.execute(literal: """
                INSERT INTO clients (id, agent, age_band, household, income_band, lifecycle_stage, created_at)
                VALUES (\(clientID), \(client.agent), \(client.segment["age_band"]), \(client.segment["household"]), \(client.segment["income_band"]),
                        \(client.lifecycleStage), \(client.createdAt))
                ON CONFLICT(id) DO UPDATE SET agent = excluded.agent, age_band = excluded.age_band, household = excluded.household,
                    income_band = excluded.income_band, lifecycle_stage = excluded.lifecycle_stage,
                    created_at = COALESCE(excluded.created_at, clients.created_at)
                """)
            // A client's demands carry its agent: they move with it.
            try db.execute(literal: "UPDATE demands SET agent = \(client.agent) WHERE client_id = \(clientID) AND agent IS NOT \(client.agent)")
            try db.execute(literal: "DELETE FROM client_contacts WHERE client_id = \(clientID)")
            if !client.contact.isEmpty {
                try db.execute(literal: """
                    INSERT INTO client_contacts (client_id, name, phone, email) VALUES (\(clientID), \(client.contact["name"]), \(client.contact["phone"]), \(client.contact["email"]))
                    """)
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw RGISError(.invalidValue, "refused by the schema: \(error.message ?? "constraint failed")", at: "body")
        }
        return clientID
    }

    /// A new record's id: the one given (`.conflict` when taken), else the next free `prefix` number.
    /// An id is never reused: a withdrawn listing's or demand's id stays taken, so that its history
    /// (`events`) never passes to a new record of someone else.
    private func newID(_ table: String, given: String?, prefix: String) throws -> String {
        func taken(_ id: String) throws -> Bool {
            try db.value("SELECT count(*) FROM \(sql: table) WHERE id = \(id)", as: Int.self) ?? 0 > 0
                || db.value("SELECT count(*) FROM events WHERE layer = \(table) AND record_id = \(id)", as: Int.self) ?? 0 > 0
        }
        if let given {
            if try taken(given) { throw RGISError(.conflict, "id '\(given)' is taken (by a record or a withdrawn one's history); PUT to its URL to replace a live record", at: "field id") }
            return given
        }
        var n = (try db.value("SELECT COALESCE(MAX(fid), 0) + 1 FROM \(sql: table)", as: Int64.self)) ?? 1
        while try taken("\(prefix)\(n)") { n += 1 }
        return "\(prefix)\(n)"
    }

    /// Deletes a listing or demand and logs `withdrawn` with its last status.
    func withdraw(_ layer: Layer, id: String) throws {
        let status = try db.value("SELECT status FROM \(sql: layer.table) WHERE id = \(id)", as: String.self)
        try db.execute(literal: "DELETE FROM \(sql: layer.table) WHERE id = \(id)")
        try db.execute(literal: "INSERT INTO events (layer, record_id, kind, old_value) VALUES (\(layer.table), \(id), 'withdrawn', \(status))")
        try forgetResponses(layer == .listings ? .listing : .demand, id: id)
    }

    /// A key names the record it made: it goes when the record goes (a later replay is a conflict).
    func forgetResponses(_ kind: RecordKind, id: String) throws {
        let endpoint: SQL = switch kind {
        case .listing: "endpoint = '/collections/listings/items'"
        case .client: "endpoint = '/clients'"
        case .demand: "endpoint LIKE '/clients/%/demands'"
        }
        try db.execute(literal: "DELETE FROM idempotency_keys WHERE record_id = \(id) AND \(endpoint)")
    }
}
