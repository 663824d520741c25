import RGISCore

/// Who may call an endpoint: anyone, or callers with one of some roles. The README's role table is
/// these values; the server checks them before the handler runs, and `/api` states them per operation.
enum Access: Sendable, Equatable {
    case anyone
    case roles(Set<Role>)

    static let agents: Access = .roles([.agent, .admin])
    static let regulators: Access = .roles([.regulator, .admin])
    static let planners: Access = .roles([.planner, .admin])
    static let admins: Access = .roles([.admin])

    var isProtected: Bool { self != .anyone }

    func allows(_ caller: Caller) -> Bool {
        switch self {
        case .anyone: true
        case .roles(let roles): caller.role.map(roles.contains) ?? false
        }
    }

    /// 401 for nobody (a token would help), 403 for a role without the right (it would not).
    func check(_ caller: Caller) throws {
        guard !allows(caller) else { return }
        guard case .roles(let roles) = self else { return }
        let names = Role.allCases.filter(roles.contains).map(\.rawValue).joined(separator: " or ")
        if caller.isAnonymous { throw Problem.unauthorized("this endpoint needs a token of a user with role \(names): send Authorization: Bearer TOKEN") }
        throw Problem(.forbidden, "Forbidden", "\(caller) may not use this endpoint; it needs role \(names)")
    }
}
