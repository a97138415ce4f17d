import Foundation
import Glibc
import Logging
@testable import Spool
import SpoolTesting
import Synchronization
import Testing

private struct Mail: Codable, Sendable, Equatable {
    var to: String
    var subject: String
}

private struct Resize: Codable, Sendable {
    var width: Int
}

private let sendMail = Job<Mail>("send-email")

/// The dead letters of `queue`, as (reason, attempts, payload).
private func deadLetters(_ root: SpoolRoot, of queue: String) throws -> [(reason: String, attempts: String, payload: [UInt8])] {
    var reader = try root.queue(queue + ".dlq").reader(from: 0)
    var letters: [(String, String, [UInt8])] = []
    while let batch = try reader.nextBatch() {
        for record in batch.records {
            func header(_ name: String) -> String { String(decoding: record.headers.first { $0.name == name }?.value ?? [], as: UTF8.self) }
            letters.append((header("spool.dlq-reason"), header("spool.attempt"), record.value ?? []))
        }
    }
    return letters
}

/// Fast retries for tests.
private func quickRetries(maxAttempts: Int = 5) -> GroupOptions {
    var options = GroupOptions()
    options.retry.baseDelay = .milliseconds(0)
    options.retry.jitter = 0
    options.retry.maxAttempts = maxAttempts
    return options
}

/// Runs `worker` until `condition` holds (at most 30 s: the whole suite shares two cores and
/// fsyncs), then stops it.
private func run(_ worker: Worker, until condition: () -> Bool) async throws -> Bool {
    let running = Task { try await worker.run() }
    let held = await eventually(seconds: 30, condition)
    worker.stop()
    try await running.value
    return held
}

@Suite("typed jobs")
struct JobTests {
    @Test("a typed job reaches its handler with its parameters and a context naming queue, offset, job and attempt")
    func typedJobRoundTrip() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let emails = try root.queue("emails")
            let before = root.options.clock.wallMilliseconds()
            try await emails.enqueue(sendMail, Mail(to: "ada@example.com", subject: "hi"))
            try await emails.enqueue(sendMail, Mail(to: "bob@example.com", subject: "yo"))
            let seen = Mutex<[(Mail, JobContext)]>([])
            var jobs = JobRegistry()
            try jobs.register(sendMail) { email, context in seen.withLock { $0.append((email, context)) } }
            let worker = try root.worker(queue: "emails", group: "senders", jobs: jobs)
            #expect(try await run(worker) { worker.statistics.succeeded == 2 })
            let got = seen.withLock { $0 }.sorted { $0.1.offset < $1.1.offset }
            #expect(got.map(\.0) == [Mail(to: "ada@example.com", subject: "hi"), Mail(to: "bob@example.com", subject: "yo")])
            let context = got[1].1
            #expect(context.job == "send-email" && context.attempt == 1 && context.offset == 1 && context.queue == "emails")
            #expect(context.enqueuedAt >= before && context.enqueuedAt <= root.options.clock.wallMilliseconds())
            #expect(context.logger[metadataKey: "spool.offset"] == "1")
            #expect(context.logger[metadataKey: "spool.job"] == "send-email")
            #expect(context.logger[metadataKey: "spool.attempt"] == "1")
            #expect(worker.statistics.jobs["send-email"]?.succeeded == 2)
            #expect(try root.group("senders", on: "emails").progress.watermark == 2)
        }
    }

    @Test("done: a handler returning .done acks the task and it is never delivered again")
    func outcomeDone() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            try await root.queue("q").append(Array("raw".utf8))
            let calls = Atomic<Int>(0)
            let worker = try root.worker(queue: "q", group: "g") { _, _ in
                calls.add(1, ordering: .relaxed)
                return .done
            }
            #expect(try await run(worker) { worker.statistics.succeeded == 1 })
            #expect(try await root.group("g", on: "q").claim(max: 1).isEmpty)
            #expect(calls.load(ordering: .relaxed) == 1)
        }
    }

    @Test("retry after: the task comes back no sooner than the handler asked, as the next attempt")
    func outcomeRetryAfter() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            try await root.queue("emails").enqueue(sendMail, Mail(to: "ada@example.com", subject: "451"))
            let deliveries = Mutex<[(Int, ContinuousClock.Instant)]>([])
            var jobs = JobRegistry()
            try jobs.register(sendMail, outcome: { _, context in
                deliveries.withLock { $0.append((context.attempt, .now)) }
                return context.attempt == 1 ? .retry(after: .milliseconds(400), reason: "smtp 451") : .done
            })
            let worker = try root.worker(queue: "emails", group: "g", jobs: jobs)
            #expect(try await run(worker) { worker.statistics.succeeded == 1 })
            let got = deliveries.withLock { $0 }
            #expect(got.map(\.0) == [1, 2])
            #expect(got[1].1 - got[0].1 >= .milliseconds(400))
            #expect(worker.statistics.failed == 1)
        }
    }

    @Test("dead-letter now: returned or thrown, the task goes to the DLQ at once with the handler's reason")
    func outcomeDeadLetterNow() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let emails = try root.queue("emails")
            try await emails.enqueue(sendMail, Mail(to: "not an address", subject: "a"))
            try await emails.enqueue(sendMail, Mail(to: "nobody@invalid", subject: "b"))
            let calls = Atomic<Int>(0)
            var jobs = JobRegistry()
            try jobs.register(sendMail, outcome: { email, _ in
                calls.add(1, ordering: .relaxed)
                if email.subject == "a" { return .deadLetter(reason: "invalid address") }
                throw JobError.deadLetter(reason: "domain does not exist")
            })
            let worker = try root.worker(queue: "emails", group: "g", jobs: jobs, groupOptions: quickRetries())
            #expect(try await run(worker) { worker.statistics.deadLettered == 2 })
            #expect(calls.load(ordering: .relaxed) == 2, "no retries after dead-letter now")
            // Handlers run concurrently: the dead letters come in either order.
            let letters = try deadLetters(root, of: "emails").sorted { $0.reason < $1.reason }
            #expect(letters.map(\.reason) == ["domain does not exist", "invalid address"])
            #expect(letters.map(\.attempts) == ["1", "1"])
            #expect(try JSONDecoder().decode(Mail.self, from: Data(letters[1].payload)).to == "not an address")
            #expect(try root.group("g", on: "emails").progress.lag == 0)
        }
    }

    @Test("timeout: a handler past its job's timeout is cancelled and the task retried")
    func outcomeTimeout() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let slow = Job<Mail>("slow-email", policy: JobPolicy(timeout: .milliseconds(200)))
            try await root.queue("emails").enqueue(slow, Mail(to: "ada@example.com", subject: "x"))
            let cancelled = Atomic<Bool>(false)
            var jobs = JobRegistry()
            try jobs.register(slow) { _, context in
                guard context.attempt == 1 else { return }
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch is CancellationError {
                    cancelled.store(true, ordering: .relaxed)
                    throw CancellationError()
                }
            }
            let begin = ContinuousClock.now
            let worker = try root.worker(queue: "emails", group: "g", jobs: jobs, groupOptions: quickRetries())
            #expect(try await run(worker) { worker.statistics.succeeded == 1 })
            #expect(ContinuousClock.now - begin < .seconds(25), "the handler's 30 s sleep was not cut short")
            #expect(await eventually { cancelled.load(ordering: .relaxed) })
            #expect(worker.statistics.timedOut == 1)
            #expect(worker.statistics.failed == 1)
        }
    }

    @Test("unknown job: a task whose job has no handler, or no job header, goes to the DLQ saying why")
    func unknownJobDeadLettered() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let queue = try root.queue("media")
            try await queue.enqueue(Job<Resize>("resize-image"), Resize(width: 100))
            try await queue.append(Array("raw bytes".utf8))
            try await queue.enqueue(sendMail, Mail(to: "ada@example.com", subject: "ok"))
            var jobs = JobRegistry()
            try jobs.register(sendMail) { _, _ in }
            let worker = try root.worker(queue: "media", group: "g", jobs: jobs)
            #expect(try await run(worker) { worker.statistics.deadLettered == 2 && worker.statistics.succeeded == 1 })
            // Handlers run concurrently: the dead letters come in either order.
            let reasons = try deadLetters(root, of: "media").map(\.reason).sorted()
            #expect(reasons.count == 2)
            #expect(reasons[0].contains("no handler for job \"resize-image\"") && reasons[0].contains("send-email"))
            #expect(reasons[1].contains("no spool.job header"))
            #expect(try root.group("g", on: "media").progress.lag == 0)
        }
    }

    @Test("a task encoded with another coder, or whose parameters do not decode, goes to the DLQ saying why")
    func undecodableJobDeadLettered() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let queue = try root.queue("emails")
            let now = root.options.clock.wallMilliseconds()
            var wrongCoder = try sendMail.record(Mail(to: "a", subject: "b"), timestamp: now)
            wrongCoder.headers = wrongCoder.headers.map { $0.name == "spool.job-encoding" ? RecordHeader(name: $0.name, value: Array("msgpack/3".utf8)) : $0 }
            var garbage = try sendMail.record(Mail(to: "a", subject: "b"), timestamp: now)
            garbage.value = Array("{\"to\": 5}".utf8)
            try await queue.append(batch: [wrongCoder, garbage])
            var jobs = JobRegistry()
            try jobs.register(sendMail) { _, _ in }
            let worker = try root.worker(queue: "emails", group: "g", jobs: jobs)
            #expect(try await run(worker) { worker.statistics.deadLettered == 2 })
            // Handlers run concurrently: the dead letters come in either order.
            let reasons = try deadLetters(root, of: "emails").map(\.reason).sorted()
            #expect(reasons.count == 2)
            #expect(reasons[0].hasPrefix("cannot decode the parameters of job \"send-email\""))
            #expect(reasons[1] == "job \"send-email\" is encoded as msgpack/3, but its handler decodes json/1")
        }
    }

    @Test("a job's own max attempts and backoff apply: it is dead-lettered after its attempts, not the group's")
    func perJobAttemptsAndBackoff() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let flaky = Job<Mail>("flaky", policy: JobPolicy(
                maxAttempts: 3, backoff: Backoff(base: .milliseconds(100), cap: .milliseconds(100), jitter: 0)))
            try await root.queue("emails").enqueue(flaky, Mail(to: "a", subject: "b"))
            let times = Mutex<[ContinuousClock.Instant]>([])
            var jobs = JobRegistry()
            try jobs.register(flaky, handler: { _, _ in
                times.withLock { $0.append(.now) }
                throw CancellationError()
            })
            var groupOptions = GroupOptions()
            groupOptions.retry.maxAttempts = 10
            groupOptions.retry.baseDelay = .milliseconds(60_000)
            let worker = try root.worker(queue: "emails", group: "g", jobs: jobs, groupOptions: groupOptions)
            #expect(try await run(worker) { (try? deadLetters(root, of: "emails").count) == 1 })
            let got = times.withLock { $0 }
            #expect(got.count == 3)
            #expect(zip(got, got.dropFirst()).allSatisfy { $1 - $0 >= .milliseconds(100) && $1 - $0 < .seconds(30) })
            #expect(try deadLetters(root, of: "emails").first?.attempts == "3")
        }
    }

    @Test("a job's lane is written into its tasks' spool.lane header, and registering a name twice is refused")
    func laneAndDuplicateRegistration() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let queue = try root.queue("q")
            let network = Job<Mail>("send", policy: JobPolicy(lane: "network"))
            try await queue.enqueue(network, Mail(to: "a", subject: "b"))
            var reader = queue.reader(from: 0)
            let record = try #require(try reader.nextBatch()?.records.first)
            #expect(record.headers.first { $0.name == "spool.lane" }?.value == Array("network".utf8))
            #expect(record.headers.first { $0.name == "spool.job" }?.value == Array("send".utf8))
            var jobs = JobRegistry()
            try jobs.register(network) { _, _ in }
            #expect(throws: SpoolError.self) { try jobs.register(network) { _, _ in } }
            #expect(throws: SpoolError.self) { try jobs.register(Job<Mail>("spool.internal")) { _, _ in } }
        }
    }
}
