import Foundation
import Synchronization
import Testing
@testable import RGISServer

/// A gate a test opens when it chooses: bodies that must hold a slot until then wait on it.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resume = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }
}

/// Waits (without sleeping a fixed time) until `condition` holds.
func eventually(_ condition: () -> Bool) async {
    while !condition() { await Task.yield() }
}

// Wall-clock bounds are left out on purpose: other suites keep the machine busy. What is checked is
// what happens, and each test has a time limit that catches a hang.
@Suite("Deadlines and heavy-query slots", .timeLimit(.minutes(2)))
struct RequestLimitsTests {
    @Test("a request past its deadline is stopped with 503 and Retry-After, its work cancelled; the next one is served")
    func deadline() async throws {
        let limits = RequestLimits(deadlineSeconds: 0.05, heavySlots: 1)
        let cancelled = Atomic(false)
        let problem = await #expect(throws: Problem.self) {
            try await limits.run(heavy: true) {
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    cancelled.store(true, ordering: .sequentiallyConsistent)
                    throw error
                }
                return 1
            }
        }
        let wasCancelled = cancelled.load(ordering: .sequentiallyConsistent)
        #expect(wasCancelled, "the slow body was cancelled, not left running")
        #expect(problem?.status == .serviceUnavailable && problem?.retryAfterSeconds == 5)
        #expect(problem?.detail.contains("0.05 s") == true)
        #expect(limits.heavySlots.usage.inUse == 0, "the slot is given back")
        #expect(try await limits.run(heavy: true) { 42 } == 42)
        #expect(try await limits.run(heavy: false) { 7 } == 7)
    }

    @Test("heavy requests take turns in the slots; light ones never wait; a waiting one gives up at its deadline and leaves the queue")
    func slots() async throws {
        // A deadline no test run reaches: what is checked here is the order of turns, not time.
        let limits = RequestLimits(deadlineSeconds: 3600, heavySlots: 1)
        let slots = limits.heavySlots
        let gate = Gate()
        let holder = Task { try await limits.run(heavy: true) { await gate.wait(); return "first" } }
        await eventually { slots.usage.inUse == 1 }
        // A light request goes straight through while the slot is held.
        #expect(try await limits.run(heavy: false) { "light" } == "light")
        // A second heavy one queues behind the holder and runs when it is done.
        let second = Task { try await limits.run(heavy: true) { "second" } }
        await eventually { slots.usage.waiting == 1 }
        gate.open()
        #expect(try await holder.value == "first")
        #expect(try await second.value == "second")
        #expect(slots.usage.inUse == 0 && slots.usage.waiting == 0)

        // One that waits past its deadline gets 503 and takes no slot.
        let short = RequestLimits(deadlineSeconds: 0.1, heavySlots: 1)
        let closed = Gate()
        let blocker = Task { try await short.run(heavy: true) { await closed.wait(); return 0 } }
        await eventually { short.heavySlots.usage.inUse == 1 }
        let waiter = await #expect(throws: Problem.self) { try await short.run(heavy: true) { 3 } }
        #expect(waiter?.status == .serviceUnavailable)
        #expect(short.heavySlots.usage.waiting == 0, "the waiter left the queue")
        closed.open()
        _ = try? await blocker.value
        #expect(short.heavySlots.usage.inUse == 0)
    }
}
