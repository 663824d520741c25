import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RGISBackends
import RGISCore
import RGISServer
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// Who asks, in the matrix.
enum Who: String, CaseIterable, Sendable {
    case anonymous, agentA, agentB, planner, regulator, admin, expired, revoked
}

/// A server on the access fixture with a user (and token) of each kind, on a clock fixed at the
/// second the expired token expires.
struct AccessServer: Sendable {
    static let clock = Timestamp.date("2026-06-01T00:00:00Z")!
    let directory: TemporaryDirectory
    let path: String
    let tokens: [Who: String]
    let listingA: String, listingB: String, clientB: String, districtID: String
    /// A saved search of agent A's client, e-mailed to the client's (personal) address.
    let subscriptionA: Int64
    /// The planner's receiver of alert webhooks.
    let alertHook: Int64

    init() async throws {
        directory = try Fixtures.temporaryDirectory()
        let database = try AccessFixture.database(in: directory)
        path = database.path
        (listingA, listingB) = try AccessFixture.listings(database)
        clientB = try AccessFixture.clientB(database)
        districtID = try await database.read { db in try String.fetchOne(db, sql: "SELECT id FROM districts WHERE level = 'district' ORDER BY fid LIMIT 1")! }
        let store = try await StoreLocation.open(database.path)
        let created = Timestamp.date("2026-01-01T00:00:00Z")!
        let users: [(Who, User)] = [
            (.agentA, User(name: "alice", role: .agent, agent: AccessFixture.agentA)),
            (.agentB, User(name: "bruno", role: .agent, agent: AccessFixture.agentB)),
            (.planner, User(name: "petra", role: .planner)),
            (.regulator, User(name: "radek", role: .regulator)),
            (.admin, User(name: "ada", role: .admin)),
        ]
        var tokens: [Who: String] = [:]
        for (who, user) in users {
            try await store.addUser(user)
            tokens[who] = try await store.createToken(user: user.name, expires: nil, now: created)
        }
        // Alice's other tokens: one that expires at the server's present second, one revoked.
        tokens[.expired] = try await store.createToken(user: "alice", expires: Self.clock, now: created)
        let revoked = try await store.createToken(user: "alice", expires: nil, now: created)
        try await store.revokeToken(revoked, now: created)
        tokens[.revoked] = revoked
        self.tokens = tokens
        subscriptionA = try await store.addSubscription(demand: AccessFixture.demandA, try AlertSettings(channel: .email(AccessFixture.Marker.emailA.rawValue)),
                                                        by: .fileOwner, now: created).id
        alertHook = try await store.addAlertHook(owner: "petra", try AlertHookRequest(url: "http://planner.test/alerts", secret: AccessServer.hookSecret, level: nil),
                                                 now: created).id
    }

    static let hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    func test<T>(rateLimit: Int = 0, live: Bool = false, configure: (inout ServerConfiguration) -> Void = { _ in },
                 _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        var configuration = ServerConfiguration(databasePath: path)
        configuration.port = 0
        configuration.baseURL = "http://rgis.test"
        configuration.requestTimeoutSeconds = 300
        configuration.rateLimitPerMinute = rateLimit
        configuration.now = { AccessServer.clock }
        configure(&configuration)
        // The application is handed its store (it opens none itself).
        return try await buildApplication(configuration, store: try await StoreLocation.open(path)).test(live ? .live : .router, body)
    }

    func headers(_ who: Who, _ extra: HTTPFields = [:]) -> HTTPFields {
        var headers = extra
        if let token = tokens[who] { headers[.authorization] = "Bearer \(token)" }
        return headers
    }
}

/// The README's role table, written out independently of the server's own `Access` values.
enum RoleTable {
    static let publicOperations: Set<String> = [
        "getLandingPage", "getConformance", "getHealth", "getMetrics", "getAPI", "getCollections", "describeCollection", "getFeatures",
        "getFeature", "getMap", "getPageAsset", "getLeafletFile", "getLeafletImage", "searchRadius", "searchNearest", "searchPolygon", "locate", "districtListings",
        "indicators", "indicatorSeries", "indicatorForecasts", "describeAlerts", "getAlerts", "getAlert", "alertFeed", "getTileMatrixSets", "getTileMatrixSet", "getTilesets",
        "getTileset", "getTile", "listingClusters", "optionsFeatures", "optionsFeature", "listingEvents",
        "unsubscribePage", "unsubscribe", "reactionPage", "react", "digestPage",
    ]
    /// Agents' operations on agent A's records: agent B is refused.
    static let ownRecordOperations: Set<String> = [
        "getClient", "replaceClient", "updateClient", "deleteClient", "clientDemands", "createDemand", "getDemand", "replaceDemand",
        "updateDemand", "deleteDemand", "demandEvents", "matchDemand", "replaceListing", "updateListing", "deleteListing",
        "demandSubscriptions", "createSubscription", "updateSubscription", "clientLedger",
    ]
    /// Agents' operations any agent may call, each on their own share.
    static let anyAgentOperations: Set<String> = ["listClients", "createClient", "createListing", "matchListing", "matchNewListing",
                                                  "listSubscriptions", "listWebhooks", "listNotifications", "valuation"]
    static let plannerOperations: Set<String> = ["indicatorSegments", "indicatorUnmet", "listAlertHooks", "createAlertHook", "updateAlertHook"]
    static let archiveOperations: Set<String> = [
        "describeArchiveParcels", "getArchiveParcels", "getArchiveParcel", "recordArchiveEvent", "archiveLineage", "archiveRights",
    ]

    /// The status a caller gets; `success` is what an allowed caller gets for the sample request.
    static func expected(_ operation: String, _ who: Who, success: Int) -> Int? {
        if who == .expired || who == .revoked { return 401 }
        if publicOperations.contains(operation) { return success }
        if who == .anonymous { return 401 }
        if ownRecordOperations.contains(operation) {
            return who == .agentA || who == .admin ? success : 403
        }
        if anyAgentOperations.contains(operation) {
            return who == .agentA || who == .agentB || who == .admin ? success : 403
        }
        if plannerOperations.contains(operation) {
            return who == .planner || who == .admin ? success : 403
        }
        if archiveOperations.contains(operation) {
            return who == .regulator || who == .admin ? success : 403
        }
        return nil
    }

    /// The markers a caller may ever see.
    static func allowed(_ who: Who) -> Set<AccessFixture.Marker> {
        switch who {
        case .agentA: [.contactA, .emailA, .privateA]
        case .agentB: [.contactB, .phoneB, .privateB]
        case .regulator: [.partyName]
        case .admin: Set(AccessFixture.Marker.allCases)
        default: []
        }
    }
}

@Suite("Roles and personal data")
struct AccessMatrixTests {
    /// One sample request per operation of `/api`, sent as every kind of caller.
    struct Sample {
        var path: String
        var body: String?
        /// An admin writes for an agent, so names one.
        var adminBody: String?
        var headers: HTTPFields = [:]
        var success = 200
        /// Markers an allowed caller must see (so that the leak check cannot pass on an empty answer).
        var mustShow: Set<AccessFixture.Marker> = []
    }

    static func sample(_ operation: String, method: String, template: String, _ server: AccessServer) -> Sample {
        let values = ["collectionId": "listings", "featureId": server.listingA, "listingId": server.listingA, "clientId": AccessFixture.clientA,
                      "demandId": AccessFixture.demandA, "parcelId": AccessFixture.parcel, "districtId": "D01", "file": "leaflet.js",
                      "subscriptionId": String(server.subscriptionA), "hookId": String(server.alertHook),
                      "tileMatrixSetId": "WebMercatorQuad", "tileMatrix": "13", "tileRow": "2846", "tileCol": "4301"]
        var path = template
        for (name, value) in values { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
        let point = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"list_price":300000,"property_type":"apartment","bedrooms":2,"living_area_m2":60}}"#
        let stale: HTTPFields = [.ifMatch: "\"stale\""]
        var s = Sample(path: path)
        switch operation {
        case "getLeafletImage": s.path = "/static/leaflet/images/marker-icon.png"
        case "getPageAsset": s.path = "/static/rgis/map.js"
        case "searchRadius": s.path += "?lon=9.05&lat=48.03&radius_m=500"
        case "searchNearest": s.path += "?lon=9.05&lat=48.03&k=5"
        case "searchPolygon": s.body = #"{"type":"Polygon","coordinates":[[[9.04,48.02],[9.06,48.02],[9.06,48.04],[9.04,48.04],[9.04,48.02]]]}"#
        case "locate": s.path += "?lon=9.05&lat=48.03"
        case "indicatorSegments": s.path += "?by=household"
        case "valuation": s.path += "?listing=\(server.listingA)"
        case "listingClusters": s.path += "?bbox=9.0,48.0,9.1,48.1&zoom=12"
        case "districtListings": s.path = "/districts/\(server.districtID)/listings"
        case "matchNewListing": s.body = point
        case "getFeature": s.mustShow = [.privateA]
        case "getClient": s.mustShow = [.contactA]
        case "clientDemands": s.mustShow = []
        case "createListing": (s.body, s.success) = (point, 201)
        case "createClient":
            (s.body, s.success) = (#"{"lifecycle_stage":"viewing","contact":{"name":"New Client","email":"new@example.test"}}"#, 201)
            s.adminBody = #"{"agent":"agent-01","lifecycle_stage":"viewing"}"#
        case "createDemand":
            (s.body, s.success) = (#"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"radius_m":800,"budget_max":400000}}"#, 201)
        case "replaceListing", "replaceDemand": (s.body, s.headers, s.success) = (point, stale, 412)
        case "updateListing", "updateDemand": (s.body, s.headers, s.success) = (#"{"properties":{"list_price":1}}"#, stale, 412)
        case "replaceClient": (s.body, s.headers, s.success) = (#"{"lifecycle_stage":"lost"}"#, stale, 412)
        case "updateClient": (s.body, s.headers, s.success) = (#"{"lifecycle_stage":"lost"}"#, stale, 412)
        case "deleteListing", "deleteClient", "deleteDemand": (s.headers, s.success) = (stale, 412)
        case "optionsFeatures", "optionsFeature": s.success = 204
        case "getAlert": (s.path, s.success) = ("/collections/alerts/items/oversupply.nowhere", 404)
        case "getArchiveParcel": s.path = "/collections/archive-parcels/items/1"
        case "getArchiveParcels": s.path += "?limit=1000"; s.mustShow = [.partyName]
        case "archiveRights": s.path += "?date=2013-01-01"; s.mustShow = [.partyName]
        case "recordArchiveEvent": (s.body, s.success) = (#"{"kind":"transfer"}"#, 400)
        // A message link without a valid signature is refused, whoever follows it.
        case "unsubscribePage", "unsubscribe", "reactionPage", "react", "digestPage": (s.path, s.success) = (s.path + "?token=forged.link", 422)
        case "createSubscription": (s.body, s.success) = (#"{"email":"new.client@example.test","timezone":"Europe/Prague","quiet_hours":"22:00-07:00"}"#, 201)
        case "updateSubscription", "updateAlertHook": s.body = #"{"active":true}"#
        case "createAlertHook": (s.body, s.success) = (#"{"url":"http://planner.test/new","secret":"\#(AccessServer.hookSecret)","level":"district"}"#, 201)
        case "demandSubscriptions", "listSubscriptions": s.mustShow = [.emailA]
        default: break
        }
        return s
    }

    @Test("every operation of /api × every kind of caller: the role table's status, and personal data only to its owner")
    func matrix() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let api = try await client.execute(uri: "/api", method: .get) { try json($0) }
            let paths = try #require(api["paths"]?.objectValue)
            var checked = 0
            for (template, item) in paths.sorted(by: { $0.key < $1.key }) {
                for (method, operation) in (item.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    let id = try #require(operation["operationId"]?.stringValue)
                    // /api states the same rule: security on exactly the protected operations.
                    #expect((operation["security"] != nil) == !RoleTable.publicOperations.contains(id), "\(id): security in /api")
                    let sample = Self.sample(id, method: method, template: template, server)
                    for who in Who.allCases {
                        guard let want = RoleTable.expected(id, who, success: sample.success) else {
                            Issue.record("\(id) is not in the role table")
                            continue
                        }
                        var headers = server.headers(who, sample.headers)
                        if sample.body != nil { headers[.contentType] = "application/json" }
                        let (status, text, authenticate) = try await client.execute(
                            uri: sample.path, method: HTTPRequest.Method(method.uppercased())!, headers: headers,
                            body: (who == .admin ? sample.adminBody ?? sample.body : sample.body).map { ByteBuffer(string: $0) }
                        ) { ($0.status.code, String(buffer: $0.body), $0.headers[.wwwAuthenticate]) }
                        #expect(status == want, "\(method.uppercased()) \(sample.path) as \(who): \(status), want \(want): \(text.prefix(300))")
                        if status == 401 { #expect(authenticate?.contains(#"error="invalid_token""#) == true, "\(id) as \(who): WWW-Authenticate") }
                        let shown = Set(AccessFixture.Marker.allCases.filter { text.contains($0.rawValue) })
                        let leaked = shown.subtracting(RoleTable.allowed(who))
                        #expect(leaked.isEmpty, "\(method.uppercased()) \(sample.path) as \(who) shows \(leaked.map(\.rawValue))")
                        if status == want && (200..<300).contains(want) && (who == .admin || RoleTable.allowed(who).isSuperset(of: sample.mustShow)) {
                            #expect(shown.isSuperset(of: sample.mustShow), "\(id) as \(who) should show \(sample.mustShow.map(\.rawValue))")
                        }
                        checked += 1
                    }
                }
            }
            #expect(checked >= 46 * Who.allCases.count, "\(checked) requests")
        }
    }

    @Test("the reverse match shows an agent their own clients in full and other agents' matches only as a count")
    func reverseMatch() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            func match(_ who: Who) async throws -> JSONValue {
                try await client.execute(uri: "/match/listings/\(server.listingA)/demands", method: .get, headers: server.headers(who)) { try json($0) }
            }
            let all = try await match(.admin)
            let everyone = try #require(all["features"]?.arrayValue)
            #expect(everyone.count > 1)
            for who in [Who.agentA, .agentB] {
                let mine = try await match(who)
                let features = mine["features"]?.arrayValue ?? []
                let agent = who == .agentA ? AccessFixture.agentA : AccessFixture.agentB
                #expect(features.allSatisfy { $0["properties"]?["agent"]?.stringValue == agent })
                #expect(features.count + Int(mine["otherAgentsMatches"]?.number ?? -1) == everyone.count)
                #expect(features.count == everyone.filter { $0["properties"]?["agent"]?.stringValue == agent }.count)
            }
        }
    }

    @Test("past its budget a token gets 429 with Retry-After; other tokens and anonymous callers go on")
    func rateLimit() async throws {
        let server = try await AccessServer()
        try await server.test(rateLimit: 3) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/clients?limit=1", method: .get, headers: server.headers(.agentA)) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/clients?limit=1", method: .get, headers: server.headers(.agentA)) { response in
                #expect(response.status == .tooManyRequests)
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
            }
            try await client.execute(uri: "/clients?limit=1", method: .get, headers: server.headers(.agentB)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("reads of personal data leave audit rows naming user, endpoint and ids, never the data; the log refuses changes")
    func audit() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            try await client.execute(uri: "/clients/\(AccessFixture.clientA)", method: .get, headers: server.headers(.agentA)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/archive/parcels/\(AccessFixture.parcel)/rights?date=2013-01-01", method: .get, headers: server.headers(.regulator)) {
                #expect($0.status == .ok)
            }
            // Public reads are not personal: no row.
            try await client.execute(uri: "/collections/listings/items/\(server.listingB)", method: .get) { #expect($0.status == .ok) }
        }
        let database = try RGISDatabase.open(at: server.path)
        let entries = try await SpatiaLiteStore(database).audit(since: nil, user: nil)
        #expect(entries.map(\.endpoint) == ["/clients/{clientId}", "/archive/parcels/{parcelId}/rights"])
        #expect(entries.map(\.user) == ["alice", "radek"])
        #expect(entries[0].recordIDs == [AccessFixture.clientA])
        #expect(entries.allSatisfy { $0.at == AccessServer.clock })
        let raw = try await database.read { db in try String.fetchAll(db, sql: "SELECT at || user_name || endpoint || record_ids FROM audit_log") }.joined()
        #expect(!AccessFixture.Marker.allCases.contains { raw.contains($0.rawValue) })
        #expect(throws: (any Error).self) { try database.writeTransaction { db in try db.execute(sql: "UPDATE audit_log SET user_name = 'x'") } }
        #expect(throws: (any Error).self) { try database.writeTransaction { db in try db.execute(sql: "DELETE FROM audit_log") } }
    }

    @Test("a transfer records the new holder's name once; regulators read it in the rights, agents are refused")
    func partyNames() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let transfer = #"{"kind":"transfer","parcel":"2476","to":"P-NEW","party_name":"Marta Svobodová","date":"2014-01-01","recorded_at":"2014-01-02"}"#
            try await client.execute(uri: "/archive/events", method: .post, headers: server.headers(.regulator), body: ByteBuffer(string: transfer)) {
                #expect($0.status == .created, "\(String(buffer: $0.body))")
            }
            let renamed = #"{"kind":"transfer","parcel":"754","to":"P-NEW","party_name":"Someone Else","date":"2014-02-01","recorded_at":"2014-02-02"}"#
            try await client.execute(uri: "/archive/events", method: .post, headers: server.headers(.admin), body: ByteBuffer(string: renamed)) {
                #expect($0.status == .conflict)
            }
            let rights = try await client.execute(uri: "/archive/parcels/2476/rights?date=2014-06-01", method: .get, headers: server.headers(.regulator)) {
                try json($0)["rights"]?.arrayValue ?? []
            }
            #expect(rights.contains { $0["party"] == .string("P-NEW") && $0["party_name"] == .string("Marta Svobodová") })
            try await client.execute(uri: "/archive/parcels/2476/rights?date=2014-06-01", method: .get, headers: server.headers(.agentA)) {
                #expect($0.status == .forbidden)
            }
        }
    }
}
