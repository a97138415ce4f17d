import Foundation
import Spool
import Testing

@Suite("consumer SIGKILL drill")
struct ConsumeKillTests {
    @Test("a consumer killed by SIGKILL mid-drain never gets an acknowledged task again and loses none")
    func killedConsumerKeepsAcks() async throws {
        let dir = ScratchDirectory()
        let total = 20_000
        var r = try await SpoolProcess.run(["enqueue", "--dir", dir.path, "--queue", "q", "--count", "\(total)", "--batch", "100"])
        try #require(r.status == 0, "\(r.stderr)")
        let journal = dir.path + "/acked.txt"
        // Three consumers in turn, each killed at a different moment while it claims and acks:
        // once it has journaled 1, 4 or 2 more acks (a moment set by events, not by a clock, so
        // a slow machine moves it but cannot skip it).
        for more in [1, 4, 2] {
            try await Self.killAfterJournalGrows(by: more, journal: journal,
                                                 arguments: ["consume", "--dir", dir.path, "--queue", "q", "--group", "g", "--max", "20",
                                                             "--ack", "--until-empty", "--journal", journal])
        }
        var acked = Set<Int64>()
        for line in try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ").compactMap { Int64($0) }
            try #require(fields.count == 2)
            for offset in fields[0]..<(fields[0] + fields[1]) { acked.insert(offset) }
        }
        #expect(!acked.isEmpty, "the consumers acked nothing before they were killed")
        #expect(acked.count < total, "the drain finished before any kill: raise --count")

        // A fresh consumer: every task not acknowledged comes back, none that was.
        let root = try SpoolRoot.open(at: dir.path)
        let group = try root.group("g", on: "q")
        var delivered = Set<Int64>()
        while true {
            let batch = try await group.claim(max: 1000)
            if batch.isEmpty { break }
            for task in batch.tasks { delivered.insert(task.offset) }
            try await group.ack(batch)
        }
        let redelivered = delivered.intersection(acked)
        #expect(redelivered.isEmpty, "\(redelivered.count) acknowledged tasks were delivered again, first \(redelivered.min() ?? -1)")
        // A kill between an ack's sync and its journal line leaves at most one claim (20 tasks)
        // per kill acked but unjournaled; those are acked, so they are rightly not delivered.
        let unaccounted = Set(0..<Int64(total)).subtracting(delivered).subtracting(acked)
        #expect(unaccounted.count <= 3 * 20, "\(unaccounted.count) tasks were neither acknowledged nor delivered again")
        #expect(group.progress.watermark == Int64(total))
        root.close()
        r = try await SpoolProcess.run(["consume", "--dir", dir.path, "--queue", "q", "--group", "g", "--json"])
        #expect(r.stdout.contains(#""claimed":0"#), "\(r.stderr)")
    }

    /// Whole lines in the journal so far (0 before it exists).
    /// Starts `spool arguments…` and SIGKILLs it once `journal` has `more` lines more than at
    /// the start. The watching runs on a thread of its own, never on Swift's cooperative pool:
    /// with the pool busy with other tests, a sleeping task could wake only after the consumer
    /// had drained the whole queue, and the kill would come too late.
    static func killAfterJournalGrows(by more: Int, journal: String, arguments: [String]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            Thread {
                continuation.resume(with: Result {
                    let before = lines(journal)
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: SpoolProcess.binary)
                    process.arguments = arguments
                    // A /dev/null of its own: the shared FileHandle.nullDevice is not safe to hand to
                    // processes started from several threads at once (a crash seen in Process.run).
                    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                    process.standardError = FileHandle(forWritingAtPath: "/dev/null")
                    try process.run()
                    let deadline = Date().addingTimeInterval(60)
                    // Bounded by the deadline and by the process's own end.
                    while lines(journal) < before + more && process.isRunning && Date() < deadline {
                        usleep(200)
                    }
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                })
            }.start()
        }
    }

    static func lines(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        return data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }
}
