/// Which listing events start a match, and when a client who was already sent a listing hears of it again.
public enum NotificationRules {
    /// Why a client hears of a listing.
    public enum Reason: String, Sendable, CaseIterable {
        case new
        case priceChange = "price_change"
        case backOnMarket = "back_on_market"
        /// Its type, size, bedrooms or place changed, so that it may fit now.
        case changed
    }

    /// A price drop that is news even to a client who was sent the listing: 5 %.
    public static let newsworthyPriceDrop = 0.05

    /// The reason a listing event may start a match, or nil (a status change away from active, a withdrawal).
    public static func reason(kind: String, newValue: String?) -> Reason? {
        switch kind {
        case "new": .new
        case "price_change": .priceChange
        case "status_change": newValue == "active" ? .backOnMarket : nil
        case "update": .changed
        default: nil
        }
    }

    /// What a client was already sent of a listing, from the ledger and the queue.
    public struct Previous: Sendable {
        public let priceSent: Double?
        public let notForMe: Bool
        public init(priceSent: Double?, notForMe: Bool) {
            self.priceSent = priceSent
            self.notForMe = notForMe
        }
    }

    /// Whether a fitting listing is notified: always the first time; never again once the client said
    /// "not for me"; again when it comes back on the market, or on a price change that the demand asks
    /// for (`priceUpdates`) or that is a drop of at least ``newsworthyPriceDrop``.
    public static func notifies(_ reason: Reason, previous: Previous?, price: Double?, priceUpdates: Bool) -> Bool {
        guard let previous else { return true }
        if previous.notForMe { return false }
        switch reason {
        case .new, .changed: return false
        case .backOnMarket: return true
        case .priceChange:
            if priceUpdates { return true }
            guard let price, let sent = previous.priceSent, sent > 0 else { return false }
            return price <= sent * (1 - newsworthyPriceDrop)
        }
    }
}
