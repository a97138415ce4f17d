import ArgumentParser
import Spool
import SpoolFormat

/// `spool dlq list|replay`: inspect a queue's dead letters and move them back.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List a queue's dead letters, or replay them into the queue.",
        subcommands: [DeadLetterList.self, DeadLetterReplay.self])
}

struct DeadLetterList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Print the dead letters of a queue with their reason, attempts and source offset.",
        discussion: """
            Examples:
              spool dlq list --queue emails
              spool dlq list --queue emails --json
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The source queue (its dead letters are in <queue>.dlq).")
    var queue = "default"

    /// Read-only and lock-free, like `stats` and `tail`: it creates and changes nothing under the
    /// root (no dead-letter queue, no replay group, no recovery point, no lock).
    func run() async throws {
        let (letters, replayedBelow) = try DeadLetterList.open(root: common.resolvedDir, queue: queue)
        var count = 0
        // Bounded by the letters present: each poll returns the next whole batches, none at the end.
        while let records = try letters?.poll(), !records.isEmpty {
            for record in records {
                count += 1
                let header = { (name: String) in
                    record.headers.first { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
                }
                if common.json {
                    var line = JSONLine()
                    line.add("offset", record.offset)
                    line.add("source_offset", header(TaskHeaders.sourceOffsetName))
                    line.add("source_group", header(TaskHeaders.sourceGroupName))
                    line.add("attempts", header(TaskHeaders.attemptName))
                    line.add("reason", header(TaskHeaders.deadLetterReasonName))
                    line.add("replayed", record.offset < replayedBelow)
                    line.add("payload", record.value.map { String(decoding: $0, as: UTF8.self) })
                    Console.out(line.text)
                } else {
                    Console.out(
                        "offset \(record.offset)  from \(queue)@\(header(TaskHeaders.sourceOffsetName) ?? "?") "
                            + "group \(header(TaskHeaders.sourceGroupName) ?? "?")  attempts \(header(TaskHeaders.attemptName) ?? "?")  "
                            + "reason \(JSONLine.quote(header(TaskHeaders.deadLetterReasonName) ?? ""))"
                            + (record.offset < replayedBelow ? "  (replayed)" : "")
                            + "  \(Human.payload(record.value, limit: 80))")
                }
            }
        }
        if !common.json { Console.out("\(count) dead letter(s) in \(queue).dlq") }
    }
}

extension DeadLetterList {
    /// A reader of `<queue>.dlq` from its start (nil when the queue has no dead letters) and the
    /// offset below which the letters were replayed (the `spool-replay` group's watermark).
    /// - Throws: `.notFound` when the root or the queue does not exist; read errors.
    static func open(root: String, queue: String) throws -> (LogFollower?, Int64) {
        try QueueName.validate(queue)
        let fs = PosixFileSystem()
        let queues = RootLayout(root: root).queuesDirectory
        guard fs.fileType(queues) == .directory else {
            throw SpoolError(.notFound, "not a Spool root (no queues/)", path: root, hint: "pass the right --dir")
        }
        guard fs.fileType(queues + "/" + queue) == .directory else {
            throw SpoolError(
                .notFound, "no queue named \(queue)", path: queues + "/" + queue,
                hint: "check --dir and --queue; `spool stats` lists the queues")
        }
        let directory = queues + "/" + QueueName.deadLetters(of: queue)
        guard fs.fileType(directory) == .directory else { return (nil, 0) }
        let letters = try LogFollower(directory: directory, from: 0)
        let groupDirectory = RootLayout.path(RootLayout.groupsDirectory(in: directory), SpoolRoot.replayGroupName)
        guard fs.fileType(groupDirectory) == .directory,
            let log = try SpoolLayout.logs(at: groupDirectory, fileSystem: fs).first
        else { return (letters, 0) }
        return (letters, try GroupStateReader(fileSystem: fs).read(log, queueStart: letters.startOffset).watermark)
    }
}

struct DeadLetterReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Move the dead letters of a queue back into it as new tasks.",
        discussion: """
            Examples:
              spool dlq replay --queue emails

            Letters replayed before are not replayed again. Their spool.dlq-* headers are removed, so
            they get a fresh set of attempts.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The source queue.")
    var queue = "default"

    func run() async throws {
        var options = SpoolOptions()
        options.createIfMissing = false
        let root = try SpoolRoot.open(at: common.resolvedDir, options: options)
        defer { root.close() }
        let count = try await root.replayDeadLetters(of: queue)
        if common.json {
            var line = JSONLine()
            line.add("queue", queue)
            line.add("replayed", count)
            Console.out(line.text)
        } else {
            Console.out("replayed \(count) dead letter(s) into \(queue)")
        }
    }
}
