import Foundation

/// How a client hears of new listings for one demand (a saved search): the channel, when messages
/// go out in the client's own time zone, and whether price changes of a listing already sent count.
public struct AlertSettings: Sendable, Equatable {
    public enum Channel: Sendable, Equatable {
        case email(String)
        /// An agent's webhook endpoint (its CRM), by URL and `whsec_…` signing secret.
        case webhook(url: String, secret: String)

        public var name: String {
            switch self {
            case .email: "email"
            case .webhook: "webhook"
            }
        }
    }

    public enum Schedule: Sendable, Equatable {
        /// As soon as a match is found (quiet hours permitting).
        case instant
        /// One digest a local day, at this hour (0–23).
        case daily(hour: Int)

        public var name: String {
            switch self {
            case .instant: "instant"
            case .daily: "daily"
            }
        }
    }

    public var channel: Channel
    public var schedule: Schedule
    /// An IANA zone (`Europe/Prague`): quiet hours and digest days are the client's local ones.
    public var timeZone: String
    public var quietHours: QuietHours?
    /// Whether a listing already sent is sent again on any price change (else only on a drop of
    /// ``NotificationRules/newsworthyPriceDrop`` or more).
    public var priceUpdates: Bool

    public init(channel: Channel, schedule: Schedule = .instant, timeZone: String = "UTC",
                quietHours: QuietHours? = nil, priceUpdates: Bool = false) throws {
        self.channel = channel
        self.schedule = schedule
        self.timeZone = timeZone
        self.quietHours = quietHours
        self.priceUpdates = priceUpdates
        try validate()
    }

    /// A receiver's URL: http or https with a host, no user name or password, at most 2,000 characters.
    /// Where it may point (public addresses only, unless the operator allows more) is the notifier's
    /// check, at registration and again at delivery, after the name is resolved.
    public static func checkWebhook(url: String, at field: String) throws {
        guard url.utf8.count <= 2000, !url.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " }),
              let u = URLComponents(string: url), u.scheme == "http" || u.scheme == "https", u.host?.isEmpty == false else {
            throw RGISError(.invalidValue, "'\(url.prefix(200))' is not an http(s) URL", at: field)
        }
        guard u.user == nil, u.password == nil, !(u.percentEncodedHost ?? "").contains("@") else {
            throw RGISError(.invalidValue, "a webhook URL carries no user name or password (use the signing secret)", at: field)
        }
    }

    private func validate() throws {
        switch channel {
        case .email(let address):
            guard Self.looksLikeEmail(address) else {
                throw RGISError(.invalidValue, "'\(address)' is not an e-mail address (name@domain)", at: "email")
            }
        case .webhook(let url, let secret):
            try Self.checkWebhook(url: url, at: "webhook")
            _ = try WebhookSecret(secret)
            if case .daily = schedule {
                throw RGISError(.invalidValue, "a webhook gets each match as it is found; daily digests are for e-mail", at: "schedule")
            }
        }
        if case .daily(let hour) = schedule, !(0...23).contains(hour) {
            throw RGISError(.invalidValue, "a digest hour is 0 to 23, not \(hour)", at: "digest_hour")
        }
        // A zone name is a path under the zone database: only its characters, never `..`.
        guard !timeZone.contains(".."), timeZone.count <= 64,
              timeZone.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/_+-".contains($0)) }),
              TimeZone(identifier: timeZone) != nil else {
            throw RGISError(.invalidValue, "'\(timeZone)' is not an IANA time zone (Area/City, e.g. Europe/Prague)", at: "timezone")
        }
    }

    /// One `@`, something on each side, a dot in the domain, no spaces or angle brackets (which
    /// would break the message's headers).
    public static func looksLikeEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              s.count <= 254 else { return false }
        return !s.contains { $0.isWhitespace || "<>()[],;:\"\\".contains($0) || !$0.isASCII }
    }
}

/// Local hours in which nothing is sent; a message due inside them waits for their end.
public struct QuietHours: Sendable, Equatable, CustomStringConvertible {
    /// Minutes after local midnight; `start > end` spans midnight (22:00–07:00).
    public let startMinute: Int
    public let endMinute: Int

    public init(startMinute: Int, endMinute: Int) throws {
        guard (0..<1440).contains(startMinute), (0..<1440).contains(endMinute), startMinute != endMinute else {
            throw RGISError(.invalidValue, "quiet hours are two different times of day, HH:MM-HH:MM", at: "quiet_hours")
        }
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// `22:00-07:00`.
    public init(parsing text: String) throws {
        let ends = text.split(separator: "-").map { $0.split(separator: ":") }
        guard ends.count == 2, ends.allSatisfy({ $0.count == 2 }),
              let h1 = Int(ends[0][0]), let m1 = Int(ends[0][1]), let h2 = Int(ends[1][0]), let m2 = Int(ends[1][1]),
              (0...23).contains(h1), (0...59).contains(m1), (0...23).contains(h2), (0...59).contains(m2) else {
            throw RGISError(.invalidValue, "'\(text)' is not HH:MM-HH:MM (e.g. 22:00-07:00)", at: "quiet_hours")
        }
        try self.init(startMinute: h1 * 60 + m1, endMinute: h2 * 60 + m2)
    }

    public func contains(minute: Int) -> Bool {
        startMinute < endMinute ? (startMinute..<endMinute).contains(minute) : minute >= startMinute || minute < endMinute
    }

    public var description: String {
        String(format: "%02d:%02d-%02d:%02d", startMinute / 60, startMinute % 60, endMinute / 60, endMinute % 60)
    }
}

/// A Standard Webhooks signing secret: `whsec_` and base64 of 24 to 64 random bytes.
public struct WebhookSecret: Sendable, Equatable {
    public let text: String
    public let key: [UInt8]

    public init(_ text: String) throws {
        guard text.hasPrefix("whsec_"), let data = Data(base64Encoded: String(text.dropFirst(6))), (24...64).contains(data.count) else {
            throw RGISError(.invalidValue, "a webhook secret is whsec_ and the base64 of 24 to 64 random bytes", at: "secret")
        }
        self.text = text
        self.key = Array(data)
    }
}
