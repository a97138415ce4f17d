import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Opening after a clean close or a crash: how much is scanned, what the recovery point is
/// worth, and how torn tails past it are cut and kept.
@Suite("Recovery")
struct RecoveryTests {
    static func fill(_ log: QueueLog, count: Int, size: Int) async throws {
        let start = log.committed.nextOffset
        for offset in start..<start + Int64(count) {
            try await log.append(TestPayload.make(offset, size: size), timestamp: TestPayload.timestamp(offset))
        }
    }

    // MARK: Recovery point

    @Test("reopening after a clean close scans at most one index interval")
    func cleanReopenScansAlmostNothing() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions()
            let root = try openRoot(at: dir + "/root", options: options)
            try await Self.fill(try root.queue("q"), count: 500, size: 1000)
            root.close()
            let size = Files.size(QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0))
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let log = try reopened.queue("q")
            let report = log.recoveryReport
            #expect(report.bytesScanned <= Int64(options.indexIntervalBytes) + 1100, "scanned \(report.bytesScanned) of \(size) bytes")
            #expect(!report.recoveryPointMissing)
            #expect(report.bytesTruncated == 0 && report.brokenFiles.isEmpty)
            #expect(report.nextOffset == 500)
            expectRecords(try readAll(log), count: 500) { TestPayload.make($0, size: 1000) }
        }
    }

    /// Writes three 64 KiB segments and closes; returns the active segment's valid size.
    static func writeSegments(_ root: String) async throws -> (options: SpoolOptions, activeSize: Int64) {
        let options = testOptions { $0.segmentBytes = 64 << 10 }
        let spool = try openRoot(at: root, options: options)
        let log = try spool.queue("q")
        try await fill(log, count: 200, size: 800)
        let position = log.committed.position
        spool.close()
        try #require(QueueFiles.bases(QueueFiles.directory(root, "q")).count >= 3)
        return (options, position)
    }

    static func expectScannedActiveSegment(_ root: String, options: SpoolOptions, activeSize: Int64,
                                           sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let spool = try openRoot(at: root, options: options)
        defer { spool.close() }
        let log = try spool.queue("q")
        let report = log.recoveryReport
        #expect(report.recoveryPointMissing, sourceLocation: sourceLocation)
        #expect(report.segmentsScanned == 1, sourceLocation: sourceLocation)
        #expect(report.bytesScanned == activeSize, "the whole active segment, and only it", sourceLocation: sourceLocation)
        #expect(report.bytesTruncated == 0, sourceLocation: sourceLocation)
        expectRecords(try readAll(log), count: 200, expected: { TestPayload.make($0, size: 800) }, sourceLocation: sourceLocation)
        #expect(try await log.append([1]) == 200, sourceLocation: sourceLocation)
        #expect(Files.size(QueueFiles.directory(root, "q") + "/recovery-point") == 36, "a fresh recovery point was written",
                sourceLocation: sourceLocation)
    }

    @Test("a deleted recovery-point: reopen scans the active segment, reports it missing, and keeps all data")
    func deletedRecoveryPoint() async throws {
        try await withTemporaryDirectory { dir in
            let (options, activeSize) = try await Self.writeSegments(dir + "/root")
            #expect(unlink(QueueFiles.directory(dir + "/root", "q") + "/recovery-point") == 0)
            try await Self.expectScannedActiveSegment(dir + "/root", options: options, activeSize: activeSize)
        }
    }

    @Test("a bit-flipped recovery-point is treated as missing: active segment scanned, all data kept")
    func corruptedRecoveryPoint() async throws {
        try await withTemporaryDirectory { dir in
            let (options, activeSize) = try await Self.writeSegments(dir + "/root")
            try ByteMutator.flipBit(QueueFiles.directory(dir + "/root", "q") + "/recovery-point", at: 20, bit: 3)
            try await Self.expectScannedActiveSegment(dir + "/root", options: options, activeSize: activeSize)
        }
    }

    @Test("an empty recovery-point (a checkpoint whose data a power cut lost) is treated as missing")
    func emptyRecoveryPoint() async throws {
        try await withTemporaryDirectory { dir in
            let (options, activeSize) = try await Self.writeSegments(dir + "/root")
            try ByteMutator.truncate(QueueFiles.directory(dir + "/root", "q") + "/recovery-point", to: 0)
            try await Self.expectScannedActiveSegment(dir + "/root", options: options, activeSize: activeSize)
        }
    }

    @Test("a leftover recovery-point.tmp is removed and reported, and the data is intact")
    func leftoverTemporaryFileRemoved() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions()
            let root = try openRoot(at: dir + "/root", options: options)
            try await Self.fill(try root.queue("q"), count: 20, size: 100)
            root.close()
            let directory = QueueFiles.directory(dir + "/root", "q")
            try Files.write(directory + "/recovery-point.tmp", Array("half-written".utf8))
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let log = try reopened.queue("q")
            #expect(log.recoveryReport.removedTemporaryFiles == ["recovery-point.tmp"])
            #expect(!Files.exists(directory + "/recovery-point.tmp"))
            #expect(!log.recoveryReport.recoveryPointMissing)
            expectRecords(try readAll(log), count: 20) { TestPayload.make($0, size: 100) }
        }
    }

    @Test("after a crash, bytes scanned are bounded by recoveryCheckpointBytes, not by the log's size")
    func scanAfterCrashIsBounded() async throws {
        try await withTemporaryDirectory { dir in
            let checkpoint = 256 << 10
            let options = testOptions { $0.recoveryCheckpointBytes = checkpoint }
            let root = try openRoot(at: dir + "/live", options: options)
            let log = try root.queue("q")
            var appendBytes = 0
            for i in 0..<96 {  // about 6 MiB in 64-record appends
                let records = (0..<64).map { j in
                    RecordInput(value: TestPayload.make(Int64(i * 64 + j), size: 1000), timestamp: TestPayload.timestamp(Int64(i * 64 + j)))
                }
                appendBytes = try encodedSize(records)
                try await log.append(batch: records)
            }
            let written = log.committed.position
            let crashed = try crashCopy(root: dir + "/live", queue: "q", to: dir + "/crashed")
            root.close()

            let reopened = try openRoot(at: crashed, options: options)
            defer { reopened.close() }
            let recovered = try reopened.queue("q")
            let report = recovered.recoveryReport
            #expect(!report.recoveryPointMissing)
            #expect(report.bytesScanned <= Int64(checkpoint + 2 * appendBytes + options.indexIntervalBytes),
                    "scanned \(report.bytesScanned) bytes of a \(written)-byte log")
            #expect(report.bytesScanned < written / 4)
            #expect(report.nextOffset == 96 * 64)
            expectRecords(try readAll(recovered), count: 96 * 64) { TestPayload.make($0, size: 1000) }
        }
    }

    @Test("a crash right after a segment roll recovers into the new segment")
    func crashAfterRoll() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions { $0.segmentBytes = 64 << 10; $0.recoveryCheckpointBytes = 64 << 20 }
            let root = try openRoot(at: dir + "/live", options: options)
            let log = try root.queue("q")
            var count: Int64 = 0
            while QueueFiles.bases(QueueFiles.directory(dir + "/live", "q")).count < 3 {
                try await log.append(TestPayload.make(count, size: 2000))
                count += 1
            }
            let crashed = try crashCopy(root: dir + "/live", queue: "q", to: dir + "/crashed")
            root.close()
            let reopened = try openRoot(at: crashed, options: options)
            defer { reopened.close() }
            let recovered = try reopened.queue("q")
            #expect(recovered.recoveryReport.bytesTruncated == 0)
            #expect(recovered.recoveryReport.nextOffset == count)
            expectRecords(try readAll(recovered), count: Int(count)) { TestPayload.make($0, size: 2000) }
            #expect(try await recovered.append([1]) == count)
        }
    }

    // MARK: Torn tails past the recovery point

    @Test("torn tail: a truncated last batch is cut, kept as .broken, and appends continue at its offset")
    func tornTailTruncatedBatch() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let last = crashed.tail.last!
            let cut = last.position + Int64(last.totalBytes / 2)
            try ByteMutator.truncate(crashed.segment, to: cut)
            let report = try await crashed.recoverAndCheck("truncated last batch")
            #expect(report.bytesTruncated == cut - last.position, "exactly the half batch")
            #expect(report.brokenFiles.count == 1)
            #expect(report.nextOffset == last.baseOffset)
        }
    }

    @Test("torn tail: garbage after the last batch is cut and kept as .broken; no record is lost")
    func tornTailGarbageAfterLastBatch() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            var rng = SplitMix64(seed: 99)
            let garbage = (0..<100).map { _ in UInt8(truncatingIfNeeded: rng.next()) | 1 }
            try ByteMutator.overwrite(crashed.segment, at: crashed.writeEnd, with: garbage)
            let report = try await crashed.recoverAndCheck("garbage after the last batch")
            #expect(report.bytesTruncated == 100)
            #expect(try Files.read(try #require(report.brokenFiles.first)) == garbage)
            #expect(report.nextOffset == crashed.nextOffset)
        }
    }

    @Test("torn tail: garbage appended past the preallocated zeros is cut with the zeros before it")
    func tornTailGarbageAtEndOfFile() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let size = Files.size(crashed.segment)
            try #require(size > crashed.writeEnd, "the tail is preallocated")
            try ByteMutator.append(crashed.segment, Array("GARBAGE!".utf8))
            let report = try await crashed.recoverAndCheck("garbage at the end of the file")
            #expect(report.bytesTruncated == size + 8 - crashed.writeEnd)
            #expect(report.nextOffset == crashed.nextOffset)
        }
    }

    @Test("torn tail: a last batch whose length points past the end of the file is cut")
    func tornTailLengthPastEnd() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let last = crashed.tail.last!
            let pastEnd = Files.size(crashed.segment) - last.position + 4096
            try ByteMutator.setInt32(crashed.segment, at: last.position + 8, Int32(pastEnd - 12))
            let report = try await crashed.recoverAndCheck("length past the end")
            #expect(report.bytesTruncated == Int64(last.totalBytes))
            #expect(report.nextOffset == last.baseOffset)
        }
    }

    @Test("torn tail: a zero-filled last batch is dropped without a .broken file")
    func tornTailZeroFilled() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let last = crashed.tail.last!
            try ByteMutator.zero(crashed.segment, last.position..<last.end)
            let report = try await crashed.recoverAndCheck("zero-filled last batch")
            #expect(report.bytesTruncated == 0)
            #expect(report.brokenFiles.isEmpty)
            #expect(report.nextOffset == last.baseOffset)
        }
    }

    @Test("torn tail: a bit flip in the last batch fails its CRC; the batch is cut and kept as .broken")
    func tornTailBitFlip() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let last = crashed.tail.last!
            try ByteMutator.flipBit(crashed.segment, at: last.position + Int64(last.totalBytes / 2), bit: 5)
            let report = try await crashed.recoverAndCheck("bit flip in the last batch")
            #expect(report.bytesTruncated == Int64(last.totalBytes))
            #expect(report.nextOffset == last.baseOffset)
        }
    }

    @Test("torn tail: damage in the first batch past the recovery point cuts everything after it, and nothing below")
    func tornTailAtTheRecoveryPoint() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let first = crashed.tail.first!
            try ByteMutator.flipBit(crashed.segment, at: first.position + 30, bit: 0)
            let report = try await crashed.recoverAndCheck("bit flip right past the recovery point")
            #expect(report.nextOffset == crashed.syncedOffset)
            #expect(report.bytesTruncated == crashed.writeEnd - crashed.syncedPosition)
        }
    }

    @Test("a second torn tail cut at the same position keeps the first .broken file too")
    func secondTornTailAtSamePositionKeepsBothBrokenFiles() async throws {
        try await withTemporaryDirectory { dir in
            let crashed = try await CrashedQueue.make(in: dir)
            let first = Array("first torn write".utf8)
            try ByteMutator.overwrite(crashed.segment, at: crashed.writeEnd, with: first)
            let root = try openRoot(at: crashed.root, options: CrashedQueue.options)
            let log = try root.queue("q")
            #expect(log.recoveryReport.brokenFiles.count == 1)
            // Crash again before anything else is written, with another torn write at the same place.
            let again = try crashCopy(root: crashed.root, queue: "q", to: dir + "/again")
            root.close()
            let segment = QueueFiles.logPath(QueueFiles.directory(again, "q"), 0)
            let second = Array("second torn write".utf8)
            try ByteMutator.overwrite(segment, at: crashed.writeEnd, with: second)
            let reopened = try openRoot(at: again, options: CrashedQueue.options)
            defer { reopened.close() }
            #expect(try reopened.queue("q").recoveryReport.bytesTruncated == Int64(second.count))
            let directory = QueueFiles.directory(again, "q")
            let kept = try QueueFiles.brokenFiles(directory).map { try Files.read(directory + "/" + $0) }
            #expect(kept.contains(first), "the bytes cut by the first recovery are still kept")
            #expect(kept.contains(second))
        }
    }

    @Test("reopening after a crash with a smaller limits.batchBytesMax than the tail's batches never cuts them")
    func smallerLimitsNeverCutValidBatches() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions { $0.recoveryCheckpointBytes = 64 << 20 }
            let first = try openRoot(at: dir + "/live", options: options)
            try await Self.fill(try first.queue("q"), count: 5, size: 100)
            first.close()
            let second = try openRoot(at: dir + "/live", options: options)
            let log = try second.queue("q")
            // One acknowledged batch of about 20 KB past the recovery point.
            let big = (Int64(5)..<15).map { RecordInput(value: TestPayload.make($0, size: 2000), timestamp: TestPayload.timestamp($0)) }
            #expect(try await log.append(batch: big) == 5)
            let crashed = try crashCopy(root: dir + "/live", queue: "q", to: dir + "/crashed")
            second.close()
            let segment = QueueFiles.logPath(QueueFiles.directory(crashed, "q"), 0)
            let before = try Files.read(segment)

            // The operator reopens with smaller limits than the writer had.
            let smaller = testOptions { $0.limits.batchBytesMax = 8 << 10 }
            do {
                let root = try openRoot(at: crashed, options: smaller)
                defer { root.close() }
                let reopened = try root.queue("q")
                // Opening may refuse; if it opens, nothing acknowledged may be gone.
                #expect(reopened.committed.nextOffset == 15, "the acknowledged 20 KB batch was cut")
            } catch let error as SpoolError {
                #expect(error.code != .io, "\(error)")
            }
            #expect(QueueFiles.brokenFiles(QueueFiles.directory(crashed, "q")).isEmpty, "valid batches were cut away as a torn tail")
            let dataEnd = Int(try batches(in: dir + "/live/queues/q/00000000000000000000.log").batches.last!.end)
            #expect(Array(try Files.read(segment).prefix(dataEnd)) == Array(before.prefix(dataEnd)), "the segment lost acknowledged bytes")
            let root = try openRoot(at: crashed, options: testOptions())
            defer { root.close() }
            expectRecords(try readAll(try root.queue("q")), count: 15) { $0 < 5 ? TestPayload.make($0, size: 100) : TestPayload.make($0, size: 2000) }
        }
    }

    @Test("random damage past the recovery point (50 seeded cases) never fails open nor loses a record below it")
    func randomTailDamageSweep() async throws {
        try await withTemporaryDirectory { dir in
            try Files.makeDirectory(dir + "/base-dir")
            let base = try await CrashedQueue.make(in: dir + "/base-dir", syncedCount: 60, tailAppends: 12, seed: 3)
            var rng = SplitMix64(seed: 0x5EED_CAFE)
            var cut = 0, shortened = 0
            for n in 0..<50 {
                let crashed = try base.copy(to: dir + "/case-\(n)")
                let size = Files.size(crashed.segment)
                func random(_ range: Range<Int64>) -> Int64 { range.lowerBound + Int64(rng.next() % UInt64(max(range.count, 1))) }
                let what: String
                switch rng.next() % 5 {
                case 0:
                    let at = random(crashed.syncedPosition..<size + 1)
                    try ByteMutator.truncate(crashed.segment, to: at)
                    what = "case \(n): truncate at \(at)"
                case 1:
                    let at = random(crashed.syncedPosition..<min(size, crashed.writeEnd + 256))
                    let bit = Int(rng.next() % 8)
                    try ByteMutator.flipBit(crashed.segment, at: at, bit: bit)
                    what = "case \(n): flip bit \(bit) at \(at)"
                case 2:
                    let at = random(crashed.syncedPosition..<crashed.writeEnd + 100)
                    let garbage = (0..<Int(1 + rng.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    try ByteMutator.overwrite(crashed.segment, at: at, with: garbage)
                    what = "case \(n): \(garbage.count) bytes of garbage at \(at)"
                case 3:
                    let garbage = (0..<Int(1 + rng.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    try ByteMutator.append(crashed.segment, garbage)
                    what = "case \(n): \(garbage.count) bytes of garbage appended at \(size)"
                default:
                    let at = random(crashed.syncedPosition..<crashed.writeEnd)
                    let length = 1 + random(0..<4096)
                    try ByteMutator.zero(crashed.segment, at..<at + length)
                    what = "case \(n): \(length) zero bytes at \(at)"
                }
                do {
                    let report = try await crashed.recoverAndCheck(what)
                    if report.bytesTruncated > 0 { cut += 1 }
                    if report.nextOffset < base.nextOffset { shortened += 1 }
                } catch {
                    Issue.record("\(what): \(error)")
                }
                TempDirectory.remove(dir + "/case-\(n)")
            }
            // The sweep is only worth something if it really damaged tails.
            #expect(cut >= 10, "cases that cut bytes: \(cut)")
            #expect(shortened >= 10, "cases that lost tail records: \(shortened)")
        }
    }
}
