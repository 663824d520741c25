import Synchronization
import RGISStore

/// Figures computed from the market (indicators, series), kept while the store's market change token
/// (``FeatureStore/marketChangeToken()``) stays the same: a planner's map asks for the same figures on
/// every load, and they change only when a listing, demand, district or client is written.
public final class FigureCache: Sendable {
    /// Entries kept; the least recently used goes first.
    let capacity: Int

    private struct Entry: @unchecked Sendable {
        var version: ChangeToken
        var value: any Sendable
        var used: UInt64
    }

    private let entries = Mutex<(map: [String: Entry], clock: UInt64)>(([:], 0))

    public init(capacity: Int = 64) { self.capacity = capacity }

    /// The value under `key` if it was computed at `version`, else `compute()`'s, kept.
    func value<T: Sendable>(_ key: String, version: ChangeToken, keepIf keep: (T) -> Bool = { _ in true },
                            _ compute: () async throws -> T) async throws -> T {
        let hit: T? = entries.withLock { state in
            guard let entry = state.map[key], entry.version == version, let value = entry.value as? T else { return nil }
            state.clock += 1
            state.map[key]?.used = state.clock
            return value
        }
        if let hit { return hit }
        let value = try await compute()
        guard keep(value) else { return value }
        entries.withLock { state in
            state.clock += 1
            state.map[key] = Entry(version: version, value: value, used: state.clock)
            if state.map.count > capacity, let oldest = state.map.min(by: { $0.value.used < $1.value.used })?.key {
                state.map.removeValue(forKey: oldest)
            }
        }
        return value
    }
}
