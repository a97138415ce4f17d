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
              spool dump                                   # the root in --dir
              spool dump spool-data/queues/emails          # one queue
              spool dump 00000000000000000000.log --payloads
              spool dump ../shared/interop/00000000000000001000.log --json

            Read-only and lock-free: safe while a writer runs. Exit code 1 when a batch is damaged.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Segment files, queue directories or roots (default: --dir).")
    var paths: [String] = []

    @Flag(help: "Print each record's key, headers and value.")
    var payloads = false

    @Flag(help: "With --payloads, print values whole instead of cutting them at 64 bytes.")
    var full = false

    func run() async throws {
        let targets = paths.isEmpty ? [common.resolvedDir] : paths
        var damaged = 0
        for target in targets {
            for segment in try SpoolLayout.segments(at: target) {
                damaged += try dump(segment)
            }
        }
        if damaged > 0 { throw ProblemsFound(summary: "\(damaged) damaged batch(es) or tail(s) found") }
    }

    /// Dumps one file; returns the number of problems seen.
    private func dump(_ segment: SpoolLayout.SegmentPath) throws -> Int {
        let file = try SegmentFile(path: segment.path)
        var problems = 0
        if !common.json {
            let queue = segment.queue.map { "queue \($0), " } ?? ""
            Console.out("== \(segment.path) (\(queue)\(Human.bytes(file.size)))")
        }
        let end = try file.forEachBatch { entry in
            let header = entry.header
            var errors: [String] = []
            if entry.computedCRC != header.crc { errors.append("CRC mismatch") }
            if let expected = entry.expectedOffset, expected != header.baseOffset {
                errors.append("starts at offset \(header.baseOffset), expected \(expected)")
            }
            if case .failure(let error) = entry.batch, entry.computedCRC == header.crc { errors.append(error.message) }
            if !errors.isEmpty { problems += 1 }
            printBatch(entry, file: segment.path, queue: segment.queue, errors: errors)
            if payloads, case .success(let batch) = entry.batch {
                for record in batch.records { printRecord(record, file: segment.path) }
            }
            return true
        }
        if end.problem != nil { problems += 1 }
        printEnd(end, file: segment.path, size: file.size)
        return problems
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
            if case .success(let batch) = entry.batch {
                line.add("records_bytes_stored", batch.storedRecordsBytes)
                line.add("records_bytes", batch.recordsBytes)
            }
            line.add("crc", Human.crc(h.crc))
            line.add("crc_computed", Human.crc(entry.computedCRC))
            line.add("crc_ok", h.crc == entry.computedCRC)
            line.add("base_timestamp", h.baseTimestamp)
            line.add("max_timestamp", h.maxTimestamp)
            line.add("error", errors.isEmpty ? nil : errors.joined(separator: "; "))
            Console.out(line.text)
            return
        }
        let crc = h.crc == entry.computedCRC ? "\(Human.crc(h.crc)) ok" : "\(Human.crc(h.crc)) BAD (computed \(Human.crc(entry.computedCRC)))"
        var text = "batch offsets \(h.baseOffset)–\(h.lastOffset)  position \(entry.position)  \(Human.count(h.totalBytes)) B  "
            + "\(h.recordCount) records  codec \(codecName(h))\(compressionText(entry))  crc \(crc)  time \(Human.timestamp(h.baseTimestamp))"
        if !errors.isEmpty { text += "  ERROR: " + errors.joined(separator: "; ") }
        Console.out(text)
    }

    /// For a compressed batch: the records section's stored and plain sizes, and the ratio.
    private func compressionText(_ entry: SegmentFile.Entry) -> String {
        guard case .success(let batch) = entry.batch, entry.header.codecBits != 0, batch.storedRecordsBytes > 0 else { return "" }
        let ratio = Double(batch.recordsBytes) / Double(batch.storedRecordsBytes)
        return " \(Human.count(batch.storedRecordsBytes)) of \(Human.count(batch.recordsBytes)) B (\(JSONLine.fixed(ratio, decimals: 2))×)"
    }

    private func printRecord(_ record: Record, file: String) {
        let limit = full ? nil : 64
        if common.json {
            var line = JSONLine()
            line.add("type", "record")
            line.add("file", file)
            line.add("offset", record.offset)
            line.add("timestamp", record.timestamp)
            addBytes(&line, "key", record.key)
            addBytes(&line, "value", record.value)
            line.addRaw("headers", JSONLine.headers(record.headers))
            Console.out(line.text)
            return
        }
        let headers = record.headers.map { "\($0.name)=\(Human.payload($0.value, limit: 32))" }.joined(separator: " ")
        Console.out("  offset \(record.offset)  time \(Human.timestamp(record.timestamp))  key \(Human.payload(record.key, limit: 32))"
                    + (headers.isEmpty ? "" : "  headers \(headers)")
                    + "  value \(record.value.map { "\($0.count) B " } ?? "")\(Human.payload(record.value, limit: limit))")
    }

    /// JSON for bytes: the UTF-8 text when it is valid, else hex under "<key>_hex".
    private func addBytes(_ line: inout JSONLine, _ key: String, _ bytes: [UInt8]?) {
        guard let bytes else { line.add(key, nil as String?); return }
        if let text = String(validating: bytes, as: UTF8.self) {
            line.add(key, text)
        } else {
            line.add(key, nil as String?)
            line.add(key + "_hex", Human.hex(bytes))
        }
    }

    private func printEnd(_ end: SegmentFile.End, file: String, size: Int64) {
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
            Console.out("end at position \(end.position) (\(next)): DAMAGED: \(problem); \(Human.count(end.trailingBytes)) bytes follow")
        } else if end.trailingBytes > 0 {
            Console.out("end at position \(end.position) (\(next)); \(Human.count(end.trailingBytes)) preallocated zero bytes follow")
        } else {
            Console.out("end at position \(end.position) (\(next))")
        }
    }
}
