/// A planner's receiver for the early warning (`district.alert.raised` / `district.alert.cleared`
/// webhooks), as `rgis alert-hooks add` or the body of `POST /alerts/hooks` gives it.
public struct AlertHookRequest: Sendable {
    public let url: String
    public let secret: WebhookSecret
    /// Only the alerts of this level; nil for every level.
    public let level: DistrictLevel?

    public init(url: String, secret: String, level: String?) throws {
        try AlertSettings.checkWebhook(url: url, at: "url")
        self.url = url
        self.secret = try WebhookSecret(secret)
        self.level = try level.map { text in
            guard let level = DistrictLevel(rawValue: text) else {
                throw RGISError(.invalidValue, "level is \(DistrictLevel.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'", at: "level")
            }
            return level
        }
    }

    public static let jsonMembers: Set<String> = ["url", "secret", "level"]

    /// The body of `POST /alerts/hooks`: unknown members and wrong types are refused by name.
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw RGISError(.malformedInput, "the body is a JSON object", at: "body") }
        if let unknown = o.keys.sorted().first(where: { !Self.jsonMembers.contains($0) }) {
            throw RGISError(.invalidValue, "unknown member '\(unknown)' (known: \(Self.jsonMembers.sorted().joined(separator: ", ")))", at: unknown)
        }
        func text(_ key: String, required: Bool) throws -> String? {
            switch o[key] {
            case nil, .null?:
                if required { throw RGISError(.invalidValue, "\(key) is required", at: key) }
                return nil
            case .string(let s)?: return s
            default: throw RGISError(.invalidValue, "\(key) is a string", at: key)
            }
        }
        try self.init(url: try text("url", required: true)!, secret: try text("secret", required: true)!, level: try text("level", required: false))
    }
}
