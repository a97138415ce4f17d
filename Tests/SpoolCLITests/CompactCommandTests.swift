import Foundation
import Spool
import SpoolFormat
import Testing

@Suite("spool compact and recover")
struct CompactCommandTests {
    /// 3000 tasks in 64 KiB segments; group "workers" acked the first 2000.
    static func makeRoot(_ path: String) async throws {
        var options = SpoolOptions()
        options.segmentBytes = 64 << 10
        options.compactionIntervalMilliseconds = nil
        let root = try SpoolRoot.open(at: path, options: options)
        defer { root.close() }
        let log = try root.queue("jobs")
        for start in stride(from: 0, to: 3000, by: 100) {
            try await log.append(batch: (start..<(start + 100)).map { RecordInput(value: Array(String(repeating: "t\($0)", count: 20).utf8), timestamp: 1_700_000_000_000) })
        }
        try await root.group("workers", on: "jobs").acknowledge(offsets: Array(0..<2000))
    }

    @Test("compact deletes the acked segments, prints a table and JSON, and recover then shows the group's pending tasks")
    func compactThenRecover() async throws {
        let dir = ScratchDirectory()
        try await Self.makeRoot(dir.path)
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/queues/jobs").filter { $0.hasSuffix(".log") }.count
        var r = try await SpoolProcess.run(["compact", "--dir", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("compacted \(dir.path) in"))
        #expect(r.stdout.contains("queue") && r.stdout.contains("deleted") && r.stdout.contains("log start"))
        let after = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/queues/jobs").filter { $0.hasSuffix(".log") }.count
        #expect(after < before)
        // A second run has nothing left to delete.
        r = try await SpoolProcess.run(["compact", "--dir", dir.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""segments_deleted":0"#) && r.stdout.contains(#""queue":"jobs""#))
        r = try await SpoolProcess.run(["recover", "--dir", dir.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""group":"workers","pending":1000,"watermark":2000"#), "\(r.stdout)")
        #expect(r.stdout.contains(#""records_replayed":0"#))
        r = try await SpoolProcess.run(["recover", "--dir", dir.path])
        #expect(r.stdout.contains("group workers: 1,000 pending"), "\(r.stdout)")
    }

    @Test("compact with retention 0 keeps only the active segment and exits 0; bad flags exit 2")
    func retentionAndUsage() async throws {
        let dir = ScratchDirectory()
        try await Self.makeRoot(dir.path)
        var r = try await SpoolProcess.run(["compact", "--dir", dir.path, "--retention-bytes", "0", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let logs = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/queues/jobs").filter { $0.hasSuffix(".log") }
        #expect(logs.count == 1)
        r = try await SpoolProcess.run(["compact", "--dir", dir.path, "--sparse-ratio", "7"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("compactionSparseRatio"))
        r = try await SpoolProcess.run(["compact", "--dir", dir.path + "/missing"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("does not exist"))
    }
}
