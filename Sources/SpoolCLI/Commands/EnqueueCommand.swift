import ArgumentParser
import Glibc
import Spool
import SpoolFormat

/// `spool enqueue`: pushes tasks from arguments, standard input lines, or a generator.
struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Append tasks to a queue durably.",
        discussion: """
            Examples:
              spool enqueue --queue emails '{"to":"a@example.com"}' '{"to":"b@example.com"}'
              printf 'one\\ntwo\\n' | spool enqueue --queue jobs --stdin
              spool enqueue --queue bench --count 100000 --payload-size 128 --batch 100 --journal acked.txt
              spool enqueue --queue logs --compression zstd:6 --stdin < events.jsonl

            With --journal FILE, every acknowledged append adds a line "<first offset> <count> <first id>"
            to FILE after its durability holds (for payloads given as arguments or on stdin, a line
            "<offset> 1 <id> <crc32c>" per task); `spool audit --journal FILE` later checks them all.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Queue name.")
    var queue = "default"

    @Argument(help: "Payloads, one task each.")
    var payloads: [String] = []

    @Flag(
        help:
            "Read one task per line from standard input: the bytes as given (any encoding, '\\r' kept), split on '\\n' only."
    )
    var stdin = false

    // Unconditional, so that "--count -1" reaches validate() rather than reading as a flag.
    @Option(
        parsing: .unconditional, help: "Generate this many tasks (WORKLOAD.md payloads) instead of taking payloads.")
    var count: Int?

    @Option(name: .customLong("payload-size"), help: "Bytes per generated task.")
    var payloadSize = 128

    @Option(help: "Tasks per append (one batch, one durable commit).")
    var batch = 1

    @Option(help: "Concurrent producers for generated tasks.")
    var producers = 1

    @Option(help: "always | interval:MS | never")
    var durability: Durability = .always

    @Option(help: "Append a line per acknowledged append to this file.")
    var journal: String?

    @Option(name: .customLong("segment-bytes"), help: "Segment size in bytes.")
    var segmentBytes: Int?

    @OptionGroup var compression: CompressionOptions

    /// `spool drill` gives each writer run its own ids, so a task no run enqueued stands out.
    @Option(name: .customLong("first-id"), help: .hidden)
    var firstID: UInt64 = 1

    func validate() throws {
        let sources = (payloads.isEmpty ? 0 : 1) + (stdin ? 1 : 0) + (count == nil ? 0 : 1)
        guard sources == 1 else {
            throw ValidationError("give payloads as arguments, or --stdin, or --count (exactly one)")
        }
        guard batch >= 1 && batch <= 100_000 else { throw ValidationError("--batch must be 1...100000") }
        guard producers >= 1 && producers <= 1024 else { throw ValidationError("--producers must be 1...1024") }
        guard payloadSize >= 2 && payloadSize <= 1 << 20 else {
            throw ValidationError("--payload-size must be 2...1048576")
        }
        if let count { guard count >= 0 else { throw ValidationError("--count must be 0 or more, not \(count)") } }
        guard firstID >= 1 && firstID <= UInt64(Int64.max) / 2 else {
            throw ValidationError("--first-id must be 1...2^62")
        }
    }

    func run() async throws {
        var options = SpoolOptions()
        options.durability = durability
        if let segmentBytes { options.segmentBytes = segmentBytes }
        compression.apply(to: &options)
        try DrillEnvironment.apply(to: &options)
        let root = try SpoolRoot.open(at: common.resolvedDir, options: options)
        defer { root.close() }
        let log = try root.queue(queue)
        let journalFile = try journal.map { try JournalWriter(path: $0) }
        let started = SystemClock().monotonicNanoseconds()
        let result: (first: Int64?, last: Int64?, count: Int)
        if let count {
            result = try await generate(count, into: log, journal: journalFile)
        } else {
            var values = payloads.map { Array($0.utf8) }
            if stdin { values += try StandardInput.lines() }
            result = try await append(values, into: log, journal: journalFile)
        }
        let secs = Double(SystemClock().monotonicNanoseconds() - started) / 1e9
        if common.json {
            var line = JSONLine()
            line.add("queue", queue)
            line.add("enqueued", result.count)
            line.add("first_offset", result.first)
            line.add("last_offset", result.last)
            line.add("secs", secs, decimals: 6)
            line.add("tps", secs > 0 ? Double(result.count) / secs : 0, decimals: 1)
            Console.out(line.text)
        } else {
            let range = result.first.map { "offsets \($0)–\(result.last!)" } ?? "nothing"
            Console.out(
                "enqueued \(Human.count(result.count)) tasks to \(queue): \(range) in \(Human.seconds(secs)) (durability \(durability))"
            )
        }
    }

    private func append(
        _ values: [[UInt8]], into log: QueueLog, journal: JournalWriter?
    ) async throws -> (Int64?, Int64?, Int) {
        var first: Int64? = nil
        var last: Int64? = nil
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + batch, values.count)]
            let now = SystemClock().wallMilliseconds()
            let offset = try await log.append(batch: chunk.map { RecordInput(value: $0, timestamp: now) })
            try journal?.record(offset: offset, payloads: Array(chunk), firstID: UInt64(index + 1))
            first = first ?? offset
            last = offset + Int64(chunk.count) - 1
            index += chunk.count
        }
        return (first, last, values.count)
    }

    /// Producers take turns over ids 1...count in batches; each acknowledged batch is journaled.
    private func generate(
        _ count: Int, into log: QueueLog, journal: JournalWriter?
    ) async throws -> (Int64?, Int64?, Int) {
        let size = payloadSize
        let batch = self.batch
        let producers = self.producers
        let idBase = firstID - 1
        let ranges = try await withThrowingTaskGroup(of: (Int64, Int64)?.self) { group in
            for p in 0..<producers {
                group.addTask {
                    var low: Int64 = .max
                    var high: Int64 = .min
                    var start = p * batch
                    while start < count {
                        let n = min(batch, count - start)
                        let now = SystemClock().wallMilliseconds()
                        let records = (0..<n).map {
                            RecordInput(
                                value: Payload.make(id: idBase + UInt64(start + $0 + 1), size: size), timestamp: now)
                        }
                        let offset = try await log.append(batch: records)
                        try journal?.record(offset: offset, count: n, firstID: idBase + UInt64(start + 1))
                        low = min(low, offset)
                        high = max(high, offset + Int64(n) - 1)
                        start += producers * batch
                    }
                    return low <= high ? (low, high) : nil
                }
            }
            var all: [(Int64, Int64)] = []
            for try await range in group { if let range { all.append(range) } }
            return all
        }
        return (ranges.map(\.0).min(), ranges.map(\.1).max(), count)
    }
}

/// Standard input as payloads: bytes, not text (no decoding, no U+FFFD, no '\r' dropped).
enum StandardInput {
    /// The most `enqueue --stdin` reads: it holds the input in memory.
    static let bytesMax = 1 << 30

    /// The lines of standard input, split on '\n' only; a last line without '\n' counts, an
    /// empty input gives none.
    /// - Throws: `.limitExceeded` past ``bytesMax``; `.io` when reading fails.
    static func lines(fd: Int32 = 0) throws -> [[UInt8]] {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        // Bounded by bytesMax.
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SpoolError(.io, "reading standard input failed", errno: errno) }
            if n == 0 { break }
            all += chunk[0..<n]
            if all.count > bytesMax {
                throw SpoolError(
                    .limitExceeded, "standard input is over \(bytesMax) bytes",
                    hint: "split the input and run enqueue once per part")
            }
        }
        var lines = all.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if all.last == UInt8(ascii: "\n") || all.isEmpty { lines.removeLast() }
        return lines
    }
}

/// Appends journal lines with write(2) (no buffering), so a line exists exactly when its
/// append was acknowledged, even if the process is killed right after. Thread-safe: one
/// write(2) per line on an O_APPEND descriptor.
final class JournalWriter: Sendable {
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { throw SpoolError(.io, "cannot open the journal", path: path, errno: errno) }
    }

    deinit { close(fd) }

    func record(offset: Int64, count: Int, firstID: UInt64) throws {
        try append("\(offset) \(count) \(firstID)\n")
    }

    /// Lines "<offset> 1 <id> <crc>" (CRC-32C in decimal) for payloads given as arguments or on stdin, one per task:
    /// `spool audit` cannot regenerate them, so it checks each stored value's CRC-32C.
    func record(offset: Int64, payloads: [[UInt8]], firstID: UInt64) throws {
        for (i, payload) in payloads.enumerated() {
            try append("\(offset + Int64(i)) 1 \(firstID + UInt64(i)) \(CRC32C.checksum(payload))\n")
        }
    }

    /// A line "<first offset> <count>" (acknowledged ranges of `spool consume --journal`).
    func record(offset: Int64, count: Int) throws {
        try append("\(offset) \(count)\n")
    }

    private func append(_ text: String) throws {
        let line = Array(text.utf8)
        let n = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n != line.count { throw SpoolError(.io, "journal write failed", errno: errno) }
    }
}
