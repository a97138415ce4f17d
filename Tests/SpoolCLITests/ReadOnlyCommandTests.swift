import Foundation
import Glibc
import Spool
import Testing

/// Issue 13 item 8: the read commands (`dlq list`, `stats`, `dump`, `verify`, `tail`) never
/// create or change a file under the root, run as the real `spool` binary.
@Suite("read commands write nothing")
struct ReadOnlyCommandTests {
    /// Every file and directory under `root`: relative path -> "type size mtime(ns)".
    static func snapshot(_ root: String) -> [String: String] {
        var result: [String: String] = [:]
        var stack = [""]
        var visited = 0
        while let relative = stack.popLast(), visited < 10_000 {
            visited += 1
            let path = relative.isEmpty ? root : root + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            result[relative.isEmpty ? "." : relative] = "\(type == S_IFDIR ? "dir" : "file") \(info.st_size) \(mtime)"
            if type == S_IFDIR {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                    stack.append(relative.isEmpty ? name : relative + "/" + name)
                }
            }
        }
        return result
    }

    /// Runs `arguments` and expects the tree under `root` to be exactly as before.
    static func expectUnchanged(_ root: String, _ arguments: [String], expectedStatus: Int32 = 0) async throws {
        let before = snapshot(root)
        // Let a write within the same clock tick still show in the mtimes.
        usleep(20_000)
        let r = try await SpoolProcess.run(arguments)
        #expect(r.status == expectedStatus, "spool \(arguments.joined(separator: " ")): \(r.stderr)")
        let after = snapshot(root)
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        #expect(changed.isEmpty, "spool \(arguments.joined(separator: " ")) changed \(changed.map { "\($0): \(before[$0] ?? "absent") -> \(after[$0] ?? "absent")" })")
    }

    static let commands: [[String]] = [
        ["dlq", "list", "--queue", "q"],
        ["dlq", "list", "--queue", "q", "--json"],
        ["stats"],
        ["stats", "--queue", "q"],
        ["verify"],
        ["tail", "--queue", "q"],
    ]

    @Test("dlq list, stats, dump, verify, tail and audit leave a root without dead letters exactly as it was")
    func readCommandsLeaveRootWithoutDeadLettersUnchanged() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let journal = dir.path + "/acked.txt"
        var r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--journal", journal, "a", "b", "c"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await SpoolProcess.run(["consume", "--dir", root, "--queue", "q", "--group", "g", "--max", "2", "--ack"])
        #expect(r.status == 0, "\(r.stderr)")
        for command in Self.commands {
            try await Self.expectUnchanged(root, command + ["--dir", root])
        }
        try await Self.expectUnchanged(root, ["dump", root + "/queues/q"])
        try await Self.expectUnchanged(root, ["dump", root])
        try await Self.expectUnchanged(root, ["audit", "--dir", root, "--queue", "q", "--journal", journal])
        #expect(!FileManager.default.fileExists(atPath: root + "/queues/q.dlq"))
    }

    @Test("dlq list, stats, dump, verify and tail leave a root with dead letters and a replay group exactly as it was")
    func readCommandsLeaveRootWithDeadLettersUnchanged() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        do {
            let spool = try SpoolRoot.open(at: root)
            defer { spool.close() }
            try await spool.queue("q").append(Array("poison".utf8))
            try await spool.queue("q").append(Array("poison 2".utf8))
            var options = GroupOptions()
            options.retry.maxAttempts = 1
            let group = try spool.group("g", on: "q", options: options)
            try await group.nack(try await group.claim(max: 1).tasks[0], reason: "bad")
            #expect(try await spool.replayDeadLetters(of: "q") == 1)
            try await group.nack(try await group.claim(max: 1).tasks[0], reason: "bad again")
        }
        for command in Self.commands {
            try await Self.expectUnchanged(root, command + ["--dir", root])
        }
        try await Self.expectUnchanged(root, ["dump", root])
        let r = try await SpoolProcess.run(["dlq", "list", "--dir", root, "--queue", "q"])
        #expect(r.stdout.contains("2 dead letter(s) in q.dlq"), "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").filter { $0.contains("(replayed)") }.count == 1, "\(r.stdout)")
    }

    @Test("dlq list, dlq replay and compact --queue on a queue that does not exist fail and create nothing")
    func commandsOnMissingQueueCreateNothing() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "a"])
        #expect(r.status == 0, "\(r.stderr)")
        for command in [["dlq", "list"], ["dlq", "replay"], ["compact"]] {
            let before = Set(Self.snapshot(root).keys)
            let r = try await SpoolProcess.run(command + ["--dir", root, "--queue", "nosuch"])
            #expect(r.status != 0, "spool \(command) --queue nosuch succeeded")
            #expect(r.stderr.contains("no queue named nosuch"), "\(r.stderr)")
            #expect(Set(Self.snapshot(root).keys) == before, "spool \(command) created \(Set(Self.snapshot(root).keys).subtracting(before).sorted())")
        }
    }
}
