import Foundation
import RGISCore
import RGISStore

/// What a notification says: the `listing.matched` webhook payload, and the e-mail (one listing, or a
/// digest of a local day with at most ``MessageComposer/digestLimit`` listings and a link to the rest).
/// Every link is signed (``LinkSigner``): a favourite / not-for-me reaction per listing, and the
/// one-click unsubscribe of RFC 8058.
public struct MessageComposer: Sendable {
    public static let digestLimit = 20

    public let mailFrom: String
    /// Where the links point: the server's public base URL, without a trailing slash.
    public let publicURL: String
    public let signer: LinkSigner
    /// When the links of the messages composed now stop working.
    public let linksExpire: Date

    public init(mailFrom: String, publicURL: String, signer: LinkSigner, linksExpire: Date) {
        self.mailFrom = mailFrom
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.signer = signer
        self.linksExpire = linksExpire
    }

    // MARK: Links

    public func unsubscribeURL(_ subscription: Int64) -> String {
        "\(publicURL)/notifications/unsubscribe?token=\(signer.token(["unsubscribe", String(subscription)], expires: linksExpire))"
    }

    public func reactionURL(_ messageID: String, _ reaction: Reaction) -> String {
        "\(publicURL)/notifications/react?token=\(signer.token(["react", messageID, reaction.rawValue], expires: linksExpire))"
    }

    public func digestURL(_ subscription: Int64, day: String) -> String {
        "\(publicURL)/notifications/digest?token=\(signer.token(["digest", String(subscription), day], expires: linksExpire))"
    }

    // MARK: Webhooks

    /// One `listing.matched` event (Standard Webhooks' `type`, `timestamp`, `data`).
    public func webhookPayload(_ item: DeliveryItem, _ subscription: Subscription, listing: StoredFeature, now: Date) -> [UInt8] {
        var data: [String: JSONValue] = [
            "message_id": .string(item.messageID), "event_id": .int(item.eventID), "reason": .string(item.reason.rawValue),
            "demand_id": .string(subscription.demandID), "subscription_id": .int(subscription.id),
            "listing": listing.featureJSON,
            "links": .object(["favourite": .string(reactionURL(item.messageID, .favourite)),
                              "not_for_me": .string(reactionURL(item.messageID, .notForMe))]),
        ]
        if let client = subscription.clientID { data["client_id"] = .string(client) }
        if let agent = subscription.agent { data["agent"] = .string(agent) }
        if let score = item.score { data["score"] = .double(score) }
        let event: JSONValue = .object(["type": .string("listing.matched"), "timestamp": .string(Timestamp.text(now)), "data": .object(data)])
        return Array(event.jsonText.utf8)
    }

    // MARK: E-mail

    /// The message for a delivery: `listings` are the items' listings in the items' order.
    public func mail(_ delivery: Delivery, listings: [(DeliveryItem, StoredFeature)], to address: String, now: Date, hostName: String) -> OutgoingMail {
        let s = delivery.subscription
        let shown = Array(listings.prefix(Self.digestLimit))
        let more = listings.count - shown.count
        let subject: String
        if let day = delivery.items.first?.digestDay {
            subject = listings.count == 1 ? "1 new listing for your search (\(day))" : "\(listings.count) new listings for your search (\(day))"
        } else if let (item, listing) = listings.first {
            subject = "\(Self.headline(item.reason)): \(Self.summary(listing))"
        } else {
            subject = "Listings for your search"
        }
        var text = "Listings that fit your search \(s.demandID):\n\n"
        var html = "<!doctype html><html><body><p>Listings that fit your search <b>\(Self.escape(s.demandID))</b>:</p><ul>\n"
        for (item, listing) in shown {
            let like = reactionURL(item.messageID, .favourite), notForMe = reactionURL(item.messageID, .notForMe)
            text += "* \(Self.headline(item.reason)): \(Self.summary(listing))\n  Favourite: \(like)\n  Not for me: \(notForMe)\n\n"
            html += "<li><b>\(Self.escape(Self.headline(item.reason)))</b>: \(Self.escape(Self.summary(listing))) — "
                + "<a href=\"\(Self.escape(like))\">Favourite</a> · <a href=\"\(Self.escape(notForMe))\">Not for me</a></li>\n"
        }
        if more > 0, let day = delivery.items.first?.digestDay {
            let all = digestURL(s.id, day: day)
            text += "\(more) more: \(all)\n\n"
            html += "</ul><p><a href=\"\(Self.escape(all))\">\(more) more</a></p>\n"
        } else {
            html += "</ul>\n"
        }
        let unsubscribe = unsubscribeURL(s.id)
        text += "Stop these messages: \(unsubscribe)\n"
        html += "<p style=\"font-size:small\"><a href=\"\(Self.escape(unsubscribe))\">Stop these messages</a></p></body></html>\n"

        let boundary = "=_rgis_" + (delivery.items.first?.messageID ?? "m")
        let messageID = (delivery.items.first?.messageID ?? "m") + (delivery.isDigest ? ".digest" : "")
        let headers = [
            "From: \(mailFrom)", "To: \(address)", "Subject: \(Self.encodedWord(subject))", "Date: \(Self.rfc5322Date(now))",
            "Message-ID: <\(messageID)@\(hostName)>", "MIME-Version: 1.0", "Auto-Submitted: auto-generated",
            "List-Unsubscribe: <\(unsubscribe)>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
        ]
        var data = headers.joined(separator: "\r\n") + "\r\n\r\n"
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            data += "--\(boundary)\r\nContent-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            data += Self.base64Lines(body) + "\r\n"
        }
        data += "--\(boundary)--\r\n"
        return OutgoingMail(from: mailFrom, to: address, data: data)
    }

    static func headline(_ reason: NotificationRules.Reason) -> String {
        switch reason {
        case .new: "New listing"
        case .priceChange: "Price change"
        case .backOnMarket: "Back on the market"
        case .changed: "Updated listing"
        }
    }

    /// `house, 5 bedrooms, 187.8 m², 731,000 — Hafenstraße 2 (L00001)`.
    public static func summary(_ listing: StoredFeature) -> String {
        let p = listing.properties
        var parts: [String] = []
        if let type = p["property_type"]?.stringValue { parts.append(type) }
        if let b = p["bedrooms"]?.number.map({ Int(saturating: $0) }) { parts.append(b == 1 ? "1 bedroom" : "\(b) bedrooms") }
        if let a = p["living_area_m2"]?.number { parts.append("\(MatchScore.number(a)) m²") }
        if let price = p["list_price"]?.number { parts.append(MatchScore.money(price)) }
        var s = parts.joined(separator: ", ")
        if let address = p["address"]?.stringValue { s += " — \(address)" }
        return s + " (\(listing.id))"
    }

    /// Text for HTML: `&`, `<`, `>` and `"` as entities.
    public static func escape(_ s: String) -> String { MarkupText.escape(s) }

    /// RFC 2047 for a header with non-ASCII text.
    static func encodedWord(_ s: String) -> String {
        s.allSatisfy(\.isASCII) ? s : "=?UTF-8?B?\(Data(s.utf8).base64EncodedString())?="
    }

    static func base64Lines(_ s: String) -> String {
        let encoded = Data(s.utf8).base64EncodedString()
        var lines: [Substring] = []
        var rest = Substring(encoded)
        while !rest.isEmpty {
            lines.append(rest.prefix(76))
            rest = rest.dropFirst(76)
        }
        return lines.joined(separator: "\r\n")
    }

    static func rfc5322Date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f.string(from: date)
    }
}

extension StoredFeature {
    /// The feature as a JSON value, for a payload that carries it.
    var featureJSON: JSONValue {
        .object(["type": .string("Feature"), "id": .string(id),
                 "geometry": (try? JSONValue.parse(Array(geometryGeoJSON.utf8))) ?? .null, "properties": .object(properties)])
    }
}
