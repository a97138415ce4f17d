import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Issue 14, "Compaction and group state": a group's state after compaction is read the way
/// the engine reads it (checkpoint first), verified, and its loss is loud, never silent
/// redelivery of acked tasks.
@Suite("group state loss")
struct GroupStateLossTests {
    typealias F = CompactionFixture

    static func options() -> SpoolOptions { F.options { $0.durability = .never } }

    /// Queue q of 2400 tasks; group g acked 0..<2200 one record per offset, with a compaction
    /// after 1500 and one after 2200, so the group log lost its front segment(s) to the
    /// compactor and both checkpoints exist. Returns the group's directory.
    static func compactedRoot(_ path: String) async throws -> String {
        let root = try openRoot(at: path, options: options())
        defer { root.close() }
        let log = try root.queue("q")
        try await F.fill(log, count: 2400)
        let group = try root.group("g", on: "q")
        for o in Int64(0)..<1500 { try await group.acknowledge(offsets: [o]) }
        _ = try root.compact()
        for o in Int64(1500)..<2200 { try await group.acknowledge(offsets: [o]) }
        _ = try root.compact()
        let directory = log.directory + "/groups/g"
        #expect(Files.exists(directory + "/checkpoint") && Files.exists(directory + "/checkpoint.old"))
        #expect(try root.groupLog("g", on: "q").firstOffset > 0, "the compactor deleted no group-log segment")
        return directory
    }

    @Test("after compaction stats shows the group's watermark and lag as the engine has them, not gone back")
    func statsWatermarkDoesNotGoBackAfterCompaction() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.compactedRoot(dir + "/root")
            let stats = try StatsCollector().collect(path: dir + "/root")
            let g = try #require(stats.first?.groups.first)
            #expect(g.error == nil)
            #expect(g.watermark == 2200)
            #expect(g.lag == 200)
        }
    }

    @Test("verify checks a compacted root's checkpoint and checkpoint.old and finds it clean of group problems")
    func verifyRecognisesCheckpoints() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.compactedRoot(dir + "/root")
            let report = try Verifier().verify(path: dir + "/root")
            #expect(!report.notes.contains { $0.contains("checkpoint") }, "\(report.notes)")
            #expect(!report.problems.contains { $0.file.contains("/groups/") }, "\(report.problems)")
        }
    }

    @Test("a damaged checkpoint is a verify problem naming it, while the group still opens from checkpoint.old without redelivery")
    func damagedCheckpointIsReportedByVerify() async throws {
        try await withTemporaryDirectory { dir in
            let group = try await Self.compactedRoot(dir + "/root")
            try ByteMutator.flipBit(group + "/checkpoint", at: 12, bit: 3)
            let report = try Verifier().verify(path: dir + "/root")
            #expect(report.problems.contains { $0.message.contains("damaged checkpoint") && $0.message.contains(group + "/checkpoint") }, "\(report.problems)")
            let root = try openRoot(at: dir + "/root", options: Self.options())
            defer { root.close() }
            let g = try root.group("g", on: "q")
            #expect(g.progress.watermark == 2200)
        }
    }

    @Test("deleting both checkpoints of a compacted group makes open refuse, verify report the lost acks, and repair accept them only when run")
    func deletedCheckpointsRefuseOpenUntilRepairAccepts() async throws {
        try await withTemporaryDirectory { dir in
            let group = try await Self.compactedRoot(dir + "/root")
            #expect(unlink(group + "/checkpoint") == 0)
            #expect(unlink(group + "/checkpoint.old") == 0)
            do {
                let root = try openRoot(at: dir + "/root", options: Self.options())
                defer { root.close() }
                let error = #expect(throws: SpoolError.self) { try root.group("g", on: "q") }
                #expect(error?.code == .corruption)
                #expect(error?.message.contains("acks below its log offset") == true, "\(String(describing: error))")
                #expect(error?.hint?.contains("spool repair") == true)
            }
            let report = try Verifier().verify(path: dir + "/root")
            #expect(report.problems.contains { $0.message.contains("are lost") }, "\(report.problems)")
            let stats = try StatsCollector().collect(path: dir + "/root")
            #expect(stats.first?.groups.first?.error?.contains("are lost") == true, "\(stats)")
            let dry = try Repairer(options: Self.options()).repair(path: dir + "/root", dryRun: true)
            #expect(dry.actions.contains { $0.kind == .acceptGroupLoss && $0.detail.contains("delivered again") }, "\(dry.actions)")
            #expect(!Files.exists(group + "/checkpoint"))
            let done = try Repairer(options: Self.options()).repair(path: dir + "/root", dryRun: false)
            #expect(done.actions.contains { $0.kind == .acceptGroupLoss })
            #expect(try Verifier().verify(path: dir + "/root").problems.filter { $0.file.contains("/groups/") }.isEmpty)
            let root = try openRoot(at: dir + "/root", options: Self.options())
            defer { root.close() }
            let g = try root.group("g", on: "q")
            #expect(try g.progress.watermark == root.queue("q").firstOffset)
        }
    }

    @Test("deleting a group's front log segment (no checkpoint) makes open refuse and verify fail instead of redelivering acked tasks")
    func deletedGroupLogSegmentIsReported() async throws {
        try await withTemporaryDirectory { dir in
            let groupDirectory: String
            do {
                let root = try openRoot(at: dir + "/root", options: Self.options())
                defer { root.close() }
                try await F.fill(try root.queue("q"), count: 1500)
                let group = try root.group("g", on: "q")
                for o in Int64(0)..<1500 { try await group.acknowledge(offsets: [o]) }
                groupDirectory = try root.groupLog("g", on: "q").directory
            }
            let bases = QueueFiles.bases(groupDirectory)
            #expect(bases.count >= 2)
            #expect(unlink(QueueFiles.logPath(groupDirectory, 0)) == 0)
            let report = try Verifier().verify(path: dir + "/root")
            #expect(report.problems.contains { $0.message.contains("are lost") && $0.file == groupDirectory }, "\(report.problems)")
            let root = try openRoot(at: dir + "/root", options: Self.options())
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { try root.group("g", on: "q") }
            #expect(error?.code == .corruption)
        }
    }

    @Test("deleting a group's only log segment makes open refuse instead of starting an empty group log")
    func deletedOnlyGroupLogSegmentRefusesOpen() async throws {
        try await withTemporaryDirectory { dir in
            let groupDirectory: String
            do {
                let root = try openRoot(at: dir + "/root", options: Self.options())
                defer { root.close() }
                try await F.fill(try root.queue("q"), count: 20)
                let group = try root.group("g", on: "q")
                try await group.acknowledge(offsets: Array(0..<10))
                groupDirectory = try root.groupLog("g", on: "q").directory
            }
            #expect(QueueFiles.bases(groupDirectory) == [0])
            #expect(unlink(QueueFiles.logPath(groupDirectory, 0)) == 0)
            #expect(try Verifier().verify(path: dir + "/root").isClean == false)
            let root = try openRoot(at: dir + "/root", options: Self.options())
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { try root.group("g", on: "q") }
            #expect(error?.code == .corruption)
            #expect(error?.message.contains("no segment is left") == true, "\(String(describing: error))")
        }
    }
}
