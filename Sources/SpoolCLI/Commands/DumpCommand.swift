import ArgumentParser
import Spool
import SpoolFormat

/// `spool dump`: batches and records of a segment file, a queue directory or a whole root.
struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the batches and records of a segment, queue or root.",
        discussion: """
            Examples:
              spool dump                             # the root in --dir
              spool dump spool-data/queues/emails    # one queue
              spool dump 00000000000000000000.log --payloads
              spool dump spool-data/queues/emails --from-offset 1000 --to-offset 1099
              spool dump spool-data/queues/emails --from-time 2026-11-27T07:00:00Z
              spool dump spool-data/queues/emails --index   # checked entries
              spool dump ../shared/interop/00000000000000001000.log --json

            Read-only and lock-free: safe while a writer runs. Ranges start through
            the .index and .timeindex files (checked against the log), so they do
            not read the whole log. Exit code 1 when a batch or index entry is
            damaged, 2 for a range outside the log.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Segment files, queue directories or roots (default: --dir).")
    var paths: [String] = []

    @Flag(help: "Print each record: offset, timestamp, key, headers and value size.")
    var records = false

    @Flag(help: "Print each record with its value (text as text, binary as hex).")
    var payloads = false

    @Flag(help: "With --payloads, print values whole instead of cutting them at 64 bytes.")
    var full = false

    @Option(name: .customLong("from-offset"), help: "First record offset to print.")
    var fromOffset: Int64?

    @Option(name: .customLong("to-offset"), help: "Last record offset to print (inclusive).")
    var toOffset: Int64?

    @Option(
        name: .customLong("from-time"),
        help: "First record time (ms since the epoch, or ISO 8601 UTC such as 2026-11-27T07:00:00Z).",
        transform: Self.time)
    var fromTime: Int64?

    @Option(
        name: .customLong("to-time"), help: "Last record time (inclusive; ms or ISO 8601 UTC).", transform: Self.time)
    var toTime: Int64?

    @Flag(help: "Print the .index and .timeindex entries of each segment, checked against the log, instead of batches.")
    var index = false

    static func time(_ text: String) throws -> Int64 {
        guard let ms = TimeArgument.parse(text) else {
            throw ValidationError("not milliseconds or an ISO 8601 UTC time (2026-11-27T07:00:00Z): \(text)")
        }
        return ms
    }

    func validate() throws {
        if let fromOffset, fromOffset < 0 { throw ValidationError("--from-offset must be 0 or more") }
        if let fromOffset, let toOffset, toOffset < fromOffset {
            throw ValidationError("--to-offset \(toOffset) is below --from-offset \(fromOffset)")
        }
        if let fromTime, let toTime, toTime < fromTime { throw ValidationError("--to-time is before --from-time") }
        if index && hasRange { throw ValidationError("--index dumps whole index files; it takes no range") }
    }

    private var hasRange: Bool { fromOffset != nil || toOffset != nil || fromTime != nil || toTime != nil }
    private var showRecords: Bool { records || payloads || hasRange }

    func run() async throws {
        let targets = paths.isEmpty ? [common.resolvedDir] : paths
        var damaged = 0
        var matched: Int64 = 0
        var extent: (Int64, Int64)? = nil
        for target in targets {
            // Groups' logs only when asked for by their directory: a root or queue dump is the tasks.
            let logs = try SpoolLayout.logs(at: target)
            ForeignEntryWarnings.report(under: target, command: "dump")
            for log in logs where log.kind != .group || logs.allSatisfy({ $0.kind == .group }) {
                for segment in log.segments {
                    if index {
                        damaged += try dumpIndex(segment)
                    } else {
                        let outcome = try dump(
                            segment,
                            next: log.segments.first { ($0.baseOffset ?? -1) > (segment.baseOffset ?? .max) }?
                                .baseOffset)
                        damaged += outcome.problems
                        matched += outcome.matched
                        if let first = outcome.first, let next = outcome.next {
                            extent = (min(extent?.0 ?? first, first), max(extent?.1 ?? next, next))
                        }
                    }
                }
            }
        }
        if hasRange && matched == 0 {
            let range =
                "\(fromOffset.map(String.init) ?? "start")–\(toOffset.map(String.init) ?? "end")"
                + (fromTime != nil || toTime != nil
                    ? ", times \(fromTime.map(Human.timestamp) ?? "start")–\(toTime.map(Human.timestamp) ?? "end")"
                    : "")
            let holds = extent.map { "the log holds offsets \($0.0)–\($0.1 - 1)" } ?? "the log holds no records"
            throw SpoolError(
                .notFound, "no record in the range \(range): \(holds)", path: targets.joined(separator: " "),
                hint: "pick a range inside the log (`spool stats` shows each queue's offsets)")
        }
        if damaged > 0 { throw ProblemsFound(summary: "\(damaged) damaged batch(es), tail(s) or index entries found") }
    }

    private struct Outcome {
        var problems = 0
        var matched: Int64 = 0
        var first: Int64?
        var next: Int64?
    }

    /// Dumps one file (within the range, when one is given).
    private func dump(_ segment: SpoolLayout.SegmentPath, next nextBase: Int64?) throws -> Outcome {
        let file = try SegmentFile(path: segment.path)
        var outcome = Outcome(first: file.nameOffset)
        // Skip segments wholly before the offset range; start inside one through its index.
        if let fromOffset, let nextBase, nextBase <= fromOffset {
            outcome.next = nextBase
            return outcome
        }
        if let toOffset, let base = file.nameOffset, base > toOffset {
            outcome.next = base
            return outcome
        }
        var start: (position: Int64, offset: Int64?) = (0, nil)
        if fromOffset != nil || fromTime != nil {
            let indexes = try IndexEntries.read(segment: segment.path)
            if let fromOffset { start = try file.seekPosition(forOffset: fromOffset, indexes: indexes) }
            if let fromTime {
                let byTime = try file.seekPosition(forTimestamp: fromTime, indexes: indexes)
                if byTime.position > start.position { start = byTime }
            }
        }
        if !common.json {
            let queue = segment.queue.map { "queue \($0), " } ?? ""
            Console.out(
                "== \(segment.path) (\(queue)\(Human.bytes(file.size)))"
                    + (start.position > 0 ? " from position \(start.position) (index)" : ""))
        }
        // Options read once: the per-record filter runs a million times a second.
        let (fromOffset, toOffset, fromTime, toTime, hasRange, showRecords) = (
            self.fromOffset, self.toOffset, self.fromTime, self.toTime, self.hasRange, self.showRecords
        )
        let printer = RecordPrinter(
            json: common.json, valueLimit: full ? nil : 64, file: common.json ? segment.path : nil, values: payloads)
        let end = try file.forEachBatch(from: start.position, expectedOffset: start.offset, decode: true) { entry in
            let header = entry.header
            if outcome.first == nil { outcome.first = header.baseOffset }
            if let toOffset, header.baseOffset > toOffset { return false }
            if let fromOffset, header.lastOffset < fromOffset { return true }
            if let fromTime, header.maxTimestamp < fromTime { return true }
            var errors: [String] = []
            if entry.computedCRC != header.crc { errors.append("CRC mismatch") }
            if let expected = entry.expectedOffset, expected != header.baseOffset {
                errors.append("starts at offset \(header.baseOffset), expected \(expected)")
            }
            if case .failure(let error)? = entry.batch, entry.computedCRC == header.crc { errors.append(error.message) }
            if !errors.isEmpty { outcome.problems += 1 }
            var shown: [Record] = []
            if case .success(let batch)? = entry.batch {
                shown = batch.records.filter { r in
                    (fromOffset.map { r.offset >= $0 } ?? true) && (toOffset.map { r.offset <= $0 } ?? true)
                        && (fromTime.map { r.timestamp >= $0 } ?? true) && (toTime.map { r.timestamp <= $0 } ?? true)
                }
                if hasRange && shown.isEmpty { return true }
            } else if hasRange && errors.isEmpty {
                return true
            }
            outcome.matched += Int64(shown.count)
            printBatch(entry, file: segment.path, queue: segment.queue, errors: errors)
            if showRecords { printer.print(shown) }
            return true
        }
        outcome.next = end.nextOffset ?? outcome.next
        if end.problem != nil { outcome.problems += 1 }
        if !hasRange || end.problem != nil { printEnd(end, file: segment.path) }
        return outcome
    }

    private func codecName(_ header: RecordBatchHeader) -> String {
        CompressionCodec(rawValue: UInt8(header.codecBits)).map(\.description) ?? "invalid(\(header.codecBits))"
    }

    private func printBatch(_ entry: SegmentFile.Entry, file: String, queue: String?, errors: [String]) {
        let h = entry.header
        if common.json {
            var line = JSONLine()
            line.add("type", "batch")
            line.add("file", file)
            line.add("queue", queue)
            line.add("position", entry.position)
            line.add("base_offset", h.baseOffset)
            line.add("last_offset", h.lastOffset)
            line.add("bytes", h.totalBytes)
            line.add("records", Int64(h.recordCount))
            line.add("codec", codecName(h))
            if case .success(let batch)? = entry.batch {
                line.add("records_bytes_stored", batch.storedRecordsBytes)
                line.add("records_bytes", batch.recordsBytes)
            }
            line.add("crc", Human.crc(h.crc))
            line.add("crc_computed", Human.crc(entry.computedCRC))
            line.add("crc_ok", h.crc == entry.computedCRC)
            line.add("base_timestamp", h.baseTimestamp)
            line.add("max_timestamp", h.maxTimestamp)
            if h.isTransactional || h.isControlBatch {
                line.add("producer_id", h.producerId)
                line.add("transactional", h.isTransactional)
                line.add("control", h.isControlBatch ? controlType(entry) : nil)
            }
            line.add("error", errors.isEmpty ? nil : errors.joined(separator: "; "))
            Console.out(line.text)
            return
        }
        let crc =
            h.crc == entry.computedCRC
            ? "\(Human.crc(h.crc)) ok" : "\(Human.crc(h.crc)) BAD (computed \(Human.crc(entry.computedCRC)))"
        var text =
            "batch offsets \(h.baseOffset)–\(h.lastOffset)  position \(entry.position)  \(Human.count(h.totalBytes)) B  "
            + "\(h.recordCount) records  codec \(codecName(h))\(compressionText(entry))  crc \(crc)  time \(Human.timestamp(h.baseTimestamp))"
        if h.isControlBatch {
            text += "  control \(controlType(entry)) (producer \(h.producerId); never a task)"
        } else if h.isTransactional {
            text += "  transactional (producer \(h.producerId))"
        }
        if !errors.isEmpty { text += "  " + Terminal.paint("ERROR: " + errors.joined(separator: "; "), .red) }
        Console.out(text)
    }

    /// The marker a control batch holds (FORMAT.md, "Control batches and transactions"):
    /// COMMIT, ABORT, or what else its first record's key says.
    private func controlType(_ entry: SegmentFile.Entry) -> String {
        guard case .success(let batch)? = entry.batch, let first = batch.records.first else { return "marker" }
        switch try? ControlRecordType.decode(key: first.key) {
        case .commit?: return "COMMIT"
        case .abort?: return "ABORT"
        default: return "marker"
        }
    }

    /// For a compressed batch: the records section's stored and plain sizes, and the ratio.
    private func compressionText(_ entry: SegmentFile.Entry) -> String {
        guard case .success(let batch)? = entry.batch, entry.header.codecBits != 0, batch.storedRecordsBytes > 0 else {
            return ""
        }
        let ratio = Double(batch.recordsBytes) / Double(batch.storedRecordsBytes)
        return
            " \(Human.count(batch.storedRecordsBytes)) of \(Human.count(batch.recordsBytes)) B (\(JSONLine.fixed(ratio, decimals: 2))×)"
    }

    private func printEnd(_ end: SegmentFile.End, file: String) {
        if common.json {
            var line = JSONLine()
            line.add("type", "end")
            line.add("file", file)
            line.add("position", end.position)
            line.add("next_offset", end.nextOffset)
            line.add("trailing_bytes", end.trailingBytes)
            line.add("problem", end.problem)
            Console.out(line.text)
            return
        }
        let next = end.nextOffset.map { "next offset \($0)" } ?? "no batches"
        if let problem = end.problem {
            Console.out(
                "end at position \(end.position) (\(next)): " + Terminal.paint("DAMAGED: \(problem)", .red)
                    + "; \(Human.count(end.trailingBytes)) bytes follow")
        } else if end.trailingBytes > 0 {
            Console.out(
                "end at position \(end.position) (\(next)); \(Human.count(end.trailingBytes)) preallocated zero bytes follow"
            )
        } else {
            Console.out("end at position \(end.position) (\(next))")
        }
    }

    /// Prints a segment's index entries, each checked against the batch it points at.
    private func dumpIndex(_ segment: SpoolLayout.SegmentPath) throws -> Int {
        let file = try SegmentFile(path: segment.path)
        let indexes = try IndexEntries.read(segment: segment.path)
        let checks = try IndexCheck.check(indexes, against: file)
        let stem = String(segment.path.dropLast(4))
        if !common.json {
            Console.out(
                "== \(stem).index (\(indexes.offsetFileExists ? "\(indexes.offsets.count) entries" : "missing")), "
                    + "\(stem).timeindex (\(indexes.timeFileExists ? "\(indexes.times.count) entries" : "missing"))")
        }
        var problems = 0
        // Kafka's meaning: the files' entries are independent (FORMAT.md, "Time index (.timeindex)"), so row i
        // shows entry i of each: an offset entry (a batch's last offset, its position) and a
        // time entry (greatest timestamp so far, its offset).
        var table = Table(
            ["ENTRY", "OFFSET", "POSITION", "TIMESTAMP", "TIME OFFSET", "CHECK"], rightAligned: [0, 1, 2, 4])
        let base = file.nameOffset ?? 0
        for i in 0..<max(indexes.offsets.count, indexes.times.count) {
            let o = i < indexes.offsets.count ? indexes.offsets[i] : nil
            let t = i < indexes.times.count ? indexes.times[i] : nil
            let found = [
                i < checks.offsets.count ? checks.offsets[i].map { ".index: " + $0 } : nil,
                i < checks.times.count ? checks.times[i].map { ".timeindex: " + $0 } : nil,
            ].compactMap { $0 }
            let problem: String? = found.isEmpty ? nil : found.joined(separator: "; ")
            if problem != nil { problems += 1 }
            if common.json {
                var line = JSONLine()
                line.add("type", "index_entry")
                line.add("file", segment.path)
                line.add("entry", i)
                line.add("offset", o.map { base + Int64($0.relativeOffset) })
                line.add("position", o.map { Int64($0.position) })
                line.add("timestamp", t?.timestamp)
                line.add("time_offset", t.map { base + Int64($0.relativeOffset) })
                line.add("ok", problem == nil)
                line.add("problem", problem)
                Console.out(line.text)
            } else {
                table.add([
                    String(i), o.map { Human.count(base + Int64($0.relativeOffset)) } ?? "-",
                    o.map { Human.count(Int64($0.position)) } ?? "-",
                    t.map { Human.timestamp($0.timestamp) } ?? "-",
                    t.map { Human.count(base + Int64($0.relativeOffset)) } ?? "-",
                    problem.map { Terminal.paint("BAD: " + $0, .red) } ?? "ok",
                ])
            }
        }
        if !common.json && !table.rows.isEmpty { table.lines.forEach(Console.out) }
        return problems
    }
}
