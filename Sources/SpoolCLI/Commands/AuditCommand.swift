import ArgumentParser
import Glibc
import Spool
import SpoolFormat

/// `spool audit`: proves that every append an `enqueue --journal` run saw acknowledged is in
/// the log, with the bytes it had.
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

    func run() async throws {
        let entries = try JournalReader.read(path: journal)
        let root = try SpoolRoot.open(at: common.resolvedDir)
        defer { root.close() }
        let log = try root.queue(queue)
        var reader = log.reader(from: 0)
        var checked = 0
        var problems: [String] = []
        for entry in entries.sorted(by: { $0.offset < $1.offset }) {
            reader.seek(to: entry.offset)
            let records = try reader.read(max: entry.count)
            for j in 0..<entry.count {
                let offset = entry.offset + Int64(j)
                let expected = Payload.make(id: entry.firstID + UInt64(j), size: payloadSize)
                guard j < records.count, records[j].offset == offset else {
                    problems.append("offset \(offset): missing (acknowledged in journal line \(entry.line))")
                    continue
                }
                if records[j].value != expected {
                    problems.append("offset \(offset): payload differs from the acknowledged one (journal line \(entry.line))")
                }
                checked += 1
            }
        }
        let next = log.committed.nextOffset
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
            Console.out("audited \(Human.count(total)) acknowledged tasks from \(Human.count(entries.count)) appends in \(queue): "
                        + (problems.isEmpty ? "all present and intact" : "\(problems.count) problems") + " (log ends at offset \(next))")
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
    }

    static func read(path: String) throws -> [Entry] {
        guard let file = fopen(path, "r") else {
            throw SpoolError(.notFound, "cannot open the journal", path: path, hint: "pass the file given to `spool enqueue --journal`")
        }
        defer { fclose(file) }
        var entries: [Entry] = []
        var number = 0
        while let line = readLine(from: file) {
            number += 1
            let fields = line.split(separator: " ")
            guard fields.count == 3, let offset = Int64(fields[0]), let count = Int(fields[1]), let id = UInt64(fields[2]),
                  offset >= 0, count > 0, count <= 1_000_000
            else {
                throw SpoolError(.invalidArgument, "journal line \(number) is not \"<offset> <count> <first id>\": \(line)", path: path)
            }
            entries.append(Entry(offset: offset, count: count, firstID: id, line: number))
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
