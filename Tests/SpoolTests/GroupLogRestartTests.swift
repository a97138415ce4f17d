import Glibc
@testable import Spool
import SpoolTesting
import Testing

/// `spool repair` for a group log whose only segment was deleted: open refuses the group until
/// repair restarts its log past its old end and accepts the lost acks.
@Suite("Repair restarts a group log with no segment left")
struct GroupLogRestartTests {
    @Test("a group log's only segment deleted: open refuses, repair (dry run changes nothing) restarts the log at its old next offset and accepts the lost acks, and the group opens and redelivers")
    func groupLogWithNoSegmentLeftIsRestartedPastItsOldEnd() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = testOptions()
            do {
                let spool = try openRoot(at: root, options: options)
                defer { spool.close() }
                let log = try spool.queue("q")
                for index in 0..<20 { _ = try log.appendBlocking(batch: [RecordInput(value: Array("t\(index)".utf8), timestamp: 1)]) }
                let group = try spool.group("g", on: "q")
                for _ in 0..<5 { _ = try group.ackBlocking(try group.claimBlocking(max: 1).tasks) }
            }
            let groupDirectory = QueueFiles.directory(root, "q") + "/groups/g"
            let oldEnd = try #require(try RecoveryPoint.read(in: groupDirectory, fileSystem: PosixFileSystem())).nextOffset
            #expect(oldEnd > 0)
            for name in Files.list(groupDirectory) where name.hasSuffix(".log") { #expect(unlink(groupDirectory + "/" + name) == 0) }
            do {
                let spool = try openRoot(at: root, options: options)
                defer { spool.close() }
                #expect(throws: SpoolError.self) { try spool.group("g", on: "q") }
            }
            let dry = try Repairer(options: options).repair(path: root, dryRun: true)
            #expect(dry.actions.contains { $0.kind == .restartGroupLog && $0.offset == oldEnd }, "\(dry.actions)")
            #expect(dry.actions.contains { $0.kind == .acceptGroupLoss && $0.offset == oldEnd }, "\(dry.actions)")
            #expect(!Files.list(groupDirectory).contains { $0.hasSuffix(".log") }, "the dry run changed the group log")
            _ = try Repairer(options: options).repair(path: root, dryRun: false)
            #expect(Files.exists(groupDirectory + "/" + SegmentName.stem(oldEnd) + RootLayout.logSuffix))
            #expect(try Verifier().verify(path: root).problems.filter { $0.file.contains("/groups/") }.isEmpty)
            let spool = try openRoot(at: root, options: options)
            defer { spool.close() }
            let group = try spool.group("g", on: "q")
            // The acks were lost with the segment: the tasks come again (at-least-once).
            let batch = try group.claimBlocking(max: 1)
            #expect(batch.tasks.first?.offset == 0)
            _ = try group.ackBlocking(batch.tasks)
        }
    }
}
