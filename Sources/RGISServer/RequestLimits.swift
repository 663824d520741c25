import Foundation
import RGISStore
import Synchronization

/// Each request's deadline, and the slots heavy queries queue for.
///
/// A request past its deadline is cancelled: the store stops the statement it runs (SQLite's interrupt;
/// PostgreSQL's cancel, and `statement_timeout` set from the time left), and the caller gets 503 with
/// `Retry-After`. Heavy queries (see ``Endpoint/heavy``) wait for one of a few slots, so that however
/// many arrive, the other requests keep a core and a reader.
struct RequestLimits: Sendable {
    let deadline: Duration
    let heavySlots: Slots

    init(deadlineSeconds: Double, heavySlots: Int) {
        deadline = .milliseconds(Int64(deadlineSeconds * 1000))
        self.heavySlots = Slots(heavySlots)
    }

    /// Runs `body` under the deadline, in a heavy slot when `heavy`. The store sees the deadline too
    /// (``StoreDeadline``), to bound the statements it runs in another process.
    func run<T: Sendable>(heavy: Bool, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = self.deadline
        let slots = heavySlots
        return try await StoreDeadline.$instant.withValue(.now + deadline) {
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    if heavy {
                        try await slots.acquire()
                        do {
                            let value = try await body()
                            slots.release()
                            return value
                        } catch {
                            slots.release()
                            throw error
                        }
                    }
                    return try await body()
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw Problem.deadlineExceeded(deadline)
                }
                return value
            }
        }
    }

    /// A counting semaphore whose waiters can be cancelled.
    final class Slots: Sendable {
        private struct State {
            var free: Int
            var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
            var nextID: UInt64 = 0
        }
        let capacity: Int
        private let state: Mutex<State>

        init(_ capacity: Int) {
            self.capacity = max(1, capacity)
            state = Mutex(State(free: max(1, capacity)))
        }

        /// Slots in use and requests waiting for one (for `/metrics`).
        var usage: (inUse: Int, waiting: Int) {
            state.withLock { (capacity - $0.free, $0.waiters.count) }
        }

        func acquire() async throws {
            let id = state.withLock { s -> UInt64 in
                s.nextID += 1
                return s.nextID
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let resumeNow: Bool? = state.withLock { s in
                        if Task.isCancelled { return nil }
                        if s.free > 0 {
                            s.free -= 1
                            return true
                        }
                        s.waiters.append((id, continuation))
                        return false
                    }
                    switch resumeNow {
                    case true?: continuation.resume()
                    case nil: continuation.resume(throwing: CancellationError())
                    case false?: break
                    }
                }
            } onCancel: {
                let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                    guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return s.waiters.remove(at: i).continuation
                }
                waiter?.resume(throwing: CancellationError())
            }
        }

        func release() {
            let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                if s.waiters.isEmpty {
                    s.free += 1
                    return nil
                }
                return s.waiters.removeFirst().continuation
            }
            next?.resume()
        }
    }
}
