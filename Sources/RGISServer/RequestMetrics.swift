import Synchronization

/// Request counts and time by status class, for `/metrics` (Prometheus text format).
final class RequestMetrics: Sendable {
    private struct Counts {
        var requests: [String: Int] = [:]
        var milliseconds: [String: Double] = [:]
    }
    private let counts = Mutex(Counts())

    func record(status: Int, milliseconds: Double) {
        let key = "\(status / 100)xx"
        counts.withLock {
            $0.requests[key, default: 0] += 1
            $0.milliseconds[key, default: 0] += milliseconds
        }
    }

    var prometheusText: String {
        counts.withLock { c in
            var out = "# HELP rgis_http_requests_total HTTP requests answered, by status class.\n# TYPE rgis_http_requests_total counter\n"
            for key in c.requests.keys.sorted() { out += "rgis_http_requests_total{status=\"\(key)\"} \(c.requests[key]!)\n" }
            out += "# HELP rgis_http_request_seconds_total Time spent answering, by status class.\n# TYPE rgis_http_request_seconds_total counter\n"
            for key in c.milliseconds.keys.sorted() { out += "rgis_http_request_seconds_total{status=\"\(key)\"} \(c.milliseconds[key]! / 1000)\n" }
            return out
        }
    }
}
