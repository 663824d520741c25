/// The instant by which the caller's work must end, handed down to the store through the task (the
/// server sets it around each request; the CLI sets none).
///
/// Cancellation alone reaches only the process that cancels: a backend whose statements run in another
/// process (PostgreSQL) also bounds each transaction by the time left, so that a statement stops on the
/// server even when the process that started it is gone.
public enum StoreDeadline {
    @TaskLocal public static var instant: ContinuousClock.Instant?

    /// Milliseconds left before the deadline (at least 1), nil when there is none; throws
    /// `CancellationError` when it has passed.
    public static func remainingMilliseconds() throws -> Int64? {
        guard let instant else { return nil }
        let left = ContinuousClock.now.duration(to: instant)
        guard left > .zero else { throw CancellationError() }
        let (seconds, attoseconds) = left.components
        return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
