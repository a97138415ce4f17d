import Foundation
import Glibc
import Logging
import ServiceLifecycle
@testable import Spool
import SpoolTesting
import Synchronization
import Testing

/// Polls `condition` every 5 ms for at most `seconds`; false if it never held.
func eventually(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

@Suite("worker runner")
struct WorkerRunnerTests {
    @Test("the worker acks what its handler finishes and retries what it throws until it succeeds")
    func acksAndRetries() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try SpoolRoot.open(at: path)
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<20 { try await log.append(Array("t\(i)".utf8)) }
            var groupOptions = GroupOptions()
            groupOptions.retry.baseDelay = .milliseconds(0)
            groupOptions.retry.jitter = 0
            let seen = Mutex<[Int64: Int]>([:])
            let worker = try root.worker(queue: "q", group: "g", groupOptions: groupOptions) { task in
                seen.withLock { $0[task.offset, default: 0] += 1 }
                if task.offset % 5 == 0 && task.attempt == 1 { throw CancellationError() }
            }
            let running = Task { try await worker.run() }
            #expect(await eventually { worker.statistics.succeeded == 20 })
            worker.stop()
            try await running.value
            #expect(worker.statistics.failed == 4)
            #expect(seen.withLock { $0.filter { $0.key % 5 == 0 }.allSatisfy { $0.value == 2 } })
            #expect(try root.group("g", on: "q").progress.watermark == 20)
        }
    }

    @Test("the circuit breaker opens when distinct tasks keep failing and probes one task after the cool-down")
    func circuitBreaker() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try SpoolRoot.open(at: path)
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<50 { try await log.append(Array("t\(i)".utf8)) }
            var options = WorkerOptions()
            options.concurrency = 1
            options.breakerFailures = 3
            options.breakerCoolDown = .seconds(1)
            var groupOptions = GroupOptions()
            groupOptions.retry.maxAttempts = 100
            // Retries not due during the test: each failure is a distinct task (an outage).
            groupOptions.retry.baseDelay = .milliseconds(250_000)
            groupOptions.retry.jitter = 0
            let calls = Atomic<Int>(0)
            let worker = try root.worker(queue: "q", group: "g", options: options, groupOptions: groupOptions) { _ in
                calls.add(1, ordering: .relaxed)
                throw CancellationError()
            }
            let running = Task { try await worker.run() }
            #expect(await eventually { worker.statistics.breakerOpenings == 1 })
            let whenOpened = calls.load(ordering: .relaxed)
            #expect(whenOpened == 3)
            try await Task.sleep(for: .milliseconds(150))
            #expect(calls.load(ordering: .relaxed) == whenOpened, "the open breaker let a task through")
            #expect(await eventually { calls.load(ordering: .relaxed) == whenOpened + 1 })
            try await Task.sleep(for: .milliseconds(100))
            #expect(calls.load(ordering: .relaxed) == whenOpened + 1, "a failed probe must open the breaker again")
            worker.stop()
            try await running.value
        }
    }

    @Test("a ServiceGroup's graceful shutdown finishes in-flight handlers, releases a stuck one that ignores cancellation, and returns")
    func gracefulShutdown() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try SpoolRoot.open(at: path)
            defer { root.close() }
            let log = try root.queue("q")
            try await log.append(Array("quick".utf8))
            try await log.append(Array("stuck".utf8))
            let stuck = Mutex<CheckedContinuation<Void, Never>?>(nil)
            let started = Atomic<Int>(0)
            var options = WorkerOptions()
            options.concurrency = 2
            options.shutdownGrace = .milliseconds(500)
            let worker = try root.worker(queue: "q", group: "g", options: options) { task in
                started.add(1, ordering: .relaxed)
                if task.offset == 1 {
                    // Ignores cancellation: only the test lets it go, after the shutdown.
                    await withCheckedContinuation { continuation in stuck.withLock { $0 = continuation } }
                } else {
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            let services = ServiceGroup(services: [worker], gracefulShutdownSignals: [], cancellationSignals: [], logger: Logger(label: "test"))
            let running = Task { try await services.run() }
            #expect(await eventually { started.load(ordering: .relaxed) == 2 })
            let begin = ContinuousClock.now
            await services.triggerGracefulShutdown()
            try await running.value
            // The stuck handler never returns: only the release at the grace deadline ends this.
            #expect(ContinuousClock.now - begin < .seconds(10))
            #expect(worker.statistics.succeeded == 1)
            #expect(worker.statistics.released == 1)
            let group = try root.group("g", on: "q")
            let again = try await group.claim(max: 10).tasks
            #expect(again.map(\.offset) == [1])
            #expect(again.first?.attempt == 1)
            stuck.withLock { $0?.resume(); $0 = nil }
        }
    }
}
