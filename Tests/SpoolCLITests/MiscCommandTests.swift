import Foundation
import Spool
import SpoolFormat
import Testing

/// Issue 14 "Misc" and "Unclear errors" items of the `spool` command, run as the real binary.
@Suite("command edge cases")
struct MiscCommandTests {
    /// Every record of queue `queue` under `root`, read without a lock.
    static func values(_ root: String, _ queue: String) throws -> [[UInt8]] {
        let follower = try LogFollower(directory: root + "/queues/" + queue, from: 0)
        var out: [[UInt8]] = []
        for _ in 0..<100 {
            let records = try follower.poll()
            if records.isEmpty { break }
            out += records.map { $0.value ?? [] }
        }
        return out
    }

    @Test("enqueue --stdin stores each line's bytes as given: invalid UTF-8 kept, \\r kept, split on \\n only")
    func enqueueStdinStoresBytesAsGiven() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let input: [UInt8] = [0xFF, 0xFE, 0x61, 0x0D, 0x0A, 0x62, 0x0D, 0x0D, 0x0A, 0x0A, 0x63]
        let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--stdin"], inputBytes: input)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.values(root, "q") == [[0xFF, 0xFE, 0x61, 0x0D], [0x62, 0x0D, 0x0D], [], [0x63]])
    }

    @Test("audit accepts a journal of argument payloads, and runs without the writer lock while another process holds it")
    func auditOfArgumentPayloadJournalIsReadOnly() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root", journal = dir.path + "/acked.txt"
        var r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--journal", journal, "alpha", "beta", "gamma"])
        #expect(r.status == 0, "\(r.stderr)")
        let spool = try SpoolRoot.open(at: root)  // holds spool.lock while audit runs
        defer { spool.close() }
        try await spool.queue("q").append(Array("not journaled".utf8))
        r = try await SpoolProcess.run(["audit", "--dir", root, "--queue", "q", "--journal", journal])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("audited 3 acknowledged tasks from 3 appends in q: all present and intact"), "\(r.stdout)")
        // A changed payload is still caught: a journal line whose CRC is not the stored value's.
        try Data("0 1 1 12345\n".utf8).write(to: URL(fileURLWithPath: journal))
        r = try await SpoolProcess.run(["audit", "--dir", root, "--queue", "q", "--journal", journal])
        #expect(r.status == 1)
        #expect(r.stdout.contains("offset 0: payload differs"), "\(r.stdout)")
    }

    @Test("enqueue --dir naming a queue directory inside a root refuses to create a nested root")
    func enqueueIntoQueueDirectoryRefusesNestedRoot() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        var r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "a"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await SpoolProcess.run(["enqueue", "--dir", root + "/queues/q", "--queue", "q", "b"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("inside the Spool root \(root)"), "\(r.stderr)")
        #expect(r.stderr.contains("--dir \(root)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/queues/q/queues"))
        #expect(!FileManager.default.fileExists(atPath: root + "/queues/q/spool.lock"))
    }

    @Test("--from-time with month 13, day 45 and hour 99 is refused, not carried over into a later date")
    func fromTimeOutOfRangeIsRefused() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        _ = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "a"])
        for bad in ["2026-13-45T99:99:99Z", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z"] {
            let r = try await SpoolProcess.run(["dump", root, "--from-time", bad])
            #expect(r.status == 2, "\(bad)")
            #expect(r.stderr.contains("not milliseconds or an ISO 8601 UTC time"), "\(bad): \(r.stderr)")
        }
        let r = try await SpoolProcess.run(["dump", root, "--from-time", "2024-02-29T23:59:59Z"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("verify reports a garbage recovery point and a missing one, and repair writes it anew")
    func verifyReportsGarbageAndMissingRecoveryPoint() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        _ = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "a", "b"])
        let point = root + "/queues/q/recovery-point"
        try Data(repeating: 0x41, count: 36).write(to: URL(fileURLWithPath: point))
        var r = try await SpoolProcess.run(["verify", "--dir", root])
        #expect(r.status == 1)
        #expect(r.stdout.contains("the recovery point is unreadable"), "\(r.stdout)")
        try FileManager.default.removeItem(atPath: point)
        r = try await SpoolProcess.run(["verify", "--dir", root])
        #expect(r.status == 1)
        #expect(r.stdout.contains("the recovery point is missing"), "\(r.stdout)")
        r = try await SpoolProcess.run(["repair", "--dir", root])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        r = try await SpoolProcess.run(["verify", "--dir", root])
        #expect(r.status == 0, "\(r.stdout)")
    }

    @Test("--count -1 says --count must be 0 or more, not that a value is missing")
    func negativeCountHasClearMessage() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["enqueue", "--dir", dir.path + "/root", "--count", "-1"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--count must be 0 or more, not -1"), "\(r.stderr)")
        #expect(!r.stderr.contains("Missing value"))
    }
}

extension MiscCommandTests {
    @Test("--payload-size 1048576, the top of the range enqueue states, is accepted and stored")
    func largestPayloadSizeInRangeWorks() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--count", "2", "--payload-size", "1048576"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.values(root, "q").map(\.count) == [1_048_576, 1_048_576])
    }
}
