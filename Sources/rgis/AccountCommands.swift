import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISStore

/// `rgis users`: who may use the server, with which role.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Add and list the users of a database's server.",
        discussion: """
            Roles: agent (their own clients, demands and listings; matching for them), planner (indicators and \
            demand aggregates, never an individual client), regulator (the archive with party names and rights), \
            admin (everything). Whoever runs the CLI on the file is its owner and needs no user.
            """,
        subcommands: [UsersAddCommand.self, UsersListCommand.self]
    )
}

struct UsersAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a user with a role.")

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "The user's name (1–64 characters, no spaces).") var name: String
    @Option(help: "agent, planner, regulator or admin.") var role: String
    @Option(help: "For an agent: the agent id their records carry in listings.agent, clients.agent and demands.agent (default: the name).")
    var agent: String?

    func run() async throws {
        try await reportingErrors {
            let role = try Role(parsing: role)
            if agent != nil && role != .agent { throw RGISError(.invalidValue, "only an agent carries an agent id", at: "--agent") }
            let user = User(name: name, role: role, agent: agent)
            try await StoreLocation.open(target.database).addUser(user)
            Console.note("rgis: added \(user.caller); give them a token with: rgis tokens create \(target.database) \(name)")
        }
    }
}

struct UsersListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the users, one per line: name, role, agent id.")

    @OptionGroup var target: DatabaseArgument

    func run() async throws {
        try await reportingErrors {
            let users = try await StoreLocation.open(target.database).users()
            Console.out(users.map { "\($0.name)\t\($0.role.rawValue)\t\($0.agent ?? "-")\n" }.joined())
        }
    }
}

/// `rgis tokens`: the bearer tokens users send.
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke bearer tokens.",
        discussion: """
            A token is printed once, when it is created, and stored only as its SHA-256 hash: keep it, or create \
            another. Clients send it as Authorization: Bearer TOKEN.
            """,
        subcommands: [TokensCreateCommand.self, TokensListCommand.self, TokensRevokeCommand.self]
    )
}

struct TokensCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token for a user and print it, alone, on standard output.")

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "The user the token is for.") var name: String
    @Option(help: "The day the token stops working, YYYY-MM-DD (at 00:00 UTC; default: never).") var expires: String?

    func run() async throws {
        try await reportingErrors {
            var expiry: Date?
            if let expires {
                guard let day = ISODate(parsing: expires), let date = Timestamp.date(day.text + "T00:00:00Z") else {
                    throw RGISError(.invalidValue, "'\(expires)' is not a date YYYY-MM-DD", at: "--expires")
                }
                expiry = date
            }
            let token = try await StoreLocation.open(target.database).createToken(user: name, expires: expiry, now: Date())
            Console.out(token + "\n")
        }
    }
}

struct TokensListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their text) as JSON lines.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "Only this user's tokens.") var user: String?

    func run() async throws {
        try await reportingErrors {
            let tokens = try await StoreLocation.open(target.database).tokens(user: user)
            func time(_ d: Date?) -> JSONValue { d.map { .string(Timestamp.text($0)) } ?? .null }
            Console.out(tokens.map {
                JSONValue.object(["id": .int($0.id), "user": .string($0.user), "created_at": time($0.createdAt), "expires_at": time($0.expiresAt),
                                  "last_used_at": time($0.lastUsedAt), "revoked_at": time($0.revokedAt)]).jsonText + "\n"
            }.joined())
        }
    }
}

struct TokensRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token: it is refused from the next request on.")

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "The token's text (rgis_…).") var token: String

    func run() async throws {
        try await reportingErrors {
            try await StoreLocation.open(target.database).revokeToken(token, now: Date())
            Console.note("rgis: token revoked")
        }
    }
}

/// `rgis audit`: who read personal data.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Print the audit log of personal-data reads as JSON lines: at, user, role, method, endpoint, record_ids.",
        discussion: "The log is append-only: the database refuses to change or delete a row of it."
    )

    @OptionGroup var target: DatabaseArgument
    @Option(help: "Only entries from this day (YYYY-MM-DD, UTC) or time (RFC 3339) on.") var since: String?
    @Option(help: "Only this user's entries.") var user: String?

    func run() async throws {
        try await reportingErrors {
            var from: Date?
            if let since {
                guard let date = Timestamp.date(since) ?? ISODate(parsing: since).flatMap({ Timestamp.date($0.text + "T00:00:00Z") }) else {
                    throw RGISError(.invalidValue, "'\(since)' is not a date YYYY-MM-DD or an RFC 3339 time", at: "--since")
                }
                from = date
            }
            let entries = try await StoreLocation.open(target.database).audit(since: from, user: user)
            Console.out(entries.map { $0.json.jsonText + "\n" }.joined())
        }
    }
}
