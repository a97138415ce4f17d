import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Under load every sync at open waits for the disk's flush (issue 19, BENCHMARKS.md): the
/// recovery point a crashed queue's open ends at is written without syncs of its own when it
/// only moves forward, and losing it must cost nothing but a longer scan.
@Suite("Recovery syncs")
struct RecoverySyncTests {
    @Test("opening a crashed queue syncs its segment once and moves the recovery point forward without fsyncing the point or its directory")
    func forwardPointIsWrittenWithoutSyncs() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let counting = FaultInjectingFileSystem()
            var options = CrashedQueue.options
            options.fileSystem = counting
            let root = try openRoot(at: crashed.root, options: options)
            defer { root.close() }
            let before = counting.counters
            let log = try root.queue("q")
            let after = counting.counters
            #expect(log.recoveryReport.nextOffset == crashed.nextOffset)
            #expect(after.dataSyncs - before.dataSyncs == 1, "the segment's own fdatasync, which makes the scanned tail durable")
            // One fsync is the queue directory's entry in its parent (makeDurableDirectory); the
            // point's temporary file and the queue directory are not synced.
            #expect(after.fullSyncs - before.fullSyncs == 1)
            #expect(after.renames - before.renames == 1, "the point is still replaced atomically")
            let point = try #require(RecoveryPoint(decoding: try Files.read(crashed.directory + "/recovery-point")))
            #expect(point.position == crashed.writeEnd && point.nextOffset == crashed.nextOffset)
        }
    }

    @Test("a forward recovery point lost after open (the older file back) still opens with every record, scanning from the older point")
    func lostForwardPointCostsOnlyAScan() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let older = try Files.read(crashed.directory + "/recovery-point")
            let root = try openRoot(at: crashed.root, options: CrashedQueue.options)
            _ = try root.queue("q")
            root.close()
            // What a power cut may leave of the unsynced rename: the older point.
            try Files.write(crashed.directory + "/recovery-point", older)
            let reopened = try openRoot(at: crashed.root, options: CrashedQueue.options)
            defer { reopened.close() }
            let log = try reopened.queue("q")
            #expect(log.recoveryReport.bytesScanned >= crashed.writeEnd - crashed.syncedPosition, "scanned from the older point")
            #expect(log.recoveryReport.bytesTruncated == 0)
            let records = try readAll(log)
            #expect(records.count == Int(crashed.nextOffset))
            #expect(records.allSatisfy { $0.value == crashed.value($0.offset) })
        }
    }
}
