import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RGISBackends
import RGISCore
import RGISFiles
import RGISNotify
import RGISServer
import RGISSpatiaLite
import RGISStore
import RGISTesting
import Testing

/// Regression tests of the findings of an attack on the service: each would fail on the code before
/// its fix.
@Suite("Hardening: what an attacker with a token tried")
struct HardeningTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    @Test("a digest hour of 1e300 is a 422 naming digest_hour, and the server lives on")
    func digestHourOutOfRange() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            for hour in ["1e300", "-1e300", "24", "-1", "9223372036854775808", "7.5"] {
                let body = #"{"email":"c@example.com","schedule":"daily","digest_hour":\#(hour)}"#
                try await client.execute(uri: "/demands/\(AccessFixture.demandA)/subscriptions", method: .post,
                                         headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .unprocessableContent, "\(hour)")
                    #expect(String(buffer: response.body).contains("digest_hour"), "\(hour)")
                }
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("numbers past a field's range are refused naming the field and the range")
    func fieldRanges() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let cases: [(String, String, String)] = [
                ("/clients/\(AccessFixture.clientA)/demands", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"radius_m":1500,"area_max_m2":1e300}}"#, "area_max_m2"),
                ("/clients/\(AccessFixture.clientA)/demands", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"radius_m":1500,"budget_max":1e13}}"#, "budget_max"),
                ("/clients/\(AccessFixture.clientA)/demands", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"radius_m":1500,"bedrooms_min":1e19}}"#, "bedrooms_min"),
                ("/collections/listings/items", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"list_price":1e300}}"#, "list_price"),
                ("/collections/listings/items", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"bedrooms":9223372036854775807}}"#, "bedrooms"),
                ("/collections/listings/items", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"year_built":99999}}"#, "year_built"),
                ("/match/listing", #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"bedrooms":1e300}}"#, "bedrooms"),
            ]
            for (path, body, field) in cases {
                try await client.execute(uri: path, method: .post, headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: body)) { response in
                    let text = String(buffer: response.body)
                    #expect(response.status == .unprocessableContent, "\(path) \(field): \(text)")
                    #expect(text.contains("field \(field)") && text.contains("outside"), "\(text)")
                }
            }
        }
    }

    @Test("a demand stored with area_max_m2 1e300 (by an older release) no longer ends the process when matched")
    func storedHugeNumbersAreNotTrapped() async throws {
        let server = try await AccessServer()
        // Written past the checks, as a release that had none stored it.
        let database = try RGISDatabase.open(at: server.path)
        try await database.write { db in
            try db.execute(sql: "UPDATE demands SET area_max_m2 = 1e300, area_min_m2 = NULL, budget_max = 1e300, budget_min = NULL, bedrooms_min = NULL, property_types = NULL WHERE id = ?",
                           arguments: [AccessFixture.demandA])
        }
        try await server.test { client in
            let listing = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"list_price":250000,"living_area_m2":60,"bedrooms":2,"property_type":"apartment"}}"#
            try await client.execute(uri: "/match/listing?limit=1000", method: .post, headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: listing)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/match/demands/\(AccessFixture.demandA)/listings?limit=50", method: .get, headers: server.headers(.agentA)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("within 0–1e+300 m²"))
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("no withheld count of /indicators, /indicators/segments or /indicators/series can be recomputed from the published ones, at any level, field, period or month")
    func subtractionAttackFails() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let database = try Templates.demoCity(in: dir)
        _ = try database.importEvents(from: Fixtures.demo("events.csv"))
        #expect(try await rgis("users", "add", database.path, "petra", "--role", "planner").status == 0)
        let token = try await rgis("tokens", "create", database.path, "petra").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try ServerProcess(database: database.path, arguments: ["--no-notify", "--rate-limit", "0", "--request-timeout", "300"])
        defer { server.stop() }
        // The periods that leaked before: sales of the last months, a month of the history's first year.
        for period in [[], ["--since", "2026-10-01"], ["--since", "2026-11-01"], ["--as-of", "2025-01-31", "--since", "2025-01-01"]] {
            let result = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/suppression_attack.py").path,
                                                     "--url", server.url, "--token", token] + period)
            #expect(result.status == 0, "\(period): \(result.stdout.suffix(3000))\(result.stderr)")
            #expect(result.stdout.contains("0 recovered exactly, 0 exposed"), "\(period)")
        }
    }

    @Test("a segment value recorded as the word 'unknown' beside unrecorded ones is counted with them, not a crash")
    func unknownSegmentValue() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            for body in [#"{"age_band":"unknown","contact":{"name":"U One"}}"#, #"{"contact":{"name":"U Two"}}"#] {
                let id = try await client.execute(uri: "/clients", method: .post, headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .created)
                    return try #require(try JSONValue.parse(Array(response.body.readableBytesView))["id"]?.stringValue)
                }
                let demand = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.05,48.03]},"properties":{"radius_m":900}}"#
                try await client.execute(uri: "/clients/\(id)/demands", method: .post, headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: demand)) {
                    #expect($0.status == .created)
                }
            }
            for level in ["city", "district", "subdistrict"] {
                try await client.execute(uri: "/indicators/segments?level=\(level)&by=age_band", method: .get, headers: server.headers(.planner)) { response in
                    #expect(response.status == .ok, "\(level): \(String(buffer: response.body))")
                    let segments = try JSONValue.parse(Array(response.body.readableBytesView))["segments"]?.arrayValue ?? []
                    #expect(segments.filter { $0.stringValue == "unknown" }.count == 1, "\(segments)")
                }
            }
        }
    }

    @Test("hostile ids are refused; hostile names, addresses and properties show as text in every page and popup, run nothing, and break no CSP rule (headless Chromium)")
    func pagesRunNoInjectedScript() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (database, tokens) = try await Self.cityWithRoles(in: dir)
        let server = try ServerProcess(database: database.path, arguments: ["--no-notify", "--rate-limit", "0", "--request-timeout", "300"])
        defer { server.stop() }
        let result = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/xss_check.py").path, "--url", server.url,
                                                 "--agent-token", tokens["ann"]!, "--planner-token", tokens["pete"]!, "--regulator-token", tokens["rita"]!])
        #expect(result.status == 0, "\(result.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.joined(separator: "\n"))\(result.stderr.suffix(2000))")
        #expect(result.stdout.contains("xss_check: all checks passed"))
    }

    @Test("every operation of /api, with out-of-range numbers in every numeric parameter and body field: no 5xx, and the process lives (tools/hostile_numbers.py)")
    func everyEndpointSurvivesHostileNumbers() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { dir.remove() }
        let (database, tokens) = try await Self.cityWithRoles(in: dir)
        // The script starts the server itself (on a fresh copy after a crash, which is then a failure),
        // with its own SMTP sink and webhook receiver on loopback, which the allow-list opens.
        let serve = "\(Fixtures.rgisExecutable) serve {db} --port 0 --rate-limit 0 --request-timeout 60 --smtp {smtp} --smtp-starttls never --allow-webhook-network 127.0.0.0/8"
        let result = try await run("/usr/bin/python3", [Fixtures.packageRoot.appendingPathComponent("tools/hostile_numbers.py").path, "--quick", "--no-bisect",
                                                 "--settle", "1", "--token", tokens["root"]!, "--agent-token", tokens["ann"]!, "--planner-token", tokens["pete"]!,
                                                 "--regulator-token", tokens["rita"]!, "--db-template", database.path, "--serve", serve])
        let summary = result.stdout.split(separator: "\n").drop { !$0.hasPrefix("operations walked") }.joined(separator: "\n")
        #expect(result.status == 0, "\(summary.prefix(6000))\(result.stderr.suffix(2000))")
        #expect(summary.contains("failures:          0"), "\(summary.prefix(6000))")
        #expect(summary.contains("server restarts:   0"), "\(summary.prefix(2000))")
    }

    /// The demo city with the Prague plots as its archive and a user of each role (root, ann the
    /// agent of agent-01, pete the planner, rita the regulator), with their tokens by name.
    static func cityWithRoles(in dir: TemporaryDirectory) async throws -> (database: RGISDatabase, tokens: [String: String]) {
        let database = try Templates.demoCity(in: dir)
        let record = ArchiveRecord(date: try ValidDate(parsing: "2010-01-01"), recordedAt: try RecordTime(parsing: "2010-01-02", field: "recorded_at", day: .startOfDay))
        _ = try ArchiveRegister(database).register(.parcels, fromFile: Fixtures.shared("prague-bubenec/plots.geojson"), idField: "ID", record: record)
        var tokens: [String: String] = [:]
        for (name, role) in [("root", ["--role", "admin"]), ("ann", ["--role", "agent", "--agent", "agent-01"]), ("pete", ["--role", "planner"]), ("rita", ["--role", "regulator"])] {
            #expect(try await run(Fixtures.rgisExecutable, ["users", "add", database.path, name] + role).status == 0)
            tokens[name] = try await rgis("tokens", "create", database.path, name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return (database, tokens)
    }

    static let internalURLs = ["http://127.0.0.1:8080/crm", "http://localhost/crm", "http://LOCALHOST./crm", "http://api.localhost/x", "http://[::1]/crm",
                               "http://0x7f000001/crm", "http://2130706433/crm", "http://0177.0.0.1/crm", "http://127.1/crm",
                               "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/crm", "http://192.168.0.10/crm", "http://[::ffff:127.0.0.1]/x",
                               "http://100.64.0.1/crm", "http://0.0.0.0/crm", "http://user:pass@crm.example.com/hooks"]

    @Test("webhook endpoints and alert receivers on internal addresses, in every notation, or with credentials, are refused naming the field")
    func webhooksOnlyToTheOutsideWorld() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            for url in Self.internalURLs {
                let subscription = #"{"webhook":"\#(url)","secret":"\#(AccessServer.hookSecret)"}"#
                try await client.execute(uri: "/demands/\(AccessFixture.demandA)/subscriptions", method: .post,
                                         headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: subscription)) { response in
                    #expect(response.status == .unprocessableContent, "\(url): \(String(buffer: response.body))")
                    #expect(String(buffer: response.body).contains("webhook"), "\(url)")
                }
                let hook = #"{"url":"\#(url)","secret":"\#(AccessServer.hookSecret)"}"#
                try await client.execute(uri: "/alerts/hooks", method: .post, headers: server.headers(.planner, Self.json), body: ByteBuffer(string: hook)) { response in
                    #expect(response.status == .unprocessableContent, "\(url): \(String(buffer: response.body))")
                }
            }
            // A public address, and a name that does not resolve yet (judged again at delivery), are taken.
            for url in ["http://93.184.216.34/hooks", "https://crm.example.test/hooks"] {
                let subscription = #"{"webhook":"\#(url)","secret":"\#(AccessServer.hookSecret)"}"#
                try await client.execute(uri: "/demands/\(AccessFixture.demandA)/subscriptions", method: .post,
                                         headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: subscription)) { response in
                    #expect(response.status == .created, "\(url): \(String(buffer: response.body))")
                }
            }
        }
    }
}

/// The low findings, each pinned.
@Suite("Hardening: the smaller gaps")
struct HardeningGapsTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    static func body(_ response: TestResponse) -> String { String(buffer: response.body) }

    @Test("anonymous requests and failed sign-ins are limited per address, with Retry-After")
    func limitsPerAddress() async throws {
        let server = try await AccessServer()
        try await server.test(rateLimit: 600, configure: { $0.anonymousRateLimitPerMinute = 3; $0.failedSignInsPerMinute = 2 }) { client in
            for _ in 0..<3 { try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) } }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] != nil)
            }
            let bad: HTTPFields = [.authorization: "Bearer rgis_guessguessguessguessguessguessguessguessgue"]
            for _ in 0..<2 { try await client.execute(uri: "/clients", method: .get, headers: bad) { #expect($0.status == .unauthorized) } }
            try await client.execute(uri: "/clients", method: .get, headers: bad) { #expect($0.status == .tooManyRequests) }
            // The address is held back for every request with credentials, a right one included.
            try await client.execute(uri: "/clients", method: .get, headers: server.headers(.agentA)) { #expect($0.status == .tooManyRequests) }
        }
    }

    @Test("an id or a parameter with a control character (%00) is a 400, never served, never audited")
    func controlCharacters() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            for path in ["/clients/\(AccessFixture.clientA)%00", "/clients/\(AccessFixture.clientA)%0A", "/collections/listings/items?status=active%00",
                         "/demands/\(AccessFixture.demandA)%1B"] {
                try await client.execute(uri: path, method: .get, headers: server.headers(.agentA)) { response in
                    #expect(response.status == .badRequest, "\(path): \(Self.body(response))")
                    #expect(Self.body(response).contains("control character"))
                }
            }
        }
        let audit = try await SpatiaLiteStore.open(at: server.path).audit(since: nil, user: nil)
        #expect(!audit.contains { $0.recordIDs.contains { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } } })
    }

    @Test("links never take the Host header; a server off loopback needs --base-url")
    func hostHeaderNotReflected() async throws {
        let server = try await AccessServer()
        try await server.test(live: true, configure: { $0.baseURL = nil; $0.host = "127.0.0.1" }) { client in
            let port = try #require(client.port)
            let text = try await Self.blocking { try Self.raw(port: port, "GET /collections HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n") }
            #expect(text.hasPrefix("HTTP/1.1 200"), "\(text.prefix(200))")
            #expect(!text.contains("evil.example"))
            #expect(text.contains("\"http://127.0.0.1:\(port)/collections"), "\(text.prefix(600))")
        }
        var configuration = ServerConfiguration(databasePath: server.path)
        configuration.host = "0.0.0.0"
        let opened = try await StoreLocation.open(configuration.databasePath)
        #expect(throws: RGISError.self) { _ = try buildApplication(configuration, store: opened) }
        configuration.baseURL = "https://rgis.example.org"
        #expect(throws: Never.self) { _ = try buildApplication(configuration, store: opened) }
    }

    @Test("CSV cells a spreadsheet would run as formulas are written after an apostrophe; numbers stay numbers")
    func csvFormulas() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let listing = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.2,48.2]},"properties":{"list_price":250000,"address":"=HYPERLINK(\"http://evil.example\",\"x\")","note":"@SUM(A1)","extra":"+1-2"}}"#
            try await client.execute(uri: "/collections/listings/items", method: .post, headers: server.headers(.agentA, Self.json), body: ByteBuffer(string: listing)) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/collections/listings/items?f=csv&bbox=9.19,48.19,9.21,48.21", method: .get) { response in
                let text = Self.body(response)
                #expect(text.contains(#""'=HYPERLINK(""http://evil.example"",""x"")""#), "\(text)")
                #expect(text.contains("'@SUM(A1)") && text.contains("'+1-2"), "\(text)")
                #expect(text.contains(",250000,"), "\(text)")
            }
        }
    }

    @Test("an idempotency replay gives the record as it is now: contact data erased since is not given back")
    func idempotencyAfterErasure() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            let body = #"{"contact":{"name":"Erase Me-Marker","phone":"+420 777 000 999"}}"#
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "erase-1", .contentType: "application/json"]
            let id = try await client.execute(uri: "/clients", method: .post, headers: server.headers(.agentA, key), body: ByteBuffer(string: body)) { response in
                #expect(response.status == .created)
                return try #require(try JSONValue.parse(Array(response.body.readableBytesView))["id"]?.stringValue)
            }
            try await client.execute(uri: "/clients/\(id)", method: .patch, headers: server.headers(.agentA, [.contentType: "application/merge-patch+json"]),
                                     body: ByteBuffer(string: #"{"contact":null}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/clients", method: .post, headers: server.headers(.agentA, key), body: ByteBuffer(string: body)) { response in
                #expect(response.status == .created)
                #expect(response.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
                #expect(!Self.body(response).contains("Erase Me-Marker"), "\(Self.body(response))")
            }
        }
        #expect(try await run("/bin/grep", ["-q", "-s", "-a", "-F", "Erase Me-Marker", server.path, server.path + "-wal"]).status != 0, "no copy of the erased name is kept")
    }

    @Test("private fields under other spellings (privateRemarks, Private-Remarks, AgentRemarks, sellerPhone) are kept private")
    func privateFieldAliases() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            for (key, marker) in [("privateRemarks", "Alias-One-Marker"), ("Private-Remarks", "Alias-Two-Marker"), ("AgentRemarks", "Alias-Three-Marker"),
                                  ("sellerPhone", "Alias-Four-Marker"), ("showing_contact_phone", "Alias-Five-Marker")] {
                let listing = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[9.06,48.03]},"properties":{"list_price":300000,"\#(key)":"\#(marker)"}}"#
                let id = try await client.execute(uri: "/collections/listings/items", method: .post, headers: server.headers(.agentA, Self.json),
                                                  body: ByteBuffer(string: listing)) { response in
                    #expect(response.status == .created, "\(key)")
                    return try #require(try JSONValue.parse(Array(response.body.readableBytesView))["id"]?.stringValue)
                }
                try await client.execute(uri: "/collections/listings/items/\(id)", method: .get) { #expect(!Self.body($0).contains(marker), "\(key) shown publicly") }
                try await client.execute(uri: "/collections/listings/items/\(id)", method: .get, headers: server.headers(.agentA)) {
                    #expect(Self.body($0).contains(marker), "\(key) kept for its agent")
                }
            }
        }
    }

    @Test("signed links expire: an expired reaction link does nothing, an expired unsubscribe link still unsubscribes")
    func signedLinksExpire() async throws {
        let server = try await AccessServer()
        let store = try SpatiaLiteStore.open(at: server.path)
        let signer = LinkSigner(key: try await store.linkKey())
        let past = AccessServer.clock.addingTimeInterval(-1)
        let react = signer.token(["react", "msg_1", "favourite"], expires: past)
        let unsubscribe = signer.token(["unsubscribe", String(server.subscriptionA)], expires: past)
        let legacy = signer.signed(["react", "msg_1", "favourite"])
        try await server.test { client in
            for token in [react, legacy] {
                try await client.execute(uri: "/notifications/react?token=\(token)", method: .post) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(Self.body(response).contains("expired"))
                }
            }
            try await client.execute(uri: "/notifications/unsubscribe?token=\(unsubscribe)", method: .post) { #expect($0.status == .ok) }
        }
        #expect(try await store.subscription(server.subscriptionA).active == false)
    }

    @Test("/metrics answers only the allowed addresses and admins")
    func metricsAddress() async throws {
        let server = try await AccessServer()
        try await server.test(live: true, configure: { $0.metricsFrom = AddressBlocks([try! IPNetwork(parsing: "10.0.0.0/8")]) }) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/metrics", method: .get, headers: server.headers(.admin)) { #expect($0.status == .ok) }
        }
        try await server.test(live: true) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok, "loopback by default") }
        }
    }

    @Test("a client that sends its headers a byte at a time is cut off; a normal request is served")
    func slowHeadersAreCutOff() async throws {
        let server = try await AccessServer()
        try await server.test(live: true, configure: { $0.readLimits.headersSeconds = 2 }) { client in
            let port = try #require(client.port)
            let seconds = try await Self.blocking { try Self.slowloris(port: port) }
            #expect(seconds >= 1.5 && seconds < 6, "closed after \(seconds) s")
            // (The test client's own idle connection was cut off too; a new connection is served.)
            let answer = try await Self.blocking { try Self.raw(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") }
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(100))")
        }
    }

    /// Runs blocking socket work on a thread of its own: on the cooperative pool (two threads on two
    /// cores) two such waits would starve the in-process server that has to answer them.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// A connected socket to 127.0.0.1:`port`.
    static func connected(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw RGISError(.io, "cannot connect") }
        return fd
    }

    /// What the server answers a request written by hand, read to the connection's end.
    static func raw(port: Int, _ request: String) throws -> String {
        let fd = try connected(port: port)
        defer { close(fd) }
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Sends a header line a second without ever ending the headers; the seconds until the server closes.
    static func slowloris(port: Int) throws -> Double {
        let fd = try connected(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let start = Date()
        _ = "GET /health HTTP/1.1\r\nHost: x\r\n".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 64)
        while Date().timeIntervalSince(start) < 30 {
            if "X-Slow: 1\r\n".withCString({ send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }) < 0 { return Date().timeIntervalSince(start) }
            for _ in 0..<5 {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return Date().timeIntervalSince(start) }
            }
        }
        return Date().timeIntervalSince(start)
    }

    @Test("reading a demand's matches or the notifications of clients leaves an audit row")
    func auditOfCriteria() async throws {
        let server = try await AccessServer()
        try await server.test { client in
            try await client.execute(uri: "/match/demands/\(AccessFixture.demandA)/listings?limit=5", method: .get, headers: server.headers(.agentA)) {
                #expect($0.status == .ok)
            }
            let subscription = #"{"email":"client@example.com","backfill":true}"#
            try await client.execute(uri: "/demands/\(AccessFixture.demandA)/subscriptions", method: .post, headers: server.headers(.agentA, Self.json),
                                     body: ByteBuffer(string: subscription)) { #expect($0.status == .created) }
            try await client.execute(uri: "/notifications?limit=10", method: .get, headers: server.headers(.agentA)) { response in
                #expect(response.status == .ok)
                #expect(Self.body(response).contains(AccessFixture.demandA))
            }
        }
        let audit = try await SpatiaLiteStore.open(at: server.path).audit(since: nil, user: "alice")
        #expect(audit.contains { $0.endpoint == "/match/demands/{demandId}/listings" && $0.recordIDs == [AccessFixture.demandA] })
        #expect(audit.contains { $0.endpoint == "/notifications" && $0.recordIDs.contains(AccessFixture.demandA) })
    }
}
