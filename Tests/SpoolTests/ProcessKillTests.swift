import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Real processes, really killed: `spool enqueue --journal` records every acknowledged append,
/// is killed with SIGKILL mid-stream, and `spool audit` (a separate process that rebuilds the
/// WORKLOAD.md payloads) proves every journaled task is in the log, byte for byte.
@Suite("SIGKILL drills", .serialized)
struct ProcessKillTests {
    struct JournalEntry { var offset: Int64; var count: Int64 }

    static func readJournal(_ path: String) throws -> [JournalEntry] {
        try String(decoding: Files.read(path), as: UTF8.self).split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, let offset = Int64(fields[0]), let count = Int64(fields[1]) else {
                throw SpoolError(.invalidArgument, "bad journal line: \(line)", path: path)
            }
            return JournalEntry(offset: offset, count: count)
        }
    }

    /// Starts `spool enqueue --journal` and returns once it has journaled its first
    /// acknowledged append; nil (with an issue recorded) if it ended before that.
    static func startEnqueue(_ arguments: [String], journal: String, scratch: String) async throws -> ChildProcess? {
        for attempt in 0..<5 {
            unlink(journal)
            let child = try SpoolBinary.spawn(["enqueue"] + arguments + ["--journal", journal],
                                              stdout: scratch + "/enqueue-\(attempt).out", stderr: scratch + "/enqueue-\(attempt).err")
            var ended: (Int32?, Int32?)? = nil
            try await waitFor("the writer's first acknowledged append", seconds: 60) {
                if let e = child.poll() { ended = e; return true }
                return Files.size(journal) > 0
            }
            guard let ended else { return child }
            let (out, err) = child.output()
            // Refused because another test's child briefly shared this process's lock file
            // description (see SpoolBinary.run): start it again.
            if ended.0 == 2 && err.contains("locked by process \(getpid()),") {
                await pause(milliseconds: 10)
                continue
            }
            Issue.record("spool enqueue ended before it was killed: \(ended) \(out) \(err)")
            return nil
        }
        Issue.record("spool enqueue kept finding the root locked")
        return nil
    }

    @Test("SIGKILL during enqueue loses no acknowledged task, and appends continue at the next offset")
    func sigkillDuringEnqueue() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            var journals: [String] = []
            var killedWhileWriting = 0
            for (i, delay) in [150, 250, 400].enumerated() {
                let journal = dir + "/journal-\(i).txt"
                journals.append(journal)
                // Start the clock once the writer has acknowledged something, then kill it.
                guard let child = try await Self.startEnqueue(["--dir", root, "--queue", "q", "--count", "200000", "--batch", "7"],
                                                              journal: journal, scratch: dir) else { return }
                await pause(milliseconds: delay)
                child.kill(SIGKILL)
                let killed = try await child.wait(timeoutSeconds: 30)
                if killed.signal == SIGKILL { killedWhileWriting += 1 } else { #expect(killed.status == 0, "\(killed)") }

                if i == 0 {
                    // The operator's view of the same recovery.
                    let recover = try await SpoolBinary.run(["recover", "--dir", root, "--json"], in: dir)
                    #expect(recover.status == 0, "\(recover)")
                    #expect(recover.stdout.contains("\"bytes_scanned\""), "\(recover)")
                }

                let audit = try await SpoolBinary.run(["audit", "--dir", root, "--queue", "q", "--journal", journal], in: dir)
                #expect(audit.status == 0, "kill \(i) after \(delay) ms: \(audit)")
                #expect(audit.stdout.contains("all present"), "\(audit)")

                let entries = try Self.readJournal(journal)
                #expect(!entries.isEmpty)
                let acknowledgedEnd = entries.map { $0.offset + $0.count }.max() ?? 0
                let spool = try openRoot(at: root, options: testOptions())
                let log = try spool.queue("q")
                let next = log.committed.nextOffset
                #expect(next >= acknowledgedEnd, "the log ends at \(next), before the acknowledged end \(acknowledgedEnd)")
                let records = try readAll(log)
                #expect(records.count == Int(next))
                #expect(records.last?.offset == next - 1)
                #expect(try await log.append(Array("after kill \(i)".utf8)) == next)
                spool.close()
            }
            #expect(killedWhileWriting > 0)
            // Every journal is still fully present after the later crashes and recoveries.
            for journal in journals {
                let audit = try await SpoolBinary.run(["audit", "--dir", root, "--queue", "q", "--journal", journal], in: dir)
                #expect(audit.status == 0 && audit.stdout.contains("all present"), "\(journal): \(audit)")
            }
        }
    }

    @Test("SIGKILL under durability .never loses no acknowledged task either (the page cache survives)")
    func sigkillUnderNeverDurability() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root", journal = dir + "/journal.txt"
            guard let child = try await Self.startEnqueue(
                ["--dir", root, "--queue", "q", "--count", "1000000", "--batch", "7", "--durability", "never"],
                journal: journal, scratch: dir) else { return }
            await pause(milliseconds: 200)
            child.kill(SIGKILL)
            let killed = try await child.wait(timeoutSeconds: 30)
            #expect(killed.signal == SIGKILL, "\(killed)")
            let audit = try await SpoolBinary.run(["audit", "--dir", root, "--queue", "q", "--journal", journal], in: dir)
            #expect(audit.status == 0 && audit.stdout.contains("all present"), "\(audit)")
            let acknowledgedEnd = try Self.readJournal(journal).map { $0.offset + $0.count }.max() ?? 0
            let spool = try openRoot(at: root, options: testOptions())
            defer { spool.close() }
            let log = try spool.queue("q")
            let next = log.committed.nextOffset
            #expect(next >= acknowledgedEnd)
            #expect(try readAll(log).count == Int(next))
            #expect(try await log.append([1]) == next)
        }
    }
}
