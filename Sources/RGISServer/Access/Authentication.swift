import Foundation
import HTTPTypes
import Hummingbird
import RGISCore
import RGISStore

/// Turns a request's credentials into a ``Caller``: `Authorization: Bearer TOKEN` looked up by its
/// SHA-256 hash, or the deprecated shared key (`--api-key`, also accepted as `X-API-Key`), which acts
/// as an admin for one release. No credentials: anonymous. Bad credentials are a 401 on every route,
/// so a client learns at once that its token no longer works.
struct Authentication: Sendable {
    let accounts: any AccountStore
    let legacyAPIKey: String?
    let now: @Sendable () -> Date

    /// The caller and the key its rate limit counts under (nil for anonymous).
    func caller(_ request: Request) async throws -> (caller: Caller, rateKey: String?) {
        if let legacy = request.headers[HTTPField.Name("X-API-Key")!] {
            return try legacyCaller(legacy)
        }
        guard let header = request.headers[.authorization] else { return (.anonymous, nil) }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header must be 'Bearer TOKEN'")
        }
        let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
        if let legacyAPIKey, !token.hasPrefix("rgis_") { return try legacyCaller(token, key: legacyAPIKey) }
        switch try await accounts.authenticate(token, now: now()) {
        case .valid(let caller): return (caller, Digest.sha256Hex(token))
        case let refused: throw Problem.unauthorized(refused.refusal ?? "the token is refused")
        }
    }

    private func legacyCaller(_ given: String, key: String? = nil) throws -> (caller: Caller, rateKey: String?) {
        guard let key = key ?? legacyAPIKey, Digest.constantTimeEqual(given, key) else {
            throw Problem.unauthorized("the API key is not this server's")
        }
        return (Caller(user: "api-key", role: .admin, agent: nil), "api-key")
    }
}

/// A budget of requests per key (a token, an address): a bucket of `perMinute` that refills
/// continuously, so a leaked token cannot scrape the pool faster than its owner's work needs, and
/// one address cannot flood the server anonymously or guess tokens. It reads the server's clock
/// (a clock set back refills nothing; tests fix it, so a slow test machine refills nothing either).
actor RateLimiter {
    let perMinute: Int
    /// What is counted, for the 429's words.
    let what: String
    let now: @Sendable () -> Date
    private var buckets: [String: (tokens: Double, at: Date)] = [:]

    init(perMinute: Int, what: String = "requests with this token", now: @escaping @Sendable () -> Date) {
        self.perMinute = perMinute
        self.what = what
        self.now = now
    }

    /// Takes one from the key's bucket; past the budget, a 429 saying when to come back.
    func take(_ key: String) throws {
        guard perMinute > 0 else { return }
        var bucket = try refilled(key)
        bucket.tokens -= 1
        buckets[key] = bucket
        if buckets.count > 100_000 { buckets = buckets.filter { $0.value.tokens < Double(perMinute) } }
    }

    /// A 429 when the key's bucket is empty, taking nothing.
    func check(_ key: String) throws {
        guard perMinute > 0 else { return }
        buckets[key] = try refilled(key)
    }

    private func refilled(_ key: String) throws -> (tokens: Double, at: Date) {
        let now = now()
        let rate = Double(perMinute) / 60
        var bucket = buckets[key] ?? (Double(perMinute), now)
        let seconds = max(0, now.timeIntervalSince(bucket.at))
        bucket.tokens = min(Double(perMinute), bucket.tokens + seconds * rate)
        bucket.at = now
        guard bucket.tokens >= 1 else {
            buckets[key] = bucket
            var problem = Problem(.tooManyRequests, "Too many requests", "more than \(perMinute) \(what) a minute; slow down")
            problem.retryAfterSeconds = max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
            throw problem
        }
        return bucket
    }
}

/// Appends an audit row for each response that carries personal data.
struct AuditTrail: Sendable {
    let accounts: any AccountStore
    let now: @Sendable () -> Date

    func record(_ caller: Caller, method: HTTPRequest.Method, endpoint: String, ids: [String]) async throws {
        guard let user = caller.user, let role = caller.role, !ids.isEmpty else { return }
        try await accounts.appendAudit(AuditEntry(at: now(), user: user, role: role.rawValue, method: method.rawValue, endpoint: endpoint, recordIDs: ids))
    }
}

/// POSTs under an `Idempotency-Key` that are running now: a second one with the same key is a 409.
actor InFlightKeys {
    private var running: Set<String> = []

    func begin(_ key: String) throws {
        guard running.insert(key).inserted else {
            throw Problem(.conflict, "Request in progress", "a request with this Idempotency-Key is still running; wait for its answer, then repeat")
        }
    }

    func end(_ key: String) { running.remove(key) }
}
