/// A saved search to add, as the CLI's options or the JSON body of `POST /demands/{demandId}/subscriptions`
/// give it; both go through ``init(demand:email:webhook:secret:schedule:digestHour:timeZone:quietHours:priceUpdates:backfill:)``.
public struct SubscriptionRequest: Sendable {
    public let demand: String
    public let settings: AlertSettings
    /// Queue the listings that fit now, too (else only what is listed or changed from now on).
    public let backfill: Bool

    public init(demand: String, email: String?, webhook: String?, secret: String?, schedule: String?, digestHour: Int?,
                timeZone: String?, quietHours: String?, priceUpdates: Bool, backfill: Bool) throws {
        let channel: AlertSettings.Channel
        switch (email, webhook) {
        case (let address?, nil): channel = .email(address)
        case (nil, let url?):
            guard let secret else { throw RGISError(.invalidValue, "a webhook needs its signing secret (whsec_…)", at: "secret") }
            channel = .webhook(url: url, secret: secret)
        case (nil, nil): throw RGISError(.invalidValue, "give an e-mail address or a webhook URL", at: "email")
        case (_?, _?): throw RGISError(.invalidValue, "give an e-mail address or a webhook URL, not both", at: "webhook")
        }
        if email != nil, secret != nil { throw RGISError(.invalidValue, "a secret is for a webhook, not an e-mail address", at: "secret") }
        let scheduled: AlertSettings.Schedule
        switch schedule ?? "instant" {
        case "instant":
            if digestHour != nil { throw RGISError(.invalidValue, "a digest hour needs schedule daily", at: "digest_hour") }
            scheduled = .instant
        case "daily": scheduled = .daily(hour: digestHour ?? 8)
        case let other: throw RGISError(.invalidValue, "schedule is instant or daily, not '\(other)'", at: "schedule")
        }
        self.demand = demand
        self.settings = try AlertSettings(channel: channel, schedule: scheduled, timeZone: timeZone ?? "UTC",
                                          quietHours: try quietHours.map(QuietHours.init(parsing:)), priceUpdates: priceUpdates)
        self.backfill = backfill
    }

    public static let jsonMembers: Set<String> = ["email", "webhook", "secret", "schedule", "digest_hour", "timezone", "quiet_hours",
                                                  "price_updates", "backfill"]

    /// The body of `POST /demands/{demandId}/subscriptions`: unknown members and wrong types are refused by name.
    public init(demand: String, json: JSONValue) throws {
        guard case .object(let o) = json else { throw RGISError(.malformedInput, "the body is a JSON object", at: "body") }
        if let unknown = o.keys.sorted().first(where: { !Self.jsonMembers.contains($0) }) {
            throw RGISError(.invalidValue, "unknown member '\(unknown)' (known: \(Self.jsonMembers.sorted().joined(separator: ", ")))", at: unknown)
        }
        func text(_ key: String) throws -> String? {
            switch o[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw RGISError(.invalidValue, "\(key) is a string", at: key)
            }
        }
        func flag(_ key: String) throws -> Bool {
            switch o[key] {
            case nil, .null?: return false
            case .bool(let b)?: return b
            default: throw RGISError(.invalidValue, "\(key) is true or false", at: key)
            }
        }
        var hour: Int?
        switch o["digest_hour"] {
        case nil, .null?: break
        case let v?:
            guard let n = v.number, n == n.rounded(), (0...23).contains(n) else {
                throw RGISError(.invalidValue, "digest_hour is a whole number 0 to 23", at: "digest_hour")
            }
            hour = Int(n)
        }
        try self.init(demand: demand, email: text("email"), webhook: text("webhook"), secret: text("secret"), schedule: text("schedule"),
                      digestHour: hour, timeZone: text("timezone"), quietHours: text("quiet_hours"), priceUpdates: flag("price_updates"),
                      backfill: flag("backfill"))
    }
}
