import ArgumentParser
import Foundation
import RGISBackends
import RGISCore
import RGISNotify
import RGISStore

/// `rgis alert-hooks`: planners' receivers of the early warning.
struct AlertHooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert-hooks",
        abstract: "Push the early warning to planners: district.alert.raised and district.alert.cleared as signed webhooks.",
        discussion: """
            The notifier (rgis serve, or rgis notify run) reads the alerts in force when the market, the month or \
            the rules changed (at most every --alert-check-seconds) and sends each raising and clearing to every \
            active receiver of its level, signed as Standard Webhooks (webhook-id, webhook-timestamp, \
            webhook-signature). data is what GET /collections/alerts/items says of the alert (district_id, \
            district_name, level, rule, title, metric, value, comparison, threshold, severity, since, raised; \
            cleared for a clearing), with links to the alerts and the district's series. A receiver hears of \
            what changes from when it is added: the alerts already in force are at /collections/alerts. \
            Retries, 410 and five days of failures work as for saved searches (rgis notify run --help).
            """,
        subcommands: [AlertHooksAddCommand.self, AlertHooksListCommand.self, AlertHooksSetCommand.self]
    )
}

struct AlertHooksAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a receiver (or turn one back on with a new secret) and print it as JSON.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The receiver's http(s) URL.") var url: String
    @Option(help: "The signing secret: whsec_ and base64 of 24–64 random bytes.") var secret: String
    @Option(help: "Only alerts of this level: city, district or subdistrict (default every level).") var level: String?
    @Option(help: "The planner it belongs to (a user name; GET /alerts/hooks shows a planner their own).") var owner = Caller.fileOwner.user ?? "file-owner"
    @OptionGroup var network: WebhookNetworkOptions

    func run() async throws {
        try await reportingErrors {
            let request = try AlertHookRequest(url: url, secret: secret, level: level)
            let hook = try await AlertHooks.add(request, owner: owner, store: StoreLocation.open(target.database), targets: try network.targets(), now: Date())
            Console.out(hook.json.jsonText + "\n")
        }
    }
}

struct AlertHooksListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the receivers as JSON lines, with their deliveries by state (never secrets).")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "Only this planner's receivers.") var owner: String?

    func run() async throws {
        try await reportingErrors {
            let hooks = try await StoreLocation.open(target.database).alertHooks(owner: owner)
            Console.out(hooks.map { $0.json.jsonText + "\n" }.joined())
        }
    }
}

struct AlertHooksSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Turn a receiver on or off (off fails what it has pending).")

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "The receiver's id.") var id: Int64
    @Option(help: "on or off.") var state: String
    @Option(help: "Why it is turned off (kept with it).") var reason: String?

    func run() async throws {
        try await reportingErrors {
            guard state == "on" || state == "off" else { throw RGISError(.invalidValue, "--state is on or off, not '\(state)'", at: "--state") }
            let changed = try await StoreLocation.open(target.database)
                .setAlertHook(id, active: state == "on", reason: reason ?? "turned off by the file's owner")
            Console.out(changed.json.jsonText + "\n")
        }
    }
}
