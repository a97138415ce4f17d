import ArgumentParser
import Glibc
import Spool
import SpoolFormat

/// `spool audit`: proves that every append an `enqueue --journal` run saw acknowledged is in
/// the log, with the bytes it had. Read-only: it takes no lock and writes nothing.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check that every acknowledged task in a journal is in the queue, byte for byte.",
        discussion: """
            Examples:
              spool enqueue --queue q --count 100000 --batch 10 --journal acked.txt   # killed at any moment
              spool audit --queue q --journal acked.txt

            Exit code 1 when any acknowledged task is missing or differs.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Queue name.")
    var queue = "default"

    @Option(help: "Journal written by `spool enqueue --journal`.")
    var journal: String

    @Option(name: .customLong("payload-size"), help: "Bytes per generated task, as given to enqueue.")
    var payloadSize = 128

    /// Read-only and lock-free, like `tail`: it reads the queue's log from the first journaled
    /// offset and creates or changes nothing under the root.
    func run() async throws {
        let entries = try JournalReader.read(path: journal)
        try QueueName.validate(queue)
        let directory = RootLayout(root: common.resolvedDir).queueDirectory(queue)
        guard PosixFileSystem().fileType(directory) == .directory else {
            throw SpoolError(.notFound, "no queue named \(queue)", path: directory, hint: "check --dir and --queue")
        }
        let expected = entries.sorted { $0.offset < $1.offset }
        let follower = try LogFollower(directory: directory, from: expected.first?.offset ?? 0)
        var checked = 0
        var problems: [String] = []
        var records: [Record] = []
        var at = 0
        for entry in expected {
            for j in 0..<entry.count {
                let offset = entry.offset + Int64(j)
                // Advance through the log to `offset` (bounded by the log's records).
                while true {
                    if at == records.count {
                        records = try follower.poll()
                        at = 0
                    }
                    if at == records.count || records[at].offset >= offset { break }
                    at += 1
                }
                guard at < records.count, records[at].offset == offset else {
                    problems.append("offset \(offset): missing (acknowledged in journal line \(entry.line))")
                    continue
                }
                if !entry.matches(records[at].value ?? [], index: j, payloadSize: payloadSize) {
                    problems.append(
                        "offset \(offset): payload differs from the acknowledged one (journal line \(entry.line))")
                }
                checked += 1
            }
        }
        let next = try LogFollower(directory: directory, lastRecords: 0).nextOffset
        if common.json {
            var line = JSONLine()
            line.add("queue", queue)
            line.add("journal_lines", entries.count)
            line.add("acknowledged", entries.reduce(0) { $0 + $1.count })
            line.add("present", checked - problems.filter { $0.contains("differs") }.count)
            line.add("problems", problems.count)
            line.add("next_offset", next)
            line.add("ok", problems.isEmpty)
            Console.out(line.text)
        } else {
            for problem in problems.prefix(50) { Console.out("  " + problem) }
            if problems.count > 50 { Console.out("  … and \(problems.count - 50) more") }
            let total = entries.reduce(0) { $0 + $1.count }
            Console.out(
                "audited \(Human.count(total)) acknowledged tasks from \(Human.count(entries.count)) appends in \(queue): "
                    + (problems.isEmpty ? "all present and intact" : "\(problems.count) problems")
                    + " (log ends at offset \(next))")
        }
        if !problems.isEmpty { throw ProblemsFound(summary: "\(problems.count) acknowledged tasks missing or changed") }
    }
}

/// Parses journal lines "<first offset> <count> <first id>".
enum JournalReader {
    struct Entry {
        var offset: Int64
        var count: Int
        var firstID: UInt64
        var line: Int
        /// CRC-32C of the one payload of a line written for a given payload (argument or stdin);
        /// nil for generated payloads, which audit makes again from their ids.
        var crc: UInt32? = nil

        /// Whether `value`, the task at `offset + index`, is the one acknowledged.
        func matches(_ value: [UInt8], index: Int, payloadSize: Int) -> Bool {
            if let crc { return CRC32C.checksum(value) == crc }
            return value == Payload.make(id: firstID + UInt64(index), size: payloadSize)
        }
    }

    static func read(path: String) throws -> [Entry] {
        guard let file = fopen(path, "r") else {
            throw SpoolError(
                .notFound, "cannot open the journal", path: path,
                hint: "pass the file given to `spool enqueue --journal`")
        }
        defer { fclose(file) }
        var entries: [Entry] = []
        var number = 0
        while let line = readLine(from: file) {
            number += 1
            let fields = line.split(separator: " ")
            let crc = fields.count == 4 ? UInt32(fields[3]) : nil
            guard fields.count == 3 || (fields.count == 4 && crc != nil && fields[1] == "1"),
                let offset = Int64(fields[0]), let count = Int(fields[1]), let id = UInt64(fields[2]),
                offset >= 0, count > 0, count <= 1_000_000
            else {
                throw SpoolError(
                    .invalidArgument,
                    "journal line \(number) is not \"<offset> <count> <first id>\" or \"<offset> 1 <id> <crc32c>\": \(line)",
                    path: path)
            }
            entries.append(Entry(offset: offset, count: count, firstID: id, line: number, crc: crc))
        }
        return entries
    }

    private static func readLine(from file: UnsafeMutablePointer<FILE>) -> String? {
        var bytes: [UInt8] = []
        while true {
            let c = getc(file)
            if c == EOF { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if c == 10 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(UInt8(c))
            if bytes.count > 4096 { return String(decoding: bytes, as: UTF8.self) }
        }
    }
}
