import ArgumentParser
import Glibc
import Spool
import Synchronization

/// `spool compact`: runs the compactor now (DESIGN.md, "Recovery and compaction").
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Run the compactor now: delete acked and expired segments, rewrite sparse ones, checkpoint groups.",
        discussion: """
            Deletes the sealed segments every consumer group has acked, and those past retention (acked or not: their \
            tasks are gone, and groups skip past them). Rewrites segments that are mostly acked, keeping every live \
            task at its offset. Writes group checkpoints, so that opening a group replays a short tail. The active \
            segment is never touched. Shows a progress bar on a terminal.

            Examples:
              spool compact --dir /var/lib/app/spool
              spool compact --queue emails --retention-bytes 1073741824
              spool compact --retention-ms 604800000 --json

            Takes the writer lock: run it while no other process writes to the root (an application compacts in the \
            background by itself). Exit 1 when a queue could not be compacted (the message names the file), 2 for \
            usage or I/O errors.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("queue"), help: "Compact only this queue (repeatable; default: every queue).")
    var queues: [String] = []

    @Option(
        name: .customLong("retention-ms"),
        help: "Delete sealed segments whose newest task is older than this (ms), acked or not.")
    var retentionMilliseconds: Int64?

    @Option(
        name: .customLong("retention-bytes"),
        help: "Delete the oldest sealed segments while a queue holds more bytes than this.")
    var retentionBytes: Int64?

    @Option(
        name: .customLong("max-bytes-per-second"), help: "Read at most this many bytes per second (0: unthrottled).")
    var bytesPerSecond: Int = SpoolOptions().compactionBytesPerSecond

    @Option(
        name: .customLong("sparse-ratio"), help: "Rewrite a segment when this fraction of its tasks can go (0.05...1).")
    var sparseRatio: Double = SpoolOptions().compactionSparseRatio

    @Flag(name: .customLong("key-compaction"), help: "Keep only the latest task of each key; drop old tombstones.")
    var keyCompaction = false

    @Option(
        name: .customLong("tombstone-retention-ms"), help: "With --key-compaction: how long a tombstone is kept (ms).")
    var tombstoneRetentionMilliseconds: Int64 = SpoolOptions().tombstoneRetentionMilliseconds

    func run() async throws {
        var options = SpoolOptions()
        options.createIfMissing = false
        options.compactionIntervalMilliseconds = nil
        // Each deletion and rewrite is in the summary; info lines would break the progress bar.
        options.logger.logLevel = .warning
        options.retentionMilliseconds = retentionMilliseconds
        options.retentionBytes = retentionBytes
        options.compactionBytesPerSecond = bytesPerSecond
        options.compactionSparseRatio = sparseRatio
        options.keyCompaction = keyCompaction
        options.tombstoneRetentionMilliseconds = tombstoneRetentionMilliseconds
        let root = try SpoolRoot.open(at: common.resolvedDir, options: options)
        defer { root.close() }
        let bar = ProgressBar(enabled: !common.json && isatty(2) != 0)
        let report = try root.compact(queues: queues.isEmpty ? nil : queues) { bar.show($0) }
        bar.finish()
        if common.json {
            Console.out(Self.json(report))
        } else {
            Self.printTable(report, dir: common.resolvedDir)
        }
        if !report.problems.isEmpty {
            throw ProblemsFound(
                summary: "compaction stopped for \(report.problems.count) queue(s): "
                    + report.problems.joined(separator: "; "))
        }
    }

    static func json(_ report: CompactionReport) -> String {
        var line = JSONLine()
        line.add("secs", report.seconds, decimals: 6)
        line.add("passes", report.passes)
        line.add("segments_deleted", report.queues.reduce(0) { $0 + $1.segmentsDeleted })
        line.add("bytes_deleted", report.queues.reduce(Int64(0)) { $0 + $1.bytesDeleted })
        line.add("segments_rewritten", report.queues.reduce(0) { $0 + $1.segmentsRewritten })
        line.add("bytes_read", report.queues.reduce(Int64(0)) { $0 + $1.bytesRead })
        line.addRaw(
            "per_queue",
            JSONLine.array(
                report.queues.map { q in
                    var o = JSONLine()
                    o.add("queue", q.queue)
                    o.add("log_start", q.logStartOffset)
                    o.add("next_offset", q.nextOffset)
                    o.add("segments_deleted", q.segmentsDeleted)
                    o.add("segments_deleted_acked", q.segmentsDeletedAcked)
                    o.add("segments_deleted_retention", q.segmentsDeletedRetention)
                    o.add("bytes_deleted", q.bytesDeleted)
                    o.add("segments_rewritten", q.segmentsRewritten)
                    o.add("records_removed", q.recordsRemoved)
                    o.add("bytes_read", q.bytesRead)
                    o.add("bytes_written", q.bytesWritten)
                    o.add("checkpoints_written", q.checkpointsWritten)
                    o.add("group_segments_deleted", q.groupSegmentsDeleted)
                    o.add("rolls", q.rolls)
                    o.add("segment_bytes", q.segmentBytes)
                    o.add("error", q.error)
                    return o.text
                }))
        return line.text
    }

    static func printTable(_ report: CompactionReport, dir: String) {
        Console.out("compacted \(dir) in \(Human.seconds(report.seconds)), \(report.passes) pass(es)")
        let header = ["queue", "deleted", "freed", "rewritten", "removed", "checkpoints", "log start", "size"]
        var rows = [header]
        for q in report.queues {
            rows.append([
                q.queue, "\(q.segmentsDeleted)", Human.bytes(q.bytesDeleted), "\(q.segmentsRewritten)",
                Human.count(q.recordsRemoved), "\(q.checkpointsWritten)", "\(q.logStartOffset)",
                Human.bytes(q.segmentBytes),
            ])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            Console.out(
                "  "
                    + row.enumerated().map { c, cell in
                        c == 0
                            ? cell + String(repeating: " ", count: widths[c] - cell.count)
                            : String(repeating: " ", count: widths[c] - cell.count) + cell
                    }.joined(separator: "  "))
        }
        for q in report.queues {
            if let error = q.error { Console.out("  \(q.queue): stopped: \(error)") }
        }
    }
}

extension ProgressBar {
    func show(_ progress: CompactionProgress) {
        update(
            done: progress.bytesDone, total: progress.bytesTotal, label: "\(progress.queue) segment \(progress.segment)"
        )
    }
}
