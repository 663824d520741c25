/// What a user may do: the roles of the README's table.
public enum Role: String, CaseIterable, Sendable, Codable {
    /// Keeps their own listings, clients and demands, and matches for them.
    case agent
    /// Watches indicators and demand aggregates; never an individual client or demand.
    case planner
    /// Reads the property archive with party names and rights.
    case regulator
    /// Everything, plus users and tokens.
    case admin

    public init(parsing text: String) throws {
        guard let role = Role(rawValue: text.lowercased()) else {
            throw RGISError(.invalidValue, "role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")), found '\(text)'", at: "role")
        }
        self = role
    }
}

/// Who is asking: a user with a role (and, for an agent, the agent id the records carry), or nobody.
/// Every rule about what a caller sees is a method here, so the server and the engine ask the same thing.
public struct Caller: Sendable, Equatable, CustomStringConvertible {
    /// The user name; nil for an anonymous caller.
    public let user: String?
    public let role: Role?
    /// The agent id an agent's records carry (`listings.agent`, `clients.agent`, `demands.agent`).
    public let agent: String?

    public init(user: String, role: Role, agent: String?) {
        self.user = user
        self.role = role
        self.agent = role == .agent ? agent ?? user : agent
    }

    private init() {
        user = nil
        role = nil
        agent = nil
    }

    public static let anonymous = Caller()
    /// Whoever runs the CLI on a local file: the file's owner is its admin.
    public static let fileOwner = Caller(user: "file-owner", role: .admin, agent: nil)

    public var isAnonymous: Bool { role == nil }
    public var isAdmin: Bool { role == .admin }

    /// Whether the caller may read and change a record owned by `agent` (with its personal data).
    public func owns(agent owner: String?) -> Bool {
        if role == .admin { return true }
        guard role == .agent, let agent, let owner else { return false }
        return agent == owner
    }

    /// Party names in the archive: regulators and admins.
    public var seesPartyNames: Bool { role == .regulator || role == .admin }

    public var description: String {
        guard let user, let role else { return "anonymous" }
        return role == .agent ? "\(user) (agent \(agent ?? user))" : "\(user) (\(role.rawValue))"
    }
}
