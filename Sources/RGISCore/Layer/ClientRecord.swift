import Foundation

/// A client of an agent, with the contact data that only the owning agent and admins see.
public struct ClientRecord: Sendable, Equatable {
    public static let lifecycleStages = ["initial_contact", "viewing", "negotiation", "purchase", "after_sale", "lost"]
    static let segmentMembers = ["age_band", "household", "income_band"]
    static let contactMembers = ["name", "phone", "email"]

    public var id: String?
    public var agent: String
    /// Segment codes (`age_band`, `household`, `income_band`): describe, never identify.
    public var segment: [String: String]
    public var lifecycleStage: String
    public var createdAt: String?
    /// `name`, `phone`, `email`: personal data.
    public var contact: [String: String]

    public init(id: String?, agent: String, segment: [String: String] = [:], lifecycleStage: String = "initial_contact",
                createdAt: String? = nil, contact: [String: String] = [:]) {
        self.id = id
        self.agent = agent
        self.segment = segment
        self.lifecycleStage = lifecycleStage
        self.createdAt = createdAt
        self.contact = contact
    }

    /// Reads a client from a JSON body, checking each member by name. `agent` is the owner the writer
    /// decided (an agent's own id); a body naming another agent is refused rather than moved.
    public init(json value: JSONValue, agent owner: String?) throws {
        guard case .object(let o) = value else { throw RGISError(.malformedInput, "the body must be a JSON object, found \(value.typeName)", at: "body") }
        let known = Set(["id", "agent", "lifecycle_stage", "created_at", "contact", "links"] + Self.segmentMembers)
        if let unknown = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw RGISError(.invalidValue, "unknown member; a client has \(known.subtracting(["links"]).sorted().joined(separator: ", "))", at: "field \(unknown)")
        }
        func text(_ key: String, in object: [String: JSONValue], prefix: String = "", limit: Int = 200) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let s)?:
                let trimmed = s.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty else { return nil }
                guard trimmed.count <= limit else { throw RGISError(.invalidValue, "longer than \(limit) characters", at: "field \(prefix)\(key)") }
                return trimmed
            case let other?: throw RGISError(.invalidValue, "must be text, found \(other.typeName)", at: "field \(prefix)\(key)")
            }
        }
        id = try text("id", in: o)
        if let id { try RecordID.check(id) }
        let named = try text("agent", in: o)
        if let owner, let named, named != owner {
            throw RGISError(.forbidden, "a client belongs to the agent who writes it (\(owner)), not \(named)", at: "field agent")
        }
        guard let agent = owner ?? named else { throw RGISError(.invalidValue, "a client needs its owning agent", at: "field agent") }
        self.agent = agent
        segment = [:]
        for key in Self.segmentMembers { if let v = try text(key, in: o, limit: 40) { segment[key] = v } }
        lifecycleStage = try text("lifecycle_stage", in: o) ?? "initial_contact"
        guard Self.lifecycleStages.contains(lifecycleStage) else {
            throw RGISError(.invalidValue, "must be one of \(Self.lifecycleStages.joined(separator: ", ")), found '\(lifecycleStage)'", at: "field lifecycle_stage")
        }
        createdAt = try text("created_at", in: o)
        if let createdAt, ISODate(parsing: String(createdAt.prefix(10))) == nil {
            throw RGISError(.invalidValue, "must be a date YYYY-MM-DD or an RFC 3339 date-time", at: "field created_at")
        }
        contact = [:]
        switch o["contact"] {
        case nil, .null?: break
        case .object(let c)?:
            if let unknown = c.keys.sorted().first(where: { !Self.contactMembers.contains($0) }) {
                throw RGISError(.invalidValue, "unknown member; a contact has name, phone, email", at: "field contact.\(unknown)")
            }
            for key in Self.contactMembers { if let v = try text(key, in: c, prefix: "contact.") { contact[key] = v } }
        case let other?: throw RGISError(.invalidValue, "must be an object with name, phone, email, found \(other.typeName)", at: "field contact")
        }
        if let email = contact["email"] {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(" ") else {
                throw RGISError(.invalidValue, "'\(email)' is not an e-mail address (name@domain)", at: "field contact.email")
            }
        }
        if let phone = contact["phone"] {
            let allowed = Set("+0123456789 ()-./")
            guard phone.allSatisfy(allowed.contains), phone.filter(\.isNumber).count >= 3 else {
                throw RGISError(.invalidValue, "'\(phone)' is not a phone number (digits, spaces, + ( ) - . /)", at: "field contact.phone")
            }
        }
    }

    /// The client as JSON; `withContact` false leaves the personal data out.
    public func json(withContact: Bool) -> JSONValue {
        var o: [String: JSONValue] = ["agent": .string(agent), "lifecycle_stage": .string(lifecycleStage)]
        if let id { o["id"] = .string(id) }
        if let createdAt { o["created_at"] = .string(createdAt) }
        for (k, v) in segment { o[k] = .string(v) }
        if withContact { o["contact"] = .object(contact.mapValues(JSONValue.string)) }
        return .object(o)
    }
}
