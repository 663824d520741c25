import Foundation
import RGISCore

/// What agents write: listings, clients and demands, one record at a time. Every write is validated by
/// the same rules as an import, logs its change events in its own transaction, and is seen by every
/// query as soon as it returns.
///
/// Ownership and versions are checked inside the write's transaction (``WriteCondition``), so a check
/// and the change it guards cannot be split by another writer.
public protocol RecordStore: Sendable {
    /// One record, whole (a listing's private fields, a client's contact), with its ETag.
    func record(_ kind: RecordKind, id: String) async throws -> StoredRecord
    /// Clients in id order after `after`, of one agent (nil: all).
    func clients(agent: String?, limit: Int, after: String?) async throws -> [StoredRecord]
    /// A client's demands in storage order.
    func demands(client: String) async throws -> [StoredRecord]
    /// Stores a new record. `owner` is the agent it belongs to (nil: as the body says, for admins);
    /// a demand is created for `client`. With an idempotency key, the key and the record it created
    /// are stored in the same transaction, and a repeat with the same body returns that record as it
    /// is now (`replayed`) instead of writing again; of two racing first uses, one writes and the other
    /// replays (or fails with a conflict), never two records.
    func create(_ kind: RecordKind, _ body: JSONValue, owner: String?, client: String?, idempotency: IdempotencyKey?) async throws -> WriteResult
    /// Replaces a record, or merges a JSON merge patch into it, under a condition.
    func change(_ kind: RecordKind, id: String, _ change: RecordChange, condition: WriteCondition) async throws -> StoredRecord
    /// Deletes a record under a condition; listings and demands log `withdrawn`, a client takes its demands with it.
    func delete(_ kind: RecordKind, id: String, condition: WriteCondition) async throws
    /// The change events of a listing or demand, oldest first.
    func events(_ layer: Layer, id: String) async throws -> [RecordEvent]
}

public enum RecordKind: String, Sendable, CaseIterable {
    case listing, client, demand

    /// The path parameter that names such a record.
    public var idParameter: String {
        switch self {
        case .listing: "featureId"
        case .client: "clientId"
        case .demand: "demandId"
        }
    }

    public var layer: Layer? {
        switch self {
        case .listing: .listings
        case .demand: .demands
        case .client: nil
        }
    }
}

/// A stored record with its owner and its strong ETag (a keyed hash of the whole record, so that the
/// tag changes with any field and reveals none).
public struct StoredRecord: Sendable {
    public let kind: RecordKind
    public let id: String
    /// The owning agent.
    public let agent: String?
    /// A demand's client.
    public let clientID: String?
    /// What anyone who may see the record sees: a GeoJSON Feature (listing, demand) or an object (client).
    public let publicJSON: JSONValue
    /// The personal or private part, merged in for the owner: a listing's private properties, a client's `contact`.
    public let privateMembers: [String: JSONValue]
    /// The whole record's version, quoted as in the header (`"5f…"`): what `If-Match` is compared with.
    public let etag: String
    /// The public part's version, for callers who may not see the rest (so that the tag does not
    /// tell them when a private field changed).
    public let publicETag: String

    public init(kind: RecordKind, id: String, agent: String?, clientID: String?, publicJSON: JSONValue,
                privateMembers: [String: JSONValue], etag: String, publicETag: String) {
        self.kind = kind
        self.id = id
        self.agent = agent
        self.clientID = clientID
        self.publicJSON = publicJSON
        self.privateMembers = privateMembers
        self.etag = etag
        self.publicETag = publicETag
    }

    /// A record as a backend read it, with its ETags signed under the store's key: an HMAC of the
    /// whole record's JSON, and of the public part's. The one rule every backend tags records by.
    package init(kind: RecordKind, id: String, agent: String?, clientID: String?, publicJSON: JSONValue,
                 privateMembers: [String: JSONValue], signedWith etagKey: Data) {
        func tag(_ json: JSONValue) -> String { "\"" + Digest.keyedTag(json.jsonText, key: etagKey) + "\"" }
        let unsigned = StoredRecord(kind: kind, id: id, agent: agent, clientID: clientID, publicJSON: publicJSON, privateMembers: privateMembers,
                                    etag: "", publicETag: "")
        self.init(kind: kind, id: id, agent: agent, clientID: clientID, publicJSON: publicJSON, privateMembers: privateMembers,
                  etag: tag(unsigned.wholeJSON), publicETag: tag(publicJSON))
    }

    /// The record as `caller` may see it: whole for its owner and admins, else without the private part.
    public func json(for caller: Caller) -> JSONValue {
        caller.owns(agent: agent) ? wholeJSON : publicJSON
    }

    /// Whether what `caller` sees of it is personal data (and so leaves an audit row): any client or
    /// demand, and a listing whose private fields the caller sees.
    public func carriesPersonalData(for caller: Caller) -> Bool {
        kind != .listing || (caller.owns(agent: agent) && !privateMembers.isEmpty)
    }

    /// The version tag of what `caller` sees.
    public func etag(for caller: Caller) -> String {
        caller.owns(agent: agent) ? etag : publicETag
    }

    /// Everything: the private part goes into a feature's `properties`, or a client's top level.
    public var wholeJSON: JSONValue {
        guard !privateMembers.isEmpty, case .object(var o) = publicJSON else { return publicJSON }
        if kind == .client {
            for (k, v) in privateMembers { o[k] = v }
        } else if case .object(var properties)? = o["properties"] {
            for (k, v) in privateMembers { properties[k] = v }
            o["properties"] = .object(properties)
        }
        return .object(o)
    }
}

/// What must hold for a change to go ahead.
public struct WriteCondition: Sendable {
    /// The ETag the writer last saw (`If-Match`); nil writes whatever is there.
    public var ifMatch: String?
    /// The agent the record must belong to; nil for an admin, who may change any.
    public var owner: String?

    public init(ifMatch: String? = nil, owner: String? = nil) {
        self.ifMatch = ifMatch
        self.owner = owner
    }
}

public enum RecordChange: Sendable {
    /// The whole new record (PUT).
    case replace(JSONValue)
    /// RFC 7396 merge patch over the whole record (PATCH).
    case mergePatch(JSONValue)
}

/// An `Idempotency-Key` as a POST sent it, scoped to its user and endpoint.
public struct IdempotencyKey: Sendable {
    public let user: String
    public let key: String
    public let endpoint: String
    /// SHA-256 of the body as sent, hex.
    public let bodySHA256: String

    public init(user: String, key: String, endpoint: String, bodySHA256: String) {
        self.user = user
        self.key = key
        self.endpoint = endpoint
        self.bodySHA256 = bodySHA256
    }
}

public struct WriteResult: Sendable {
    public let id: String
    public let etag: String
    /// The whole record as created (for a replay: as it is now).
    public let json: JSONValue
    /// True when an earlier POST with the same key and body created it.
    public let replayed: Bool

    package init(id: String, etag: String, json: JSONValue, replayed: Bool) {
        self.id = id
        self.etag = etag
        self.json = json
        self.replayed = replayed
    }
}
