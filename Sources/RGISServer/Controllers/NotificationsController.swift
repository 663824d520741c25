import Foundation
import HTTPTypes
import Hummingbird
import RGISCore
import RGISNotify
import RGISStore

/// Saved searches and what was sent: an agent's subscriptions, webhook endpoints, notifications and
/// clients' ledgers; and the signed links in messages (unsubscribe, reactions, a digest's full list),
/// which need no account: the link itself is the credential.
struct NotificationsController {
    let state: ServerState

    static let subscriptionID = ParameterSpec("subscriptionId", .integer, required: true, "A subscription's id")
    static let token = [ParameterSpec("token", .string, required: true, "The signed token from the message's link")]
    static let subscriptionSchema: JSONValue = .object([
        "type": .string("object"),
        "properties": .object([
            "email": .object(["type": .string("string"), "description": .string("The client's address (or webhook)")]),
            "webhook": .object(["type": .string("string"), "description": .string("The agent's CRM endpoint, http(s)")]),
            "secret": .object(["type": .string("string"), "description": .string("The webhook's signing secret, whsec_…")]),
            "schedule": .object(["type": .string("string"), "enum": .array([.string("instant"), .string("daily")])]),
            "digest_hour": .object(["type": .string("integer"), "minimum": .int(0), "maximum": .int(23)]),
            "timezone": .object(["type": .string("string"), "description": .string("IANA zone, e.g. Europe/Prague")]),
            "quiet_hours": .object(["type": .string("string"), "description": .string("HH:MM-HH:MM, local")]),
            "price_updates": .object(["type": .string("boolean")]),
            "backfill": .object(["type": .string("boolean"), "description": .string("Also queue the listings that fit now")]),
        ]),
    ])

    var endpoints: [Endpoint] {
        let demand = [RecordsController.demandID]
        let limit = [ParameterSpec("limit", .integer, "Notifications to show (1–1000, default 100)", minimum: 1, maximum: 1000)]
        return [
            Endpoint(method: .get, path: "/demands/{demandId}/subscriptions", operationID: "demandSubscriptions",
                     summary: "A demand's saved searches (alert settings)", tag: "Notifications", pathParameters: demand,
                     access: .agents, handler: demandSubscriptions),
            Endpoint(method: .post, path: "/demands/{demandId}/subscriptions", operationID: "createSubscription",
                     summary: "Saves a search for a demand of the caller's: e-mail to the client or a signed webhook to the agent's CRM, instant or a daily digest, in the client's time zone",
                     tag: "Notifications", pathParameters: demand, body: "The alert settings", bodySchema: Self.subscriptionSchema,
                     success: 201, access: .agents, handler: createSubscription),
            Endpoint(method: .get, path: "/subscriptions", operationID: "listSubscriptions",
                     summary: "The caller's saved searches (an admin: everyone's)", tag: "Notifications", access: .agents, handler: listSubscriptions),
            Endpoint(method: .patch, path: "/subscriptions/{subscriptionId}", operationID: "updateSubscription",
                     summary: "Turns a saved search on or off: {\"active\": false}", tag: "Notifications", pathParameters: [Self.subscriptionID],
                     body: "{\"active\": true|false}", access: .agents, handler: updateSubscription),
            Endpoint(method: .get, path: "/webhooks", operationID: "listWebhooks",
                     summary: "The caller's webhook endpoints, whether active, and why not (never their secrets)", tag: "Notifications",
                     access: .agents, handler: listWebhooks),
            Endpoint(method: .get, path: "/notifications", operationID: "listNotifications",
                     summary: "Counts (queued, retrying, sent, failed, oldest pending age) and the newest notifications of the caller's clients",
                     tag: "Notifications", query: limit, access: .agents, handler: listNotifications),
            Endpoint(method: .get, path: "/clients/{clientId}/ledger", operationID: "clientLedger",
                     summary: "What a client of the caller's was sent, when, how, and their reaction (favourite / not for me)",
                     tag: "Notifications", pathParameters: [RecordsController.clientID], access: .agents, handler: ledger),
            Endpoint(method: .get, path: "/notifications/unsubscribe", operationID: "unsubscribePage",
                     summary: "The page behind a message's unsubscribe link: a button that confirms", tag: "Message links",
                     query: Self.token, produces: "text/html", handler: unsubscribePage),
            Endpoint(method: .post, path: "/notifications/unsubscribe", operationID: "unsubscribe",
                     summary: "Stops a saved search's messages (RFC 8058 one-click: List-Unsubscribe=One-Click)", tag: "Message links",
                     query: Self.token, produces: "text/html", handler: unsubscribe),
            Endpoint(method: .get, path: "/notifications/react", operationID: "reactionPage",
                     summary: "The page behind a favourite / not-for-me link: a button that confirms", tag: "Message links",
                     query: Self.token, produces: "text/html", handler: reactionPage),
            Endpoint(method: .post, path: "/notifications/react", operationID: "react",
                     summary: "Records the client's reaction to a listing sent", tag: "Message links", query: Self.token,
                     produces: "text/html", handler: react),
            Endpoint(method: .get, path: "/notifications/digest", operationID: "digestPage",
                     summary: "Every listing of a daily digest (the \"N more\" link)", tag: "Message links", query: Self.token,
                     produces: "text/html", handler: digestPage),
        ]
    }

    // MARK: Agents

    private func ownedDemand(_ call: EndpointCall) async throws -> StoredRecord {
        let demand = try await state.records.record(.demand, id: call.path("demandId"))
        guard call.caller.owns(agent: demand.agent) else { throw RGISError(.forbidden, "demand '\(demand.id)' belongs to another agent", at: "demandId") }
        return demand
    }

    @Sendable func demandSubscriptions(_ call: EndpointCall) async throws -> Response {
        let demand = try await ownedDemand(call)
        let all = try await state.notifications.subscriptions(agent: demand.agent)
        let shown = all.filter { $0.demandID == demand.id }
        try await call.audit([demand.id])
        return .json(.object(["demand": .string(demand.id), "subscriptions": .array(shown.map(\.json))]))
    }

    @Sendable func createSubscription(_ call: EndpointCall) async throws -> Response {
        let demand = try await ownedDemand(call)
        let request = try SubscriptionRequest(demand: demand.id, json: try await call.body())
        let (subscription, backfilled) = try await Subscriptions.add(request, store: state.notifications, targets: state.webhookTargets, by: call.caller, now: state.now())
        try await call.audit([demand.id])
        var json = subscription.json
        if case .object(var o) = json { o["backfilled"] = .int(Int64(backfilled)); json = .object(o) }
        var response = Response.json(json)
        response.status = .created
        response.headers[.location] = "\(state.base(call.request))/subscriptions/\(subscription.id)"
        return response
    }

    private func agentScope(_ caller: Caller) -> String? { caller.isAdmin ? nil : caller.agent }

    @Sendable func listSubscriptions(_ call: EndpointCall) async throws -> Response {
        let all = try await state.notifications.subscriptions(agent: agentScope(call.caller))
        try await call.audit(Array(Set(all.map(\.demandID))).sorted())
        return .json(.object(["subscriptions": .array(all.map(\.json))]))
    }

    @Sendable func updateSubscription(_ call: EndpointCall) async throws -> Response {
        guard let id = Int64(call.path("subscriptionId")) else {
            throw RGISError(.malformedInput, "a subscription id is a whole number", at: "subscriptionId")
        }
        let subscription = try await state.notifications.subscription(id)
        guard call.caller.owns(agent: subscription.agent) else {
            throw RGISError(.forbidden, "subscription \(id) is for another agent's client", at: "subscriptionId")
        }
        guard case .object(let o) = try await call.body(), o.keys.allSatisfy({ $0 == "active" }), case .bool(let active)? = o["active"] else {
            throw RGISError(.invalidValue, "the body is {\"active\": true} or {\"active\": false}", at: "active")
        }
        let changed = try await state.notifications.setSubscription(id, active: active, reason: active ? nil : "turned off by \(call.caller.user ?? "the owner")")
        try await call.audit([subscription.demandID])
        return .json(changed.json)
    }

    @Sendable func listWebhooks(_ call: EndpointCall) async throws -> Response {
        let endpoints = try await state.notifications.webhookEndpoints(agent: agentScope(call.caller))
        return .json(.object(["webhooks": .array(endpoints.map(\.json))]))
    }

    @Sendable func listNotifications(_ call: EndpointCall) async throws -> Response {
        let limit = try call.parameters.int("limit") ?? 100
        guard (1...1000).contains(limit) else { throw RGISError(.malformedInput, "limit must be 1 to 1000, found \(limit)", at: "parameter limit") }
        let scope = agentScope(call.caller)
        let counts = try await state.notifications.notificationCounts(agent: scope, now: state.now())
        let list = try await state.notifications.notifications(agent: scope, limit: limit)
        // Which listing went to which client's demand, when and with what reaction: audited by demand.
        try await call.audit(Array(Set(list.map(\.demandID))).sorted())
        return .json(.object(["counts": counts.json, "notifications": .array(list.map(\.json))]))
    }

    @Sendable func ledger(_ call: EndpointCall) async throws -> Response {
        let client = try await state.records.record(.client, id: call.path("clientId"))
        guard call.caller.owns(agent: client.agent) else { throw RGISError(.forbidden, "client '\(client.id)' belongs to another agent", at: "clientId") }
        let entries = try await state.notifications.ledger(client: client.id)
        try await call.audit([client.id])
        return .json(.object(["client": .string(client.id), "sent": .array(entries.map(\.json))]))
    }

    // MARK: Message links

    private func linkParts(_ call: EndpointCall, _ purpose: String, count: Int) async throws -> [String] {
        let signer = LinkSigner(key: try await state.notifications.linkKey())
        guard let token = call.parameters["token"], let (parts, expired) = signer.verify(token, now: state.now()), parts.count == count,
              parts.first == purpose else {
            throw RGISError(.invalidValue, "this link is not valid (it may have been cut short when copied)", at: "parameter token")
        }
        // An expired link no longer shows or changes anything, except that it still unsubscribes: a
        // recipient who wants no more mail must never be refused.
        if expired && purpose != "unsubscribe" {
            throw RGISError(.invalidValue, "this link has expired; the newest message has links that work", at: "parameter token")
        }
        return parts
    }

    private static func page(_ title: String, _ body: String, status: HTTPResponse.Status = .ok) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\
            <title>\(escape(title))</title><link rel="stylesheet" href="/static/rgis/pages.css"></head><body>\
            <h1>\(escape(title))</h1>\(body)</body></html>
            """
        return .text(html, type: "text/html; charset=utf-8", status: status)
    }

    static func escape(_ s: String) -> String { MessageComposer.escape(s) }

    /// A form that POSTs back to the same URL: a GET never changes anything, so that link scanners
    /// in mail systems cannot unsubscribe or react for the client.
    private static func confirm(_ call: EndpointCall, _ text: String, button: String) -> String {
        let action = escape(call.request.uri.path + "?token=" + queryEscape(call.parameters["token"] ?? ""))
        return "<p>\(escape(text))</p><form method=\"post\" action=\"\(action)\"><button type=\"submit\">\(escape(button))</button></form>"
    }

    @Sendable func unsubscribePage(_ call: EndpointCall) async throws -> Response {
        let parts = try await linkParts(call, "unsubscribe", count: 2)
        guard let id = Int64(parts[1]) else { throw RGISError(.invalidValue, "this link is not valid", at: "parameter token") }
        let subscription = try await state.notifications.subscription(id)
        if !subscription.active { return Self.page("Unsubscribed", "<p>These messages are already stopped.</p>") }
        return Self.page("Stop these messages?", Self.confirm(call, "You will no longer be sent listings for this search.", button: "Unsubscribe"))
    }

    @Sendable func unsubscribe(_ call: EndpointCall) async throws -> Response {
        let parts = try await linkParts(call, "unsubscribe", count: 2)
        guard let id = Int64(parts[1]) else { throw RGISError(.invalidValue, "this link is not valid", at: "parameter token") }
        _ = try await state.notifications.setSubscription(id, active: false, reason: "unsubscribed by the recipient at \(Timestamp.text(state.now()))")
        return Self.page("Unsubscribed", "<p>You will no longer be sent listings for this search.</p>")
    }

    @Sendable func reactionPage(_ call: EndpointCall) async throws -> Response {
        let parts = try await linkParts(call, "react", count: 3)
        guard let reaction = Reaction(rawValue: parts[2]) else { throw RGISError(.invalidValue, "this link is not valid", at: "parameter token") }
        let text = reaction == .favourite ? "Mark this listing as a favourite? Your agent will see it." : "Not for you? You will not be sent this listing again."
        return Self.page(reaction == .favourite ? "Favourite" : "Not for me", Self.confirm(call, text, button: "Confirm"))
    }

    @Sendable func react(_ call: EndpointCall) async throws -> Response {
        let parts = try await linkParts(call, "react", count: 3)
        guard let reaction = Reaction(rawValue: parts[2]) else { throw RGISError(.invalidValue, "this link is not valid", at: "parameter token") }
        let entry = try await state.notifications.react(messageID: parts[1], reaction, now: state.now())
        return Self.page("Thank you", "<p>Noted for listing \(Self.escape(entry.listingID)): \(reaction == .favourite ? "a favourite" : "not for you").</p>")
    }

    @Sendable func digestPage(_ call: EndpointCall) async throws -> Response {
        let parts = try await linkParts(call, "digest", count: 3)
        guard let id = Int64(parts[1]) else { throw RGISError(.invalidValue, "this link is not valid", at: "parameter token") }
        let day = parts[2]
        let items = try await state.notifications.digest(subscription: id, day: day)
        var list = "<ul>"
        for id in items {
            guard let listing = try? await state.engine.item(.listings, id: id) else { continue }
            list += "<li>\(Self.escape(MessageComposer.summary(listing)))</li>"
        }
        list += "</ul>"
        return Self.page("Listings for your search, \(day)", list)
    }
}
