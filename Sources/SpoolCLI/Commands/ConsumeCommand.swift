import ArgumentParser
import Spool
import SpoolFormat

/// `spool consume`: claims tasks for a consumer group and prints them, acking them or not.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Claim tasks for a consumer group, print them, and optionally ack them.",
        discussion: """
            Examples:
              spool consume --queue emails --group senders --max 10            # claim and print; leases expire
              spool consume --queue emails --group senders --max 100 --ack --json

            Without --ack, the claim's leases end with this process: the tasks are delivered again
            after --lease-ms. Ack them later by offset with `spool ack`.
            """)

    @OptionGroup var common: CommonOptions

    @OptionGroup var target: GroupTarget
    var queue: String { target.queue }
    var group: String { target.group }

    @Option(help: "Tasks to claim at most.")
    var max = 10

    @Option(name: .customLong("lease-ms"), help: "Lease (visibility timeout) in milliseconds.")
    var leaseMilliseconds: Int64 = 30_000

    @Flag(help: "Acknowledge the claimed tasks (durably) after printing them.")
    var ack = false

    @Flag(
        name: .customLong("until-empty"), help: "Repeat claim (and ack) until nothing is ready; print a summary only.")
    var untilEmpty = false

    @Option(
        help:
            "With --ack, append a line \"<offset> <count>\" per acknowledged range to this file once the ack is durable."
    )
    var journal: String?

    func validate() throws {
        guard (1...100_000).contains(max) else { throw ValidationError("--max must be 1...100000") }
        if journal != nil && !ack { throw ValidationError("--journal records acks: it needs --ack") }
    }

    func run() async throws {
        let root = try openExistingQueue(common: common, queue: queue)
        defer { root.close() }
        var groupOptions = GroupOptions()
        groupOptions.lease = .milliseconds(leaseMilliseconds)
        let consumer = try root.group(group, on: queue, options: groupOptions)
        let journalFile = try journal.map { try JournalWriter(path: $0) }
        var claimed = 0
        var result = AckResult()
        // Bounded: --until-empty stops at the first empty claim; the queue is finite.
        repeat {
            let batch = try await consumer.claim(max: max)
            if batch.isEmpty { break }
            claimed += batch.count
            if !untilEmpty { for task in batch.tasks { print(task) } }
            if ack {
                let acked = try await consumer.ack(batch)
                result.acked += acked.acked
                for range in ConsumerGroup.ranges(of: batch.tasks.map(\.offset)) {
                    try journalFile?.record(offset: range.lowerBound, count: Int(range.count))
                }
            }
        } while untilEmpty
        let progress = consumer.progress
        if common.json {
            var line = JSONLine()
            line.add("type", "summary")
            line.add("claimed", claimed)
            line.add("acked", result.acked)
            line.add("watermark", progress.watermark)
            line.add("lag", progress.lag)
            Console.out(line.text)
        } else {
            Console.out(
                "claimed \(claimed) task(s) from \(queue) for group \(group)"
                    + (ack ? ", acked \(result.acked)" : ", not acked (leases end with this process)")
                    + "; lag now \(progress.lag)")
        }
    }

    private func print(_ task: QueueTask) {
        if common.json {
            var line = JSONLine()
            line.add("type", "task")
            line.add("offset", task.offset)
            line.add("attempt", task.attempt)
            line.add("enqueued_at", task.enqueuedAt)
            line.add("key", task.key.map { String(decoding: $0, as: UTF8.self) })
            line.add("payload", task.payload.map { String(decoding: $0, as: UTF8.self) })
            line.addRaw("headers", JSONLine.headers(task.headers))
            Console.out(line.text)
        } else {
            Console.out(
                "offset \(task.offset)  attempt \(task.attempt)  enqueued \(Human.timestamp(task.enqueuedAt))  \(Human.payload(task.payload, limit: 200))"
            )
        }
    }
}

/// `spool ack`: acknowledges offsets for a consumer group, without a lease (operators).
struct AckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Acknowledge tasks of a consumer group by offset.",
        discussion: """
            Examples:
              spool ack --queue emails --group senders 41 42 43

            Acked tasks are never delivered to the group again. Exit code 2 for an offset past the queue's end.
            """)

    @OptionGroup var common: CommonOptions

    @OptionGroup var target: GroupTarget
    var queue: String { target.queue }
    var group: String { target.group }

    @Argument(help: "Offsets to acknowledge.")
    var offsets: [Int64]

    func run() async throws {
        let root = try openExistingQueue(common: common, queue: queue)
        defer { root.close() }
        let consumer = try root.group(group, on: queue)
        let result = try await consumer.acknowledge(offsets: offsets)
        if common.json {
            var line = JSONLine()
            line.add("acked", result.acked)
            line.add("already_acked", result.alreadyAcked)
            line.add("watermark", consumer.progress.watermark)
            Console.out(line.text)
        } else {
            Console.out(
                "acked \(result.acked) task(s) in \(queue) for group \(group)"
                    + (result.alreadyAcked > 0 ? " (\(result.alreadyAcked) were already acked)" : "")
                    + "; watermark \(consumer.progress.watermark)")
        }
    }
}

/// `spool nack`: fails tasks of a consumer group by offset: each counts an attempt.
struct NackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nack",
        abstract: "Fail tasks of a consumer group by offset: retried after a delay, or dead-lettered.",
        discussion: """
            Examples:
              spool nack --queue emails --group senders 41 --reason "smtp 451" --delay-ms 60000

            Each offset counts an attempt; after the group's last attempt it moves to <queue>.dlq.
            """)

    @OptionGroup var common: CommonOptions

    @OptionGroup var target: GroupTarget
    var queue: String { target.queue }
    var group: String { target.group }

    @Option(help: "Why, recorded in the dead-letter headers if it comes to that.")
    var reason = "nack"

    @Option(name: .customLong("delay-ms"), help: "Deliver again after this many milliseconds (default: the backoff).")
    var delayMilliseconds: Int64?

    @Argument(help: "Offsets to fail.")
    var offsets: [Int64]

    func run() async throws {
        let root = try openExistingQueue(common: common, queue: queue)
        defer { root.close() }
        let consumer = try root.group(group, on: queue)
        let count = try await consumer.fail(offsets: offsets, reason: reason, delayMilliseconds: delayMilliseconds)
        if common.json {
            var line = JSONLine()
            line.add("nacked", count)
            Console.out(line.text)
        } else {
            Console.out("nacked \(count) task(s) in \(queue) for group \(group)")
        }
    }
}

/// Opens the root (which must exist) and checks that `queue` exists: a consumer command on a
/// misspelt queue should say so, not create an empty queue.
func openExistingQueue(common: CommonOptions, queue: String) throws -> SpoolRoot {
    var options = SpoolOptions()
    options.createIfMissing = false
    try DrillEnvironment.apply(to: &options)
    let root = try SpoolRoot.open(at: common.resolvedDir, options: options)
    try QueueName.validate(queue)
    guard try root.queueNames().contains(queue) else {
        root.close()
        throw SpoolError(
            .notFound, "no queue named \(queue)", path: root.directory(ofQueue: queue),
            hint: "list the queues with `spool dump` or check --queue and --dir")
    }
    return root
}
