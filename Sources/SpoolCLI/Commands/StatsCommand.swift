import ArgumentParser
import Spool

/// `spool stats`: per queue and group figures, without reading the data.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Per queue and group: depth, lag, oldest pending age, segments, bytes, DLQ size.",
        discussion: """
            Examples:
              spool stats                      # every queue of the root in --dir
              spool stats --queue emails --json
              spool stats --prometheus > /var/lib/node_exporter/textfile/spool.prom

            Reads file sizes, the indexes, the recovery point, the last batch
            header and the group logs, never the data itself: fast on any size of
            root, read-only and lock-free. TASKS is the records held, DEPTH the
            backlog of the slowest group (TASKS when there is none), RATIO the
            compression ratio of the last batch, RETAINED the age of the oldest
            record. RETRYING counts a group's tasks not acknowledged with at least
            one failed attempt (waiting for their next delivery or being
            redelivered), as ConsumerGroup.stats().retrying does in-process.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Only this queue.")
    var queue: String?

    @Flag(help: "Prometheus text exposition format (for node_exporter's textfile collector).")
    var prometheus = false

    @Option(
        help:
            "Compute ages as of this time (ms since the epoch, or ISO 8601 UTC) instead of now: for reproducible reports.",
        transform: { text in
            guard let ms = TimeArgument.parse(text) else {
                throw ValidationError("--now: not milliseconds or an ISO 8601 UTC time: \(text)")
            }
            return ms
        })
    var now: Int64?

    func validate() throws {
        if prometheus && common.json { throw ValidationError("--json and --prometheus exclude each other") }
        if let queue { try QueueName.validate(queue) }
    }

    func run() async throws {
        let root = common.resolvedDir
        var stats = try StatsCollector().collect(path: root)
        ForeignEntryWarnings.report(under: root, command: "stats")
        if let queue {
            stats = stats.filter { $0.name == queue }
            if stats.isEmpty {
                throw SpoolError(
                    .notFound, "no queue named \(queue)", path: RootLayout(root: root).queueDirectory(queue),
                    hint: "list the queues with `spool stats`")
            }
        }
        let time = now ?? SystemClock().wallMilliseconds()
        if prometheus {
            printPrometheus(stats, now: time)
        } else if common.json {
            printJSON(stats, now: time)
        } else {
            printText(stats, now: time)
        }
    }

    private func printText(_ stats: [QueueStats], now: Int64) {
        if stats.isEmpty {
            Console.out("no queues in \(common.resolvedDir)")
            return
        }
        var table = Table(
            [
                "QUEUE", "TASKS", "DEPTH", "OLDEST PENDING", "SEGMENTS", "SIZE", "DISK", "B/TASK", "CODEC", "RATIO",
                "DLQ", "RETAINED",
            ],
            rightAligned: [1, 2, 3, 4, 5, 6, 7, 9, 10, 11])
        for q in stats {
            table.add([
                q.name, Human.count(q.tasks), Human.count(q.depth),
                q.oldestPendingAge(now: now).map { Human.age(milliseconds: $0) } ?? "-",
                Human.count(q.segments), Human.bytes(q.logBytes), Human.bytes(q.diskBytes),
                q.bytesPerTask.map { JSONLine.fixed($0, decimals: 1) } ?? "-", q.lastCodec ?? "-",
                q.compressionRatio.map { JSONLine.fixed($0, decimals: 2) } ?? "-",
                q.deadLetters.map(Human.count) ?? "-",
                q.retainedAge(now: now).map { Human.age(milliseconds: $0) } ?? "-",
            ])
        }
        table.lines.forEach(Console.out)
        let groups = stats.flatMap { q in q.groups.map { (q.name, $0) } }
        guard !groups.isEmpty else { return }
        Console.out("")
        var groupTable = Table(
            ["QUEUE", "GROUP", "WATERMARK", "LAG", "RETRYING", "OLDEST PENDING"], rightAligned: [2, 3, 4, 5])
        for (queue, g) in groups {
            if let error = g.error {
                groupTable.add([queue, g.name, "-", "-", "-", Terminal.paint("unreadable: " + error, .red)])
                continue
            }
            groupTable.add([
                queue, g.name, Human.count(g.watermark), Human.count(g.lag), Human.count(g.retrying),
                g.oldestPendingAge(now: now).map { Human.age(milliseconds: $0) } ?? "-",
            ])
        }
        groupTable.lines.forEach(Console.out)
    }

    private func printJSON(_ stats: [QueueStats], now: Int64) {
        for q in stats {
            var line = JSONLine()
            line.add("type", "queue")
            line.add("queue", q.name)
            line.add("first_offset", q.firstOffset)
            line.add("next_offset", q.nextOffset)
            line.add("tasks", q.tasks)
            line.add("depth", q.depth)
            line.add("oldest_pending_age_ms", q.oldestPendingAge(now: now))
            line.add("segments", q.segments)
            line.add("log_bytes", q.logBytes)
            line.add("disk_bytes", q.diskBytes)
            if let b = q.bytesPerTask {
                line.add("bytes_per_task", b, decimals: 1)
            } else {
                line.add("bytes_per_task", nil as Int64?)
            }
            line.add("codec", q.lastCodec)
            if let r = q.compressionRatio {
                line.add("compression_ratio", r, decimals: 3)
            } else {
                line.add("compression_ratio", nil as Int64?)
            }
            line.add("dead_letters", q.deadLetters)
            line.add("oldest_timestamp", q.oldestTimestamp)
            line.add("newest_timestamp", q.newestTimestamp)
            line.add("retained_age_ms", q.retainedAge(now: now))
            Console.out(line.text)
            for g in q.groups {
                var line = JSONLine()
                line.add("type", "group")
                line.add("queue", q.name)
                line.add("group", g.name)
                line.add("watermark", g.error == nil ? g.watermark : nil)
                line.add("lag", g.error == nil ? g.lag : nil)
                line.add("waiting_for_retry", g.error == nil ? Int64(g.retrying) : nil)
                line.add("oldest_pending_age_ms", g.oldestPendingAge(now: now))
                line.add("error", g.error)
                Console.out(line.text)
            }
        }
    }

    private func printPrometheus(_ stats: [QueueStats], now: Int64) {
        func label(_ s: String) -> String {
            var out = ""
            for c in s {
                switch c {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                default: out.append(c)
                }
            }
            return out
        }
        func number(_ d: Double) -> String { JSONLine.fixed(d, decimals: 3) }
        typealias Sample = (labels: String, value: String)
        func family(_ name: String, _ help: String, _ samples: [Sample]) {
            guard !samples.isEmpty else { return }
            Console.out("# HELP \(name) \(help)")
            Console.out("# TYPE \(name) gauge")
            for s in samples { Console.out("\(name){\(s.labels)} \(s.value)") }
        }
        let q = stats.map { ($0, "queue=\"\(label($0.name))\"") }
        family("spool_queue_tasks", "Records held in the queue's log.", q.map { ($0.1, String($0.0.tasks)) })
        family(
            "spool_queue_depth", "Backlog: the largest lag among the queue's groups (records held when it has none).",
            q.map { ($0.1, String($0.0.depth)) })
        family(
            "spool_queue_next_offset", "Offset the next enqueued task gets.", q.map { ($0.1, String($0.0.nextOffset)) })
        family("spool_queue_segments", "Segment files of the queue's log.", q.map { ($0.1, String($0.0.segments)) })
        family(
            "spool_queue_log_bytes", "Bytes of batch data in the queue's segments.",
            q.map { ($0.1, String($0.0.logBytes)) })
        family(
            "spool_queue_disk_bytes", "Bytes allocated on disk to the queue's directory (du).",
            q.map { ($0.1, String($0.0.diskBytes)) })
        family(
            "spool_queue_bytes_per_task", "Log bytes per record held.",
            q.compactMap { s in s.0.bytesPerTask.map { (s.1, number($0)) } })
        family(
            "spool_queue_compression_ratio", "Uncompressed over stored bytes of the last batch.",
            q.compactMap { s in s.0.compressionRatio.map { (s.1, number($0)) } })
        family(
            "spool_queue_dead_letters", "Tasks in the queue's dead-letter queue.",
            q.compactMap { s in s.0.deadLetters.map { (s.1, String($0)) } })
        family(
            "spool_queue_oldest_pending_age_seconds", "Age of the oldest task some group has not acknowledged.",
            q.compactMap { s in s.0.oldestPendingAge(now: now).map { (s.1, number(Double($0) / 1000)) } })
        family(
            "spool_queue_retained_age_seconds", "Age of the oldest record still in the log.",
            q.compactMap { s in s.0.retainedAge(now: now).map { (s.1, number(Double($0) / 1000)) } })
        let g = stats.flatMap { s in
            s.groups.filter { $0.error == nil }.map {
                (s, $0, "queue=\"\(label(s.name))\",group=\"\(label($0.name))\"")
            }
        }
        family(
            "spool_group_lag", "Tasks in the queue the group has not acknowledged.", g.map { ($0.2, String($0.1.lag)) })
        family(
            "spool_group_watermark", "Every offset below this is acknowledged by the group.",
            g.map { ($0.2, String($0.1.watermark)) })
        family(
            "spool_group_waiting_for_retry", "Tasks with a failed attempt waiting to be delivered again.",
            g.map { ($0.2, String($0.1.retrying)) })
        family(
            "spool_group_oldest_pending_age_seconds", "Age of the group's oldest unacknowledged task.",
            g.compactMap { s in s.1.oldestPendingAge(now: now).map { (s.2, number(Double($0) / 1000)) } })
    }
}
