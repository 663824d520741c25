import Foundation
import RGISCore

/// The rules a single-record write follows (``RecordStore``), as plain code: a backend reads what
/// they need inside the write's transaction (the record as it is, its client's agent, a stored
/// idempotency key), the rule decides, and the backend writes what the rule left. Every backend
/// answers alike because none of them holds a rule of its own.
public enum RecordWriteRules {
    /// Ownership first (another agent's record is 403 whatever its version), then the version.
    public static func check(_ condition: WriteCondition, _ current: StoredRecord) throws {
        if let owner = condition.owner, current.agent != owner {
            throw RGISError(.forbidden, "\(current.kind.rawValue) '\(current.id)' belongs to another agent", at: current.kind.idParameter)
        }
        if let ifMatch = condition.ifMatch {
            let tags = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard tags.contains("*") || tags.contains(where: { Digest.constantTimeEqual($0, current.etag) }) else {
                throw RGISError(.preconditionFailed, "If-Match \(ifMatch) is not the current version \(current.etag) of \(current.kind.rawValue) '\(current.id)'; read it again and reapply the change",
                                at: "header If-Match")
            }
        }
    }

    /// A key stored before, sent again: the same request is a replay (of `record` as it is now, nil
    /// when it is gone), anything else under the key is refused.
    public static func replay(_ key: IdempotencyKey, storedEndpoint: String, storedBodySHA256: String, record: StoredRecord?, owner: String?) throws -> StoredRecord {
        guard storedEndpoint == key.endpoint, storedBodySHA256 == key.bodySHA256 else {
            throw RGISError(.invalidValue, "this key was used for another request (another body or endpoint); send a new key for a new request",
                            at: "header Idempotency-Key")
        }
        // Given back only while the record is still the caller's.
        guard let record, owner == nil || record.agent == owner else {
            throw RGISError(.conflict, "the record this key created has since been deleted or moved to another agent; send a new key",
                            at: "header Idempotency-Key")
        }
        return record
    }

    /// The id a write stores under: the URL's (a replacement), which the body may repeat but not contradict.
    public static func identify(given: String?, url id: String?) throws -> String? {
        guard let id else { return given }
        if let given, given != id { throw RGISError(.invalidValue, "the body's id '\(given)' differs from the URL's '\(id)'", at: "field id") }
        return id
    }

    /// What a listing or demand must be before it is stored; fills its agent and client.
    /// - `owner`: the writing agent (nil: an admin);
    /// - `client`: the client the URL names, with `clientAgent`, its agent read in the write's
    ///   transaction (nil when there is no such client), so that a client moved meanwhile is refused;
    /// - `current`: the record as it is, for a replacement.
    public static func prepare(_ record: inout LayerRecord, _ layer: Layer, owner: String?, client: (id: String, agent: String?)?,
                               current: StoredRecord?) throws {
        let named = record.values["agent"].flatMap { if case .text(let s) = $0 { s } else { nil } }
        // A demand stays with its client's agent; a listing with its writer (an agent) or as the body says (an admin).
        if let agent = layer == .demands ? current?.agent ?? owner : owner {
            if let named, named != agent {
                throw RGISError(.forbidden, "the record belongs to agent \(agent), not \(named)", at: "field agent")
            }
            record.values["agent"] = .text(agent)
        }
        if layer == .demands, let current {
            // A demand stays with its client, and its circle is rebuilt only from a centre.
            let given: String? = if case .text(let s)? = record.values["client_id"] { s } else { nil }
            if let given, given != current.clientID {
                throw RGISError(.invalidValue, "a demand's client does not change (it is \(current.clientID.map { "'\($0)'" } ?? "none")); create a demand for the other client", at: "field client_id")
            }
            let oldRadius = current.publicJSON["properties"]?["radius_m"]?.number
            let newRadius: Double? = switch record.values["radius_m"] { case .real(let d)?: d; case .integer(let i)?: Double(i); default: nil }
            if newRadius != oldRadius, case .multiPolygon = record.geometry {
                throw RGISError(.invalidValue, "radius_m changes the search circle: send its centre as a Point geometry with the new radius_m", at: "field radius_m")
            }
        }
        if let client {
            guard let clientAgent = client.agent else { throw RGISError(.notFound, "no client '\(client.id)'", at: "clientId") }
            if current == nil, let owner, owner != clientAgent {
                throw RGISError(.forbidden, "client '\(client.id)' belongs to another agent", at: "clientId")
            }
            if case .text(let given)? = record.values["client_id"], given != client.id {
                throw RGISError(.invalidValue, "the demand belongs to client '\(client.id)', not '\(given)'", at: "field client_id")
            }
            record.values["client_id"] = .text(client.id)
        }
    }
}

/// The rules of accounts, decided before any backend writes.
public enum AccountRules {
    /// A user name is 1 to 64 characters without spaces.
    public static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 64, !name.contains(where: { $0.isWhitespace }) else {
            throw RGISError(.invalidValue, "a user name is 1 to 64 characters without spaces", at: "name")
        }
    }

    /// A token's expiry, when it has one, is in the future.
    public static func checkExpiry(_ expires: Date?, now: Date) throws {
        if let expires, expires <= now { throw RGISError(.invalidValue, "the expiry \(Timestamp.text(expires)) is not in the future", at: "--expires") }
    }
}

/// The rules of saving a search, decided on what the backend read in the write's transaction.
public enum SubscriptionRules {
    /// Whether `caller` may save a search for `demand`, owned by `agent`; returns the agent that owns
    /// a webhook endpoint for it (nil for e-mail).
    public static func endpointOwner(demand: String, agent: String?, caller: Caller, channel: AlertSettings.Channel) throws -> String? {
        guard caller.owns(agent: agent) else { throw RGISError(.forbidden, "demand '\(demand)' belongs to another agent", at: "demand") }
        guard case .webhook = channel else { return nil }
        guard let agent else { throw RGISError(.invalidValue, "demand '\(demand)' names no agent to own a webhook endpoint", at: "webhook") }
        return agent
    }
}
