import Synchronization

/// Where a request's reads may go when a backend has a standby that replays the primary's log a moment
/// behind, and read-your-writes across it: a write records the log position its commit reached, the
/// server hands it to the caller (a response header and a cookie), and the caller's later requests
/// carry it back, so that a read on the standby first waits, briefly, for the standby to have replayed
/// that far, or goes to the primary. Positions are the backend's own text, opaque to everyone else; a
/// backend without a standby ignores all of this.
public enum StoreReads {
    /// Whether this task's reads may go to the standby. The server sets it around each request; the
    /// notifier, the CLI and maintenance leave it off and read the primary.
    @TaskLocal public static var standbyAllowed = false
    /// The position this task's reads must see, from the caller.
    @TaskLocal public static var after: String?
    /// Where this task's writes record the position their commits reached.
    @TaskLocal public static var written: WrittenPosition?
}

/// The latest commit position of a request's writes.
public final class WrittenPosition: Sendable {
    private let value = Mutex<String?>(nil)

    public init() {}

    public var position: String? { value.withLock { $0 } }

    /// Writes in one request follow each other, so the last recorded is the furthest.
    public func record(_ position: String) { value.withLock { $0 = position } }
}
