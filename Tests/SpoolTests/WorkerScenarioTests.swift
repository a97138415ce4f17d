import Foundation
import Glibc
import Logging
import MetricsTestKit
import ServiceLifecycle
@testable import Spool
import SpoolTesting
import Synchronization
import Testing

/// Issue 14, "the worker, embedded in a real app": the breaker, shutdown and metrics findings.
@Suite("worker in a real app")
struct WorkerScenarioTests {
    @Test("10% of tasks always failing neither opens the breaker nor starves the good tasks")
    func poisonTasksDoNotStarveGoodOnes() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<200 { try await log.append(Array("t\(i)".utf8)) }
            var groupOptions = GroupOptions()
            groupOptions.retry.maxAttempts = 50
            groupOptions.retry.baseDelay = .milliseconds(0)  // poison retries are always due first
            groupOptions.retry.jitter = 0
            let good = Atomic<Int>(0)
            let worker = try root.worker(queue: "q", group: "g", groupOptions: groupOptions) { task in
                if task.offset % 10 == 0 { throw CancellationError() }
                good.add(1, ordering: .relaxed)
            }
            let running = Task { try await worker.run() }
            #expect(await eventually(seconds: 20) { good.load(ordering: .relaxed) == 180 })
            // Good tasks posted afterwards are delivered promptly too.
            for i in 0..<20 { try await log.append(Array("late\(i)".utf8)) }
            #expect(await eventually(seconds: 10) { good.load(ordering: .relaxed) == 200 - 2 })
            worker.stop()
            try await running.value
            #expect(worker.statistics.breakerOpenings == 0)
        }
    }

    @Test("the breaker opens on an outage of first attempts and closes on a successful probe")
    func breakerOpensOnOutageAndClosesOnProbe() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<30 { try await log.append(Array("t\(i)".utf8)) }
            var options = WorkerOptions()
            options.concurrency = 1
            options.breakerFailures = 5
            options.breakerCoolDown = .milliseconds(300)
            var groupOptions = GroupOptions()
            groupOptions.retry.baseDelay = .milliseconds(250_000)
            let outage = Atomic<Bool>(true)
            let done = Atomic<Int>(0)
            let worker = try root.worker(queue: "q", group: "g", options: options, groupOptions: groupOptions) { _ in
                if outage.load(ordering: .relaxed) { throw CancellationError() }
                done.add(1, ordering: .relaxed)
            }
            let running = Task { try await worker.run() }
            #expect(await eventually { worker.statistics.breakerOpenings == 1 })
            #expect(worker.statistics.failed == 5)
            outage.store(false, ordering: .relaxed)
            // The next probe succeeds, the breaker closes, and the other 25 tasks flow.
            #expect(await eventually { done.load(ordering: .relaxed) == 25 })
            worker.stop()
            try await running.value
            #expect(worker.statistics.breakerOpenings == 1)
        }
    }

    @Test("8 handlers sleeping 20 s: graceful shutdown returns within the grace period, cancels them and releases their leases")
    func shutdownWithEveryHandlerBusy() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<8 { try await log.append(Array("t\(i)".utf8)) }
            var options = WorkerOptions()
            options.concurrency = 8  // every slot busy; shutdownGrace stays the default 4 s
            let started = Atomic<Int>(0)
            let cancelled = Atomic<Int>(0)
            let sawShutdown = Atomic<Int>(0)
            let worker = try root.worker(queue: "q", group: "g", options: options) { task, context in
                started.add(1, ordering: .relaxed)
                do {
                    try await Task.sleep(for: .seconds(20))
                } catch {
                    cancelled.add(1, ordering: .relaxed)
                    if context.isShuttingDown { sawShutdown.add(1, ordering: .relaxed) }
                    throw error
                }
                return .done
            }
            let services = ServiceGroup(services: [worker], gracefulShutdownSignals: [], cancellationSignals: [], logger: Logger(label: "test"))
            let running = Task { try await services.run() }
            #expect(await eventually { started.load(ordering: .relaxed) == 8 })
            let begin = ContinuousClock.now
            await services.triggerGracefulShutdown()
            try await running.value
            let took = ContinuousClock.now - begin
            #expect(took < .seconds(10), "shutdown took \(took)")
            #expect(took >= .milliseconds(3_900), "the grace period was not given: \(took)")
            #expect(await eventually { cancelled.load(ordering: .relaxed) == 8 })
            #expect(sawShutdown.load(ordering: .relaxed) == 8)
            #expect(worker.statistics.released == 8)
            #expect(worker.statistics.cancelledAtShutdown == 8)
            #expect(worker.statistics.failed == 0, "a cancelled handler's nack must find a stale lease")
            let again = try await root.group("g", on: "q").claim(max: 10).tasks
            #expect(again.map(\.offset) == Array(0..<8))
            #expect(again.allSatisfy { $0.attempt == 1 })
        }
    }

    @Test("a stalled consumer's lag gauge shows its backlog, updated on a timer without any ack")
    func lagGaugeWithoutAcks() async throws {
        try await withTemporaryDirectory { dir in
            let metrics = TestMetrics()
            var rootOptions = SpoolOptions()
            rootOptions.metricsFactory = metrics
            let root = try SpoolRoot.open(at: dir + "/root", options: rootOptions)
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<100 { try await log.append(Array("t\(i)".utf8)) }
            var options = WorkerOptions()
            options.concurrency = 1
            options.claimMax = 1
            options.metricsInterval = .milliseconds(50)
            options.shutdownGrace = .zero
            let worker = try root.worker(queue: "q", group: "g", options: options) { _ in
                try await Task.sleep(for: .seconds(60))  // stalled
            }
            let running = Task { try await worker.run() }
            let dimensions = [("queue", "q"), ("group", "g")]
            func lag() -> Double? { try? metrics.expectGauge("spool_group_lag", dimensions).lastValue }
            #expect(await eventually { lag() == 100 })
            for i in 0..<50 { try await log.append(Array("more\(i)".utf8)) }
            #expect(await eventually { lag() == 150 }, "the gauge must follow new tasks while no ack comes")
            worker.stop()
            try await running.value
        }
    }

    @Test("appends to a group's own log are not counted as enqueues")
    func groupLogNotCountedAsEnqueues() async throws {
        try await withTemporaryDirectory { dir in
            let metrics = TestMetrics()
            var rootOptions = SpoolOptions()
            rootOptions.metricsFactory = metrics
            let root = try SpoolRoot.open(at: dir + "/root", options: rootOptions)
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<10 { try await log.append(Array("t\(i)".utf8)) }
            let group = try root.group("g", on: "q")
            let tasks = try await group.claim(max: 10).tasks
            try await group.ack(Array(tasks[0..<5]))
            for task in tasks[5...] { try await group.nack(task) }
            let enqueues = metrics.counters(label: "spool_enqueued_total")
            #expect(enqueues.map { $0.dimensions.first { $0.0 == "queue" }?.1 ?? "" } == ["q"])
            #expect(metrics.counterTotal(label: "spool_enqueued_total") == 10)
            #expect(metrics.timers(label: "spool_fsync_seconds").allSatisfy { $0.dimensions.contains { $0 == ("queue", "q") } })
        }
    }
}
