import ArgumentParser
import Spool

/// `spool recover`: opens the root as a writer would after a crash, and reports what recovery did.
struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract:
            "Open and replay a root; print time taken, bytes scanned and truncated, next offsets, pending tasks per group.",
        discussion: """
            Examples:
              spool recover --dir /var/lib/app/spool
              spool recover --json

            Takes the writer lock: it fails while another process writes to the root.
            """)

    @OptionGroup var common: CommonOptions

    func run() async throws {
        var options = SpoolOptions()
        options.createIfMissing = false
        let clock = SystemClock()
        let started = clock.monotonicNanoseconds()
        let root = try SpoolRoot.open(at: common.resolvedDir, options: options)
        defer { root.close() }
        var reports: [(String, RecoveryReport)] = []
        var groups: [String: [(String, ConsumerGroup)]] = [:]
        for name in try root.queueNames() {
            reports.append((name, try root.queue(name).recoveryReport))
            for group in try root.groupNames(of: name) {
                groups[name, default: []].append((group, try root.group(group, on: name)))
            }
        }
        let secs = Double(clock.monotonicNanoseconds() - started) / 1e9
        if common.json {
            var line = JSONLine()
            line.add("secs", secs, decimals: 6)
            line.add("queues", reports.count)
            line.add("segments_scanned", reports.reduce(0) { $0 + $1.1.segmentsScanned })
            line.add("bytes_scanned", reports.reduce(Int64(0)) { $0 + $1.1.bytesScanned })
            line.add("bytes_truncated", reports.reduce(Int64(0)) { $0 + $1.1.bytesTruncated })
            line.add("pending", groups.values.joined().reduce(Int64(0)) { $0 + $1.1.progress.lag })
            line.addRaw(
                "per_queue",
                JSONLine.array(
                    reports.map { name, r in
                        var q = JSONLine()
                        q.add("queue", name)
                        q.add("secs", r.seconds, decimals: 6)
                        q.add("segments", r.segments)
                        q.add("segments_scanned", r.segmentsScanned)
                        q.add("bytes_scanned", r.bytesScanned)
                        q.add("bytes_truncated", r.bytesTruncated)
                        q.add("first_offset", r.firstOffset)
                        q.add("next_offset", r.nextOffset)
                        q.add("recovery_point_missing", r.recoveryPointMissing)
                        q.add("indexes_rebuilt", r.indexesRebuilt)
                        q.addRaw("broken_files", JSONLine.array(r.brokenFiles.map(JSONLine.quote)))
                        q.addRaw("removed_temp_files", JSONLine.array(r.removedTemporaryFiles.map(JSONLine.quote)))
                        q.addRaw("compaction_leftovers", JSONLine.array(r.compactionLeftovers.map(JSONLine.quote)))
                        q.addRaw(
                            "groups",
                            JSONLine.array(
                                (groups[name] ?? []).map { group, g in
                                    var o = JSONLine()
                                    let progress = g.progress
                                    o.add("group", group)
                                    o.add("pending", progress.lag)
                                    o.add("watermark", progress.watermark)
                                    o.add("checkpoint_offset", g.openReport.checkpointOffset)
                                    o.add("records_replayed", g.openReport.recordsReplayed)
                                    o.addRaw(
                                        "ignored_checkpoints",
                                        JSONLine.array(g.openReport.ignoredCheckpoints.map(JSONLine.quote)))
                                    return o.text
                                }))
                        return q.text
                    }))
            Console.out(line.text)
            return
        }
        Console.out("recovered \(common.resolvedDir) in \(Human.seconds(secs)): \(reports.count) queue(s)")
        for (name, r) in reports {
            var text =
                "  \(name): offsets \(r.firstOffset)–\(r.nextOffset - 1) (next \(r.nextOffset)), \(r.segments) segment(s), "
                + "scanned \(Human.bytes(r.bytesScanned)) in \(r.segmentsScanned) segment(s) in \(Human.seconds(r.seconds))"
            if r.bytesTruncated > 0 {
                text +=
                    ", cut a torn tail of \(Human.bytes(r.bytesTruncated)) (kept in \(r.brokenFiles.joined(separator: ", ")))"
            }
            if r.recoveryPointMissing { text += ", recovery point was missing" }
            if r.indexesRebuilt > 0 { text += ", rebuilt \(r.indexesRebuilt) index(es)" }
            if !r.compactionLeftovers.isEmpty {
                text += ", resolved \(r.compactionLeftovers.count) compaction leftover(s)"
            }
            Console.out(text)
            for (group, g) in groups[name] ?? [] {
                var line =
                    "    group \(group): \(Human.count(g.progress.lag)) pending, replayed \(Human.count(g.openReport.recordsReplayed)) group record(s)"
                if let checkpoint = g.openReport.checkpointOffset { line += " after its checkpoint at \(checkpoint)" }
                if !g.openReport.ignoredCheckpoints.isEmpty {
                    line += ", ignored: " + g.openReport.ignoredCheckpoints.joined(separator: "; ")
                }
                Console.out(line)
            }
        }
    }
}
