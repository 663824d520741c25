import PostgresNIO
import RGISCore
import RGISStore

/// Reads on a hot standby (``StoreReads``): which requests read there, waiting for the caller's own
/// writes to be replayed, and noting where each write's commit reached.
extension PostGISStore {
    /// Runs `body` on the standby when this task may read there (``StoreReads/standbyAllowed``) and
    /// one is configured and answers (``StandbyHealth``). Nil when not, or when the standby has not
    /// replayed the caller's last write (``StoreReads/after``) within a second, or cannot be reached:
    /// the primary then answers.
    func onStandby<T: Sendable>(_ body: (Session) async throws -> T) async throws -> T? {
        guard let standby, StoreReads.standbyAllowed, standby.health.answering else { return nil }
        do {
            return try await withConnection(on: standby) { session -> T? in
                if let after = StoreReads.after, try await !replayed(after, session) { return nil }
                return try await body(session)
            }
        } catch let error as RGISError where error.code == .unavailable && error.reason.hasPrefix("cannot reach PostgreSQL") {
            logger.warning("the standby cannot be reached; reading the primary", metadata: ["standby": "\(standby.place.description)"])
            return nil
        }
    }

    /// Whether the standby has replayed the primary's log up to `position` (a `pg_lsn`), waiting up to a
    /// second for it. A position that is not a `pg_lsn` is not this backend's: nothing to wait for.
    func replayed(_ position: String, _ session: Session) async throws -> Bool {
        guard position.wholeMatch(of: /[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}/) != nil else { return true }
        let giveUp = ContinuousClock.now + .seconds(1)
        while true {
            let reached = try await session.rows(SQLText("SELECT pg_last_wal_replay_lsn() >= ?::pg_lsn", [position]))
            if try translating({ try reached[0][0].decode(Bool?.self) }) == true { return true }
            if ContinuousClock.now >= giveUp { return false }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// After a write committed, notes how far the primary's log has reached, for the caller to read
    /// its own write on a standby (``StoreReads/written``).
    func recordWritePosition(_ session: Session) async throws {
        guard let written = StoreReads.written else { return }
        let rows = try await session.rows("SELECT pg_current_wal_insert_lsn()::text")
        written.record(try translating { try rows[0][0].decode(String.self) })
    }
}
