import Foundation
import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Synchronization
import Testing

/// A clock the test moves by hand (wall time), with a real monotonic clock underneath.
private final class ManualClock: SpoolClock {
    private let now = Mutex<Int64>(1_800_000_000_000)
    func wallMilliseconds() -> Int64 { now.withLock { $0 } }
    func monotonicNanoseconds() -> UInt64 { SystemClock().monotonicNanoseconds() }
    func advance(milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}

/// Runs `body` with a fresh root (on `clock` when given) holding `tasks` tasks in queue "q";
/// closes and removes it afterwards.
private func withQueue(tasks: Int, clock: ManualClock? = nil, _ body: (SpoolRoot) async throws -> Void) async throws {
    try await withTemporaryDirectory { path in
        var options = SpoolOptions()
        if let clock { options.clock = clock }
        let root = try SpoolRoot.open(at: path + "/root", options: options)
        defer { root.close() }
        try await fill(try root.queue("q"), count: tasks)
        try await body(root)
    }
}

private func fill(_ log: QueueLog, count: Int) async throws {
    for i in 0..<count { try await log.append(Array("task-\(i)".utf8)) }
}

@Suite("consumer groups")
struct ConsumerGroupTests {
    @Test("two consumers of one group never get the same task while leases hold")
    func leasesKeepConsumersApart() async throws {
        try await withQueue(tasks: 50) { root in
            let group = try root.group("g", on: "q")
            async let a = group.claim(max: 30)
            async let b = group.claim(max: 30)
            let (first, second) = try await (a, b)
            let offsets = first.tasks.map(\.offset) + second.tasks.map(\.offset)
            #expect(offsets.count == 50)
            #expect(Set(offsets).count == 50)
            #expect(try await group.claim(max: 10).isEmpty)
        }
    }

    @Test("acked tasks are never delivered again after reopen; claimed but unacked ones are")
    func acksSurviveReopen() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            do {
                let root = try SpoolRoot.open(at: path)
                try await fill(try root.queue("q"), count: 20)
                let group = try root.group("g", on: "q")
                let batch = try await group.claim(max: 15)
                let result = try await group.ack(Array(batch.tasks[0..<10]))
                #expect(result.acked == 10)
                root.close()
            }
            let root = try SpoolRoot.open(at: path)
            defer { root.close() }
            let again = try await root.group("g", on: "q").claim(max: 100)
            #expect(again.tasks.map(\.offset) == Array(10..<20))
            #expect(again.tasks.allSatisfy { $0.attempt == 1 })
        }
    }

    @Test("out-of-order acks are kept as ranges and the watermark jumps when the gap closes")
    func outOfOrderAcks() async throws {
        try await withQueue(tasks: 10) { root in
            let group = try root.group("g", on: "q")
            let tasks = try await group.claim(max: 10).tasks
            try await group.ack([tasks[5], tasks[7], tasks[6]])
            #expect(group.progress.watermark == 0)
            #expect(group.progress.ackedAboveWatermark == 3)
            try await group.ack(Array(tasks[0..<5]))
            #expect(group.progress.watermark == 8)
            #expect(group.progress.ackedAboveWatermark == 0)
            #expect(group.progress.lag == 2)
        }
    }

    @Test("a double ack counts as already acked and an ack after the lease expired is stale")
    func doubleAndStaleAcks() async throws {
        let clock = ManualClock()
        try await withQueue(tasks: 2, clock: clock) { root in
            var groupOptions = GroupOptions()
            groupOptions.lease = .milliseconds(1000)
            groupOptions.retry.baseDelay = .milliseconds(0)
            groupOptions.retry.jitter = 0
            let group = try root.group("g", on: "q", options: groupOptions)
            let tasks = try await group.claim(max: 2).tasks
            #expect(try await group.ack([tasks[0]]).acked == 1)
            #expect(try await group.ack([tasks[0]]).alreadyAcked == 1)
            clock.advance(milliseconds: 1001)
            let redelivered = try await group.claim(max: 2).tasks
            #expect(redelivered.map(\.offset) == [1])
            #expect(redelivered.first?.attempt == 2)
            #expect(try await group.ack([tasks[1]]).stale == 1)
            #expect(try await group.ack(redelivered).acked == 1)
            #expect(group.progress.watermark == 2)
        }
    }

    @Test("an ack of an offset the group never delivered is rejected")
    func ackNeverDelivered() async throws {
        try await withQueue(tasks: 3) { root in
            let group = try root.group("g", on: "q")
            var task = try await group.claim(max: 1).tasks[0]
            task.offset = 2
            await #expect(throws: SpoolError.self) { try await group.ack([task]) }
            let error = await #expect(throws: SpoolError.self) { try await group.acknowledge(offsets: [3]) }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("a nack delays redelivery, and a delay beyond the limit is rejected")
    func nackDelays() async throws {
        let clock = ManualClock()
        try await withQueue(tasks: 1, clock: clock) { root in
            var groupOptions = GroupOptions()
            groupOptions.nackDelayMax = .milliseconds(60_000)
            let group = try root.group("g", on: "q", options: groupOptions)
            let task = try await group.claim(max: 1).tasks[0]
            let error = await #expect(throws: SpoolError.self) { try await group.nack(task, delay: .milliseconds(60_001)) }
            #expect(error?.code == .invalidArgument)
            #expect(try await group.nack(task, reason: "smtp 451", delay: .seconds(5)))
            #expect(try await group.claim(max: 1).isEmpty)
            clock.advance(milliseconds: 5_000)
            let again = try await group.claim(max: 1).tasks
            #expect(again.map(\.offset) == [0])
            #expect(again.first?.attempt == 2)
        }
    }

    @Test("after its last attempt a task moves to <queue>.dlq with the reason and attempt count")
    func deadLetters() async throws {
        let clock = ManualClock()
        try await withQueue(tasks: 2, clock: clock) { root in
            var groupOptions = GroupOptions()
            groupOptions.retry.maxAttempts = 2
            groupOptions.retry.baseDelay = .milliseconds(10)
            groupOptions.retry.jitter = 0
            let group = try root.group("g", on: "q", options: groupOptions)
            var task = try await group.claim(max: 1).tasks[0]
            try await group.nack(task, reason: "boom 1")
            clock.advance(milliseconds: 10)
            task = try await group.claim(max: 1).tasks[0]
            #expect(task.attempt == 2)
            try await group.nack(task, reason: "boom 2")
            clock.advance(milliseconds: 1_000_000)
            let rest = try await group.claim(max: 10).tasks
            #expect(rest.map(\.offset) == [1])
            var reader = try root.queue("q.dlq").reader(from: 0)
            let letters = try reader.read(max: 10)
            #expect(letters.count == 1)
            let headers = Dictionary(uniqueKeysWithValues: letters[0].headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) })
            #expect(headers["spool.dlq-reason"] == "boom 2")
            #expect(headers["spool.attempt"] == "2")
            #expect(headers["spool.source-offset"] == "0")
            #expect(letters[0].value == Array("task-0".utf8))
            #expect(group.progress.watermark == 1)
        }
    }

    @Test("offset ranges merge neighbours and advance the watermark")
    func offsetRanges() {
        var ranges = OffsetRanges(watermark: 0)
        ranges.insert(5..<7)
        ranges.insert(9)
        ranges.insert(7..<9)
        #expect(ranges.ranges == [5..<10])
        ranges.insert(0..<5)
        #expect(ranges.watermark == 10 && ranges.ranges.isEmpty)
        ranges.insert(3)
        #expect(ranges.watermark == 10)
        #expect(ranges.contains(9) && !ranges.contains(10))
    }

    @Test("group records round-trip and garbage is refused")
    func groupRecords() {
        let ack = GroupRecord.ack([0..<3, 10..<11, 1_000_000..<1_000_100])
        #expect(GroupRecord(decoding: ack.encoded()) == ack)
        let attempt = GroupRecord.attempt(offset: 42, attempts: 3, notBefore: 1_800_000_000_000)
        #expect(GroupRecord(decoding: attempt.encoded()) == attempt)
        #expect(GroupRecord(decoding: []) == nil)
        #expect(GroupRecord(decoding: [9, 1, 2]) == nil)
        #expect(GroupRecord(decoding: ack.encoded() + [0]) == nil)
        #expect(GroupRecord(decoding: Array(ack.encoded().dropLast())) == nil)
    }
    @Test("a delayed task is not delivered before its not-before time, and the tasks behind it are")
    func delayedTasks() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let clock = ManualClock()
            var options = SpoolOptions()
            options.clock = clock
            let root = try SpoolRoot.open(at: path, options: options)
            defer { root.close() }
            let log = try root.queue("q")
            try await log.append(Array("later".utf8), notBefore: clock.wallMilliseconds() + 60_000)
            try await log.append(Array("now".utf8))
            let group = try root.group("g", on: "q")
            let first = try await group.claim(max: 10).tasks
            #expect(first.map(\.offset) == [1])
            try await group.ack(first)
            clock.advance(milliseconds: 59_999)
            #expect(try await group.claim(max: 10).isEmpty)
            clock.advance(milliseconds: 1)
            let due = try await group.claim(max: 10).tasks
            #expect(due.map(\.offset) == [0])
            #expect(due.first?.attempt == 1)
            #expect(due.first?.headers.contains { $0.name == "spool.not-before" } == true)
        }
    }

    @Test("replaying dead letters puts them back in the queue once, without the dead-letter headers")
    func replayDeadLetters() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try SpoolRoot.open(at: path)
            defer { root.close() }
            try await root.queue("q").append(Array("poison".utf8), key: Array("k".utf8))
            var groupOptions = GroupOptions()
            groupOptions.retry.maxAttempts = 1
            let group = try root.group("g", on: "q", options: groupOptions)
            let task = try await group.claim(max: 1).tasks[0]
            try await group.nack(task, reason: "bad input")
            #expect(try root.queue("q.dlq").committed.nextOffset == 1)
            #expect(try await root.replayDeadLetters(of: "q") == 1)
            #expect(try await root.replayDeadLetters(of: "q") == 0)
            let again = try await group.claim(max: 10).tasks
            #expect(again.map(\.offset) == [1])
            #expect(again.first?.payload == Array("poison".utf8))
            #expect(again.first?.key == Array("k".utf8))
            #expect(again.first?.headers.allSatisfy { !$0.name.hasPrefix("spool.") } == true)
            #expect(again.first?.attempt == 1)
        }
    }
    @Test("batches(max:) yields claims as an async sequence and ends when its task is cancelled")
    func batchesSequence() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try SpoolRoot.open(at: path)
            defer { root.close() }
            let log = try root.queue("q")
            try await fill(log, count: 25)
            let group = try root.group("g", on: "q")
            let consumer = Task { () -> [Int64] in
                var offsets: [Int64] = []
                for try await batch in group.batches(max: 10) {
                    offsets += batch.tasks.map(\.offset)
                    try await group.ack(batch)
                }
                return offsets
            }
            // A task enqueued while the consumer waits reaches it too.
            try await Task.sleep(for: .milliseconds(50))
            try await log.append(Array("late".utf8))
            let deadline = ContinuousClock.now + .seconds(10)
            while group.progress.watermark < 26 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            consumer.cancel()
            #expect(try await consumer.value == Array(0..<26))
        }
    }

    @Test("a task whose handler never returns is delivered again once its lease expires")
    func stuckHandlerLeaseExpires() async throws {
        try await withQueue(tasks: 1) { root in
            var groupOptions = GroupOptions()
            groupOptions.lease = .milliseconds(50)
            groupOptions.retry.baseDelay = .milliseconds(0)
            groupOptions.retry.jitter = 0
            let stuck = Mutex<CheckedContinuation<Void, Never>?>(nil)
            var options = WorkerOptions()
            options.concurrency = 1
            let worker = try root.worker(queue: "q", group: "g", options: options, groupOptions: groupOptions) { _ in
                await withCheckedContinuation { continuation in stuck.withLock { $0 = continuation } }
            }
            let running = Task { try await worker.run() }
            let group = try root.group("g", on: "q")
            var again: [QueueTask] = []
            let deadline = ContinuousClock.now + .seconds(10)
            // The worker's handler holds the task first.
            while stuck.withLock({ $0 == nil }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            while again.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                again = try await group.claim(max: 1).tasks
            }
            #expect(again.map(\.offset) == [0])
            #expect(again.first?.attempt == 2)
            worker.stop()
            stuck.withLock { $0?.resume(); $0 = nil }
            try await running.value
        }
    }
    @Test("a flood in one lane does not starve another: claims alternate between lanes by weight")
    func lanesShareByWeight() async throws {
        try await withQueue(tasks: 0) { root in
            let log = try root.queue("q")
            try await log.append(batch: (0..<600).map { _ in RecordInput(value: [1], headers: [TaskHeaders.lane("filesystem")], timestamp: 1) })
            try await log.append(batch: (0..<100).map { _ in RecordInput(value: [2], headers: [TaskHeaders.lane("network")], timestamp: 1) })
            var options = GroupOptions()
            options.lanes = ["filesystem": LaneOptions(weight: 3), "network": LaneOptions(weight: 1)]
            let group = try root.group("g", on: "q", options: options)
            let tasks = try await group.claim(max: 40).tasks
            let lanes = tasks.map { String(decoding: $0.headers.first { $0.name == "spool.lane" }?.value ?? [], as: UTF8.self) }
            #expect(lanes.filter { $0 == "filesystem" }.count == 30)
            #expect(lanes.filter { $0 == "network" }.count == 10)
            #expect(tasks.filter { $0.offset >= 600 }.map(\.offset) == Array(600..<610))
        }
    }

    @Test("a lane's concurrency limit caps its tasks in flight until some are acked")
    func laneConcurrencyLimit() async throws {
        try await withQueue(tasks: 0) { root in
            let log = try root.queue("q")
            for _ in 0..<10 { try await log.append([1], headers: [TaskHeaders.lane("memory")]) }
            for _ in 0..<5 { try await log.append([2]) }
            var options = GroupOptions()
            options.lanes = ["memory": LaneOptions(concurrencyMax: 2)]
            let group = try root.group("g", on: "q", options: options)
            let first = try await group.claim(max: 100).tasks
            #expect(first.filter { $0.offset < 10 }.count == 2)
            #expect(first.filter { $0.offset >= 10 }.count == 5)
            #expect(try await group.claim(max: 100).isEmpty)
            try await group.ack([first[0]])
            let next = try await group.claim(max: 100).tasks
            #expect(next.map(\.offset) == [2])
        }
    }
    @Test("a deep backlog behind a slow consumer stays on disk: the group holds only one claim's worth in memory")
    func backlogStaysOnDisk() async throws {
        try await withQueue(tasks: 0) { root in
            let log = try root.queue("q")
            for chunk in 0..<100 {
                try await log.append(batch: (0..<1000).map { RecordInput(value: Array("task \(chunk * 1000 + $0)".utf8), timestamp: 1) })
            }
            let group = try root.group("g", on: "q")
            for round in 0..<200 {
                let batch = try await group.claim(max: 10)
                #expect(batch.count == 10)
                try await group.ack(round % 2 == 0 ? batch.tasks : batch.tasks.reversed())
                // Producers keep outpacing the consumer.
                if round % 20 == 0 { try await log.append(batch: (0..<1000).map { _ in RecordInput(value: [0], timestamp: 1) }) }
            }
            let held = group.state.withLock { s in
                (leases: s.leases.count, pending: s.pending.count - s.pendingHead, retries: s.retries.count,
                 buffered: s.lanes.buffered, ranges: s.acked.ranges.count)
            }
            #expect(held.leases == 0 && held.retries == 0 && held.buffered == 0 && held.ranges == 0)
            #expect(held.pending <= 10)
            #expect(group.progress.watermark == 2000)
            #expect(group.progress.lag == 110_000 - 2000)
        }
    }
}
