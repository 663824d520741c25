import HTTPTypes

/// Which methods each path template answers, so that a known path asked with another method gets
/// 405 with an Allow header rather than 404.
struct RouteIndex: Sendable {
    private let routes: [(segments: [String], methods: Set<String>)]

    init(_ endpoints: [Endpoint]) {
        var byPath: [String: Set<String>] = [:]
        for e in endpoints { byPath[e.path, default: []].insert(e.method.rawValue) }
        routes = byPath.map { (Self.segments($0.key), $0.value) }
    }

    /// The methods allowed on a concrete path, or nil when no template matches it.
    func methods(for path: String) -> [String]? {
        let asked = Self.segments(path)
        let matching = routes.filter { route in
            route.segments.count == asked.count
                && zip(route.segments, asked).allSatisfy { template, part in template.hasPrefix("{") ? !part.isEmpty : template == part }
        }
        guard !matching.isEmpty else { return nil }
        return matching.reduce(into: Set<String>()) { $0.formUnion($1.methods) }.sorted()
    }

    private static func segments(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
