import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Whether the standby answers, probed once a second on a connection of the probe's own (made within a
/// second, one statement, closed). The pool would wait for a standby that is down until each request's
/// deadline; instead, reads go to the primary from the first probe that fails until one succeeds.
final class StandbyHealth: Sendable {
    private let answeringNow = Atomic<Bool>(true)

    var answering: Bool { answeringNow.load(ordering: .relaxed) }

    /// Probes until the task is cancelled (when the store goes), logging each change.
    func watch(_ place: PostgresLocation, logger: Logger) async {
        while !Task.isCancelled {
            let answers: Bool
            do {
                let connection = try await place.connectOnce(logger: logger, timeout: .seconds(1))
                defer { Task { try? await connection.close() } }
                answers = try await connection.query("SELECT pg_is_in_recovery()", logger: logger).collect().count == 1
            } catch {
                answers = false
            }
            if answeringNow.exchange(answers, ordering: .relaxed) != answers {
                if answers {
                    logger.notice("the standby answers again; requests read from it", metadata: ["standby": "\(place.description)"])
                } else {
                    logger.warning("the standby does not answer; requests read from the primary", metadata: ["standby": "\(place.description)"])
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
