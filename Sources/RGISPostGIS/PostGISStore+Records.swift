import Foundation
import NIOCore
import PostgresNIO
import RGISCore
import RGISStore

/// Listings, clients and demands one at a time. A change or delete locks the record's row first
/// (`SELECT … FOR UPDATE`), so that of two writers holding one ETag the second reads the first's
/// result and is refused; an Idempotency-Key and a new id are each taken under a transaction lock, so
/// that two racing first uses make one record.
extension PostGISStore: RecordStore {
    public func record(_ kind: RecordKind, id: String) async throws -> StoredRecord {
        let key = try await etagKey()
        return try await read { session in try await RecordRows(session: session, etagKey: key).load(kind, id: id) }
    }

    public func clients(agent: String?, limit: Int, after: String?) async throws -> [StoredRecord] {
        let key = try await etagKey()
        return try await read { session in
            // Ids in byte order, as the SpatiaLite file orders them (the index clients_id_bytes).
            var q = SQLText("SELECT id FROM clients WHERE true")
            if let agent {
                q.sql(" AND agent = ")
                q.bind(agent)
            }
            if let after {
                q.sql(" AND id COLLATE \"C\" > ")
                q.bind(after)
            }
            q.sql(" ORDER BY id COLLATE \"C\" LIMIT ")
            q.bind(Int64(max(0, limit)))
            let rows = RecordRows(session: session, etagKey: key)
            var records: [StoredRecord] = []
            for id in try await session.rows(q).map({ try $0[0].decode(String.self) }) { records.append(try await rows.load(.client, id: id)) }
            return records
        }
    }

    public func demands(client: String) async throws -> [StoredRecord] {
        let key = try await etagKey()
        return try await read { session in
            let rows = RecordRows(session: session, etagKey: key)
            _ = try await rows.load(.client, id: client)
            var q = SQLText("SELECT id FROM demands WHERE client_id = ")
            q.bind(client)
            q.sql(" ORDER BY fid")
            var records: [StoredRecord] = []
            for id in try await session.rows(q).map({ try $0[0].decode(String.self) }) { records.append(try await rows.load(.demand, id: id)) }
            return records
        }
    }

    public func create(_ kind: RecordKind, _ body: JSONValue, owner: String?, client: String?, idempotency: IdempotencyKey?) async throws -> WriteResult {
        let key = try await etagKey()
        return try await transaction { session in
            let rows = RecordRows(session: session, etagKey: key)
            if let idempotency {
                // The second of two racing first uses waits here, then replays what the first made.
                try await session.lock("idempotency", JSONValue.array([.string(idempotency.user), .string(idempotency.key)]).jsonText)
                var q = SQLText("SELECT endpoint, body_sha256, record_id FROM idempotency_keys WHERE user_name = ")
                q.bind(idempotency.user)
                q.sql(" AND key = ")
                q.bind(idempotency.key)
                if let row = try await session.rows(q).first {
                    // The record as it is now: what was erased since (a client's contact data) stays erased.
                    let now = try RecordWriteRules.replay(idempotency, storedEndpoint: try row[0].decode(String.self),
                                                          storedBodySHA256: try row[1].decode(String.self),
                                                          record: try await rows.find(kind, id: try row[2].decode(String.self)), owner: owner)
                    return WriteResult(id: now.id, etag: now.etag, json: now.wholeJSON, replayed: true)
                }
            }
            let id = try await rows.write(kind, body, id: nil, owner: owner, client: client)
            let record = try await rows.load(kind, id: id)
            if let idempotency {
                var q = SQLText("INSERT INTO idempotency_keys (user_name, key, endpoint, body_sha256, record_id, etag) VALUES (")
                for (i, value) in [idempotency.user, idempotency.key, idempotency.endpoint, idempotency.bodySHA256, id, record.etag].enumerated() {
                    if i > 0 { q.sql(", ") }
                    q.bind(value)
                }
                q.sql(")")
                try await session.run(q)
            }
            return WriteResult(id: id, etag: record.etag, json: record.wholeJSON, replayed: false)
        }
    }

    public func change(_ kind: RecordKind, id: String, _ change: RecordChange, condition: WriteCondition) async throws -> StoredRecord {
        let key = try await etagKey()
        return try await transaction { session in
            let rows = RecordRows(session: session, etagKey: key)
            try await rows.lockRow(kind, id: id)
            let current = try await rows.load(kind, id: id)
            try RecordWriteRules.check(condition, current)
            let body: JSONValue = switch change {
            case .replace(let whole): whole
            case .mergePatch(let patch): current.wholeJSON.mergePatched(with: patch)
            }
            _ = try await rows.write(kind, body, id: id, owner: condition.owner, client: current.clientID, current: current)
            return try await rows.load(kind, id: id)
        }
    }

    public func delete(_ kind: RecordKind, id: String, condition: WriteCondition) async throws {
        let key = try await etagKey()
        try await transaction { session in
            let rows = RecordRows(session: session, etagKey: key)
            try await rows.lockRow(kind, id: id)
            let current = try await rows.load(kind, id: id)
            try RecordWriteRules.check(condition, current)
            switch kind {
            case .listing: try await rows.withdraw(.listings, id: id)
            case .demand: try await rows.withdraw(.demands, id: id)
            case .client:
                var q = SQLText("SELECT id FROM demands WHERE client_id = ")
                q.bind(id)
                q.sql(" ORDER BY fid FOR UPDATE")
                for demand in try await session.rows(q).map({ try $0[0].decode(String.self) }) { try await rows.withdraw(.demands, id: demand) }
                var drop = SQLText("DELETE FROM clients WHERE id = ")
                drop.bind(id)
                try await session.run(drop)
                try await rows.forgetResponses(.client, id: id)
            }
        }
    }

    /// The key behind ETags, read once: it never changes for a database.
    func etagKey() async throws -> Data {
        if let key = secrets.withLock({ $0 }) { return key }
        guard let row = try await lookup("SELECT value FROM store_secrets WHERE name = 'etag'").first,
              var bytes = try translating({ try row[0].decode(ByteBuffer?.self) }), let key = bytes.readBytes(length: bytes.readableBytes) else {
            throw RGISError(.database, "the database holds no ETag key (store_secrets); run rgis init \(location)")
        }
        secrets.withLock { $0 = Data(key) }
        return Data(key)
    }
}

extension Session {
    /// A transaction-scoped lock on a name (`pg_advisory_xact_lock`), held until commit or rollback.
    func lock(_ space: String, _ name: String) async throws {
        var q = SQLText("SELECT pg_advisory_xact_lock(hashtextextended(")
        q.bind("rgis:" + space + ":" + name)
        q.sql(", 0))")
        try await run(q)
    }
}

/// Reads and writes of single records on one connection, inside the caller's transaction.
struct RecordRows {
    let session: Session
    let etagKey: Data

    func load(_ kind: RecordKind, id: String) async throws -> StoredRecord {
        guard let record = try await find(kind, id: id) else {
            throw RGISError(.notFound, "no \(kind.rawValue) '\(id)'", at: kind.idParameter)
        }
        return record
    }

    /// Locks a record's row until the transaction ends; a record that is not there is `.notFound`.
    func lockRow(_ kind: RecordKind, id: String) async throws {
        var q = SQLText("SELECT 1 FROM \(kind.layer?.table ?? "clients") WHERE id = ")
        q.bind(id)
        q.sql(" FOR UPDATE")
        guard try await !session.rows(q).isEmpty else { throw RGISError(.notFound, "no \(kind.rawValue) '\(id)'", at: kind.idParameter) }
    }

    func find(_ kind: RecordKind, id: String) async throws -> StoredRecord? {
        let publicJSON: JSONValue, privateMembers: [String: JSONValue], agent: String?, clientID: String?
        switch kind {
        case .listing, .demand:
            let layer = kind.layer!
            // A listing's private fields come in the same statement, after the feature's columns.
            var q = SQLText("SELECT \(FeatureRows.columns(layer))")
            q.sql(kind == .listing
                ? ", p.private_remarks, p.showing_contact_phone, p.seller_contact FROM listings t LEFT JOIN listing_private p ON p.listing_id = t.id"
                : " FROM \(layer.table) t")
            q.sql(" WHERE t.id = ")
            q.bind(id)
            guard let row = try await session.rows(q).first else { return nil }
            let feature = try FeatureRows.feature(row, layer: layer)
            var text = ""
            feature.write(to: &text)
            publicJSON = try JSONValue.parse(Array(text.utf8))
            agent = feature.properties["agent"]?.stringValue
            clientID = feature.properties["client_id"]?.stringValue
            var members: [String: JSONValue] = [:]
            if kind == .listing {
                let first = FeatureRows.count(layer)
                for (i, name) in ListingPrivateFields.names.enumerated() {
                    if let value = try row[first + i].decode(String?.self) { members[name] = .string(value) }
                }
            }
            privateMembers = members
        case .client:
            var q = SQLText("""
                SELECT c.id, c.agent, c.age_band, c.household, c.income_band, c.lifecycle_stage, c.created_at, k.name, k.phone, k.email
                FROM clients c LEFT JOIN client_contacts k ON k.client_id = c.id WHERE c.id = 
                """)
            q.bind(id)
            guard let row = try await session.rows(q).first else { return nil }
            var segment: [String: String] = [:]
            for (i, key) in ["age_band", "household", "income_band"].enumerated() {
                if let value = try row[2 + i].decode(String?.self) { segment[key] = value }
            }
            var contact: [String: String] = [:]
            for (i, key) in ["name", "phone", "email"].enumerated() {
                if let value = try row[7 + i].decode(String?.self) { contact[key] = value }
            }
            let client = ClientRecord(id: try row[0].decode(String.self), agent: try row[1].decode(String.self), segment: segment,
                                      lifecycleStage: try row[5].decode(String.self), createdAt: try row[6].decode(String?.self), contact: contact)
            publicJSON = client.json(withContact: false)
            privateMembers = ["contact": .object(contact.mapValues(JSONValue.string))]
            agent = client.agent
            clientID = nil
        }
        return StoredRecord(kind: kind, id: id, agent: agent, clientID: clientID, publicJSON: publicJSON, privateMembers: privateMembers,
                            signedWith: etagKey)
    }

    /// Writes one record by the import's rules; `current` is nil for a new one. Returns its id.
    func write(_ kind: RecordKind, _ body: JSONValue, id: String?, owner: String?, client: String?, current: StoredRecord? = nil) async throws -> String {
        switch kind {
        case .client: return try await writeClient(body, id: id, owner: owner)
        case .listing, .demand: return try await writeFeature(kind.layer!, body, id: id, owner: owner, client: client, current: current)
        }
    }

    private func writeFeature(_ layer: Layer, _ body: JSONValue, id: String?, owner: String?, client: String?, current: StoredRecord?) async throws -> String {
        var record: LayerRecord
        do {
            record = try LayerRecordBuilder(layer: layer).record(fromFeature: body)
        } catch let error as RGISError {
            throw error.location == nil ? error.located("body") : error
        }
        record.id = try RecordWriteRules.identify(given: record.id, url: id)
        // The client's owner, read in this transaction: a client moved since the caller looked is refused.
        var clientAgent: (id: String, agent: String?)?
        if let client {
            var q = SQLText("SELECT agent FROM clients WHERE id = ")
            q.bind(client)
            clientAgent = (client, try await session.rows(q).first.map { try $0[0].decode(String.self) })
        }
        try RecordWriteRules.prepare(&record, layer, owner: owner, client: clientAgent, current: current)
        if current == nil { record.id = try await newID(layer.table, given: record.id, prefix: layer.generatedIDPrefix) }
        do {
            return try await FeatureWriter(session: session, options: ImportOptions(layer: layer)).write(record).id
        } catch let error as RGISError where error.code == .invalidValue && error.location == nil {
            throw error.located("body")
        }
    }

    private func writeClient(_ body: JSONValue, id: String?, owner: String?) async throws -> String {
        var client = try ClientRecord(json: body, agent: owner)
        client.id = try RecordWriteRules.identify(given: client.id, url: id)
        if id == nil {
            client.id = try await newID("clients", given: client.id, prefix: "client-")
            if client.createdAt == nil { client.createdAt = String(Timestamp.text(Date()).prefix(10)) }
        }
        let clientID = client.id!
        do {
            var q = SQLText("INSERT INTO clients (id, agent, age_band, household, income_band, lifecycle_stage, created_at) VALUES (")
            q.bind(clientID)
            for value in [client.agent, client.segment["age_band"], client.segment["household"], client.segment["income_band"], client.lifecycleStage,
                          client.createdAt] {
                q.sql(", ")
                q.bind(value)
            }
            q.sql("""
                ) ON CONFLICT (id) DO UPDATE SET agent = excluded.agent, age_band = excluded.age_band, household = excluded.household,
                    income_band = excluded.income_band, lifecycle_stage = excluded.lifecycle_stage,
                    created_at = COALESCE(excluded.created_at, clients.created_at)
                """)
            try await session.run(q)
            // A client's demands carry its agent: they move with it.
            var move = SQLText("UPDATE demands SET agent = ")
            move.bind(client.agent)
            move.sql(" WHERE client_id = ")
            move.bind(clientID)
            move.sql(" AND agent IS DISTINCT FROM ")
            move.bind(client.agent)
            try await session.run(move)
            var clear = SQLText("DELETE FROM client_contacts WHERE client_id = ")
            clear.bind(clientID)
            try await session.run(clear)
            if !client.contact.isEmpty {
                var contact = SQLText("INSERT INTO client_contacts (client_id, name, phone, email) VALUES (")
                contact.bind(clientID)
                for key in ["name", "phone", "email"] {
                    contact.sql(", ")
                    contact.bind(client.contact[key])
                }
                contact.sql(")")
                try await session.run(contact)
            }
        } catch let error as RGISError where error.code == .invalidValue {
            throw RGISError(.invalidValue, "refused by the schema: \(error.reason)", at: "body")
        }
        return clientID
    }

    /// A new record's id: the one given (`.conflict` when taken), else the next free `prefix` number.
    /// An id is never reused: a withdrawn listing's or demand's id stays taken, so that its history
    /// (`events`) never passes to a new record of someone else. Taken under a lock per table, so two
    /// writers at once do not pick the same number.
    private func newID(_ table: String, given: String?, prefix: String) async throws -> String {
        try await session.lock("new-id", table)
        func taken(_ id: String) async throws -> Bool {
            var q = SQLText("SELECT EXISTS (SELECT 1 FROM \(table) WHERE id = ")
            q.bind(id)
            q.sql(") OR EXISTS (SELECT 1 FROM events WHERE layer = ")
            q.bind(table)
            q.sql(" AND record_id = ")
            q.bind(id)
            q.sql(")")
            return try await session.rows(q)[0][0].decode(Bool.self)
        }
        if let given {
            if try await taken(given) {
                throw RGISError(.conflict, "id '\(given)' is taken (by a record or a withdrawn one's history); PUT to its URL to replace a live record", at: "field id")
            }
            return given
        }
        var n = Int64(try await session.int(SQLText("SELECT COALESCE(MAX(fid), 0) + 1 FROM \(table)")))
        while try await taken("\(prefix)\(n)") { n += 1 }
        return "\(prefix)\(n)"
    }

    /// Deletes a listing or demand and logs `withdrawn` with its last status.
    func withdraw(_ layer: Layer, id: String) async throws {
        var q = SQLText("WITH gone AS (DELETE FROM \(layer.table) WHERE id = ")
        q.bind(id)
        q.sql(" RETURNING id, status) INSERT INTO events (layer, record_id, kind, old_value) SELECT ")
        q.bind(layer.table)
        q.sql(", id, 'withdrawn', to_jsonb(status) FROM gone")
        try await session.run(q)
        try await forgetResponses(layer == .listings ? .listing : .demand, id: id)
    }

    /// A key names the record it made: it goes when the record goes (a later replay is a conflict).
    func forgetResponses(_ kind: RecordKind, id: String) async throws {
        let endpoint = switch kind {
        case .listing: "endpoint = '/collections/listings/items'"
        case .client: "endpoint = '/clients'"
        case .demand: "endpoint LIKE '/clients/%/demands'"
        }
        var q = SQLText("DELETE FROM idempotency_keys WHERE record_id = ")
        q.bind(id)
        q.sql(" AND \(endpoint)")
        try await session.run(q)
    }
}
