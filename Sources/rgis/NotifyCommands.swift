import ArgumentParser
import Foundation
import Logging
import RGISBackends
import RGISCore
import RGISNotify
import RGISQuery
import RGISStore

/// `rgis subscriptions`: saved searches, the alerts a client gets for a demand.
struct SubscriptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriptions",
        abstract: "Save searches: new listings that fit a demand go to the client by e-mail or to the agent's CRM by webhook.",
        discussion: """
            A saved search starts from now: listings already stored are not sent unless --backfill is given. A listing \
            is sent once per search; a price change sends it again only with --price-updates or when the price falls \
            by 5 % or more. The notifier (rgis serve, or rgis notify run) delivers.
            """,
        subcommands: [SubscriptionsAddCommand.self, SubscriptionsListCommand.self, SubscriptionsSetCommand.self]
    )
}

struct SubscriptionsAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Save a search for a demand and print it as JSON.")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "The demand whose matches are sent.") var demand: String
    @Option(help: "Send to this e-mail address (the client's).") var email: String?
    @Option(help: "Send signed webhooks (Standard Webhooks) to this http(s) URL (the agent's CRM).") var webhook: String?
    @Option(help: "The webhook's signing secret: whsec_ and base64 of 24–64 random bytes.") var secret: String?
    @Option(help: "instant, or daily (one digest a local day, e-mail only).") var schedule = "instant"
    @Option(name: .customLong("digest-hour"), help: "For a daily digest: the local hour it goes out, 0–23 (default 8).") var digestHour: Int?
    @Option(help: "The client's time zone, an IANA name such as Europe/Prague (default UTC).") var timezone: String?
    @Option(name: .customLong("quiet-hours"), help: "Local hours with no messages, HH:MM-HH:MM (e.g. 22:00-07:00); what falls due then waits.")
    var quietHours: String?
    @Flag(name: .customLong("price-updates"), help: "Send a listing again on every price change.") var priceUpdates = false
    @Flag(help: "Also send the listings that fit the demand now.") var backfill = false
    @OptionGroup var network: WebhookNetworkOptions

    func run() async throws {
        try await reportingErrors {
            let request = try SubscriptionRequest(demand: demand, email: email, webhook: webhook, secret: secret, schedule: schedule,
                                                  digestHour: digestHour, timeZone: timezone, quietHours: quietHours,
                                                  priceUpdates: priceUpdates, backfill: backfill)
            let store = try await StoreLocation.open(target.database)
            let (subscription, backfilled) = try await Subscriptions.add(request, store: store, targets: try network.targets(), by: .fileOwner, now: Date())
            Console.out(subscription.json.jsonText + "\n")
            if backfill { Console.note("rgis: queued \(backfilled) listing(s) that fit now") }
        }
    }
}

struct SubscriptionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List saved searches as JSON lines (never webhook secrets).")

    @OptionGroup var target: DatabaseArgument
    @Option(help: "Only the searches of this agent's demands.") var agent: String?

    func run() async throws {
        try await reportingErrors {
            let all = try await StoreLocation.open(target.database).subscriptions(agent: agent)
            Console.out(all.map { $0.json.jsonText + "\n" }.joined())
        }
    }
}

struct SubscriptionsSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Turn a saved search on or off.")

    @OptionGroup var target: DatabaseArgument
    @Argument(help: "The subscription's id.") var id: Int64
    @Option(help: "on or off.") var state: String
    @Option(help: "Why it is turned off (kept with it).") var reason: String?

    func run() async throws {
        try await reportingErrors {
            guard state == "on" || state == "off" else { throw RGISError(.invalidValue, "--state is on or off, not '\(state)'", at: "--state") }
            let changed = try await StoreLocation.open(target.database).setSubscription(id, active: state == "on", reason: reason ?? "turned off by the file's owner")
            Console.out(changed.json.jsonText + "\n")
        }
    }
}

/// How the notifier delivers: the options `rgis notify run` and `rgis serve` share.
struct DeliveryOptions: ParsableArguments {
    @Option(help: "The mail server, smtp://HOST:PORT (without it, e-mail notifications wait and are retried).") var smtp: String?
    @Option(name: .customLong("smtp-starttls"), help: "never, if-offered or required.") var smtpStartTLS = "if-offered"
    @Option(name: .customLong("smtp-user"), help: "AUTH user (the password from $RGIS_SMTP_PASSWORD).") var smtpUser: String?
    @Option(name: .customLong("smtp-ca-file"), help: "PEM roots to trust for STARTTLS (default: the system's).") var smtpCAFile: String?
    @Option(name: .customLong("mail-from"), help: "The From address of notification e-mails.") var mailFrom = "rgis@localhost"
    @Option(name: .customLong("public-url"), help: "The server's public base URL, for the links in messages (unsubscribe, reactions).")
    var publicURL: String?
    @Option(name: .customLong("alert-check-seconds"),
            help: "Read the district alerts for planners' receivers (rgis alert-hooks) at most this often, when the market changed.")
    var alertCheckSeconds: Double = 300
    @Option(name: .customLong("link-days"), help: "Days the links in messages work (reactions, a digest's rest; an expired unsubscribe link still unsubscribes).")
    var linkDays: Double = 90
    @Option(name: .customLong("worker-lease-seconds"),
            help: "How long this worker's claims stay its own after each heartbeat (one every third of it): a worker that dies leaves its claims to the others within this.")
    var workerLeaseSeconds: Double = 30
    @OptionGroup var network: WebhookNetworkOptions

    func notifier(store: any Store, publicURLDefault: String, alertRules: AlertRules, clock: @escaping @Sendable () -> Date = { Date() },
                  logger: Logger = Logger(label: "rgis.notify")) throws -> Notifier {
        guard alertCheckSeconds.isFinite, alertCheckSeconds >= 0 else {
            throw RGISError(.invalidValue, "--alert-check-seconds is 0 or more seconds, not \(alertCheckSeconds)", at: "--alert-check-seconds")
        }
        guard linkDays.isFinite, linkDays > 0, linkDays <= 3650 else {
            throw RGISError(.invalidValue, "--link-days is more than 0 and at most 3650, not \(linkDays)", at: "--link-days")
        }
        guard workerLeaseSeconds.isFinite, workerLeaseSeconds >= 1, workerLeaseSeconds <= 3600 else {
            throw RGISError(.invalidValue, "--worker-lease-seconds is from 1 to 3600, not \(workerLeaseSeconds)", at: "--worker-lease-seconds")
        }
        var configuration = NotifierConfiguration()
        configuration.workerLeaseSeconds = workerLeaseSeconds
        configuration.linkLifetimeDays = linkDays
        configuration.mailFrom = mailFrom
        configuration.publicURL = publicURL ?? publicURLDefault
        guard mailFrom.split(separator: "@", omittingEmptySubsequences: false).count == 2, !mailFrom.contains(where: { $0.isWhitespace || "<>".contains($0) }) else { throw RGISError(.invalidValue, "'\(mailFrom)' is not an e-mail address", at: "--mail-from") }
        var mail: SMTPClient?
        if let smtp {
            var smtpConfiguration: SMTPConfiguration
            do { smtpConfiguration = try SMTPConfiguration(url: smtp) } catch { throw RGISError(.invalidValue, "\(error)", at: "--smtp") }
            guard let mode = SMTPConfiguration.StartTLS(rawValue: smtpStartTLS) else {
                throw RGISError(.invalidValue, "--smtp-starttls is never, if-offered or required, not '\(smtpStartTLS)'", at: "--smtp-starttls")
            }
            smtpConfiguration.startTLS = mode
            smtpConfiguration.username = smtpUser
            smtpConfiguration.password = ProcessInfo.processInfo.environment["RGIS_SMTP_PASSWORD"]
            smtpConfiguration.trustRootsFile = smtpCAFile
            smtpConfiguration.heloName = ProcessInfo.processInfo.hostName
            mail = SMTPClient(smtpConfiguration)
        }
        let alerts = AlertWatchConfiguration(engine: QueryEngine(store), rules: alertRules, minimumIntervalSeconds: alertCheckSeconds)
        return Notifier(store: store, webhooks: try NIOWebhookTransport(targets: try network.targets()), mail: mail, configuration: configuration, alerts: alerts,
                        clock: clock, logger: logger)
    }
}

/// `rgis notify`: the notifier as its own worker, and its state.
struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Deliver saved-search notifications, or show how delivery stands.",
        subcommands: [NotifyRunCommand.self, NotifyStatusCommand.self]
    )
}

struct NotifyRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Match new listing events against saved searches and deliver what is due, until stopped (or once).",
        discussion: """
            Several workers may run on one database (rgis serve runs one too): each claims what it sends, and a \
            worker that dies leaves its claims to the others once its lease runs out (--worker-lease-seconds). Webhooks are retried about 5 s, 5 min, 30 min, 2 h, 5 h, \
            10 h and 10 h after a failure, with the same webhook-id; 410 disables the endpoint, as do five days of \
            failures. A 5xx reply of the mail server disables the address; a 4xx is retried.

            The same worker pushes the early warning to planners' receivers (rgis alert-hooks): when the market, \
            the month or the rules changed, it reads the alerts in force and sends district.alert.raised and \
            district.alert.cleared for what changed, on the same retry rules.
            """
    )

    @OptionGroup var target: DatabaseArgument
    @OptionGroup var delivery: DeliveryOptions
    @Flag(help: "One round: match, deliver what is due, then exit (prints what it did as JSON).") var once = false
    @Option(help: "Run as if it were this time (RFC 3339), for replays and tests; with --once.") var at: String?
    @Option(name: .customLong("alert-rules"), help: "A JSON file of early-warning rule changes (see rgis alerts --help).")
    var alertRules: String?

    func run() async throws {
        try await reportingErrors {
            var clock: @Sendable () -> Date = { Date() }
            if let at {
                guard once else { throw RGISError(.invalidValue, "--at needs --once", at: "--at") }
                guard let fixed = Timestamp.date(at) else { throw RGISError(.invalidValue, "'\(at)' is not an RFC 3339 time", at: "--at") }
                clock = { fixed }
            }
            let store = try await StoreLocation.open(target.database)
            let rules = try alertRules.map(AlertRules.reading(file:)) ?? AlertRules()
            let notifier = try delivery.notifier(store: store, publicURLDefault: "http://127.0.0.1:8080", alertRules: rules, clock: clock)
            if once {
                let round = try await notifier.runOnce()
                try await notifier.endLease()
                Console.out(round.json.jsonText + "\n")
            } else {
                Console.note("rgis: delivering notifications from \(target.database) (Ctrl-C stops)")
                try await notifier.runUntilSignalled()
            }
        }
    }
}

struct NotifyStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the outbox counts (queued, retry backlog, sent, failed, oldest pending age) and the webhook endpoints as JSON."
    )

    @OptionGroup var target: DatabaseArgument
    @Option(help: "Only this agent's clients.") var agent: String?

    func run() async throws {
        try await reportingErrors {
            let store = try await StoreLocation.open(target.database)
            let counts = try await store.notificationCounts(agent: agent, now: Date())
            let endpoints = try await store.webhookEndpoints(agent: agent)
            Console.out(JSONValue.object(["counts": counts.json, "webhooks": .array(endpoints.map(\.json))]).jsonText + "\n")
        }
    }
}
