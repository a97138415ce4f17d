import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// `baseOffset` is not covered by the batch CRC (FORMAT.md, "CRC"). A flipped bit there must
/// not make a reader skip the batches after the damaged one as already read: found by
/// `spool drill --faults bitflip`, which lost 986 acknowledged tasks to one such flip.
@Suite("Batch order corruption")
struct BatchOrderCorruptionTests {
    /// Flips `bit` of the `baseOffset` byte at `byte` (0 = most significant) of the 21st batch of
    /// the first (sealed) segment, then reads the whole log from 0.
    static func readAfterFlip(byte: Int64, bit: Int) async throws -> (error: SpoolError?, damaged: BatchInfo, segment: String) {
        try await withTemporaryDirectory { dir in
            let options = try await CorruptionTests.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let segment = QueueFiles.logPath(directory, 0)
            let damaged = try #require(try batches(in: segment).batches.dropFirst(20).first)
            try ByteMutator.flipBit(segment, at: damaged.position + byte, bit: bit)
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let log = try root.queue("q")
            do {
                _ = try readAll(log)
                return (nil, damaged, segment)
            } catch let error as SpoolError {
                return (error, damaged, segment)
            }
        }
    }

    @Test("a baseOffset raised by a bit flip in a sealed segment fails the read at the next batch, which goes backwards")
    func raisedBaseOffset() async throws {
        let (error, damaged, segment) = try await Self.readAfterFlip(byte: 7, bit: 5)  // 20 + 32, still inside the segment
        let e = try #require(error, "the read skipped the batches after the damaged one without an error")
        #expect(e.code == .corruption)
        #expect(e.path == segment)
        #expect(e.position == damaged.position + Int64(damaged.totalBytes))
        #expect(e.message.contains("backwards"), "\(e)")
    }

    @Test("a baseOffset lowered by a bit flip in a sealed segment fails the read at the damaged batch")
    func loweredBaseOffset() async throws {
        // The 21st batch of 900-byte records holds offset 20: clearing bit 4 gives offset 4.
        let (error, damaged, segment) = try await Self.readAfterFlip(byte: 7, bit: 4)
        let e = try #require(error)
        #expect(e.code == .corruption)
        #expect(e.path == segment)
        #expect(e.position == damaged.position)
        #expect(e.offset == damaged.baseOffset - 16)
    }

    @Test("a partitionLeaderEpoch other than 0 (Kafka producers write -1, brokers their epoch) is read, not called damage")
    func partitionLeaderEpochFlipIsNotDamage() async throws {
        let (error, _, _) = try await Self.readAfterFlip(byte: Int64(RecordBatchHeader.partitionLeaderEpochPosition) + 3, bit: 0)
        #expect(error == nil, "Kafka keeps partitionLeaderEpoch outside the CRC on purpose; any value is valid: \(String(describing: error))")
    }

    @Test("a baseOffset pushed past the next segment's base fails the read at the damaged batch")
    func baseOffsetPastNextSegment() async throws {
        let (error, damaged, segment) = try await Self.readAfterFlip(byte: 3, bit: 0)  // +2^32
        let e = try #require(error)
        #expect(e.code == .corruption)
        #expect(e.path == segment)
        #expect(e.position == damaged.position)
        #expect(e.message.contains("runs past offset"), "\(e)")
    }
}

extension BatchOrderCorruptionTests {
    @Test("a raised baseOffset in the last batch of the active segment, below the recovery point, fails the read instead of hiding the batch past the end")
    func raisedBaseOffsetOfLastBatch() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await CorruptionTests.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let active = QueueFiles.logPath(directory, QueueFiles.bases(directory).last!)
            let last = try #require(try batches(in: active).batches.last)
            try ByteMutator.flipBit(active, at: last.position + 7, bit: 3)  // +8 (or -8)
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { _ = try readAll(try root.queue("q")) }
            #expect(error?.code == .corruption)
            #expect(error?.path == active)
            #expect(error?.position == last.position)
        }
    }
}

/// A sealed segment cut at a batch boundary passes every CRC: only the offsets show it.
/// Found by `spool drill --faults truncate`, which lost records silently this way.
@Suite("Segment continuity")
struct SegmentContinuityTests {
    @Test("a sealed segment cut at a batch boundary fails the read naming the missing records, unless repair left a .broken file for them")
    func truncatedSealedSegment() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await CorruptionTests.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let bases = QueueFiles.bases(directory)
            try #require(bases.count >= 2)
            let segment = QueueFiles.logPath(directory, bases[0])
            let kept = try batches(in: segment).batches.dropLast(3)
            let cut = try #require(kept.last)
            let fd = open(segment, O_WRONLY)
            #expect(ftruncate(fd, Int(cut.end)) == 0)
            close(fd)
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            let error = #expect(throws: SpoolError.self) { _ = try readAll(log) }
            #expect(error?.code == .corruption)
            #expect(error?.path == segment)
            #expect(error?.offset == cut.nextOffset)
            #expect(error?.message.contains("records are missing") == true, "\(error.map { "\($0)" } ?? "")")
            root.close()

            // The gap repair leaves (it keeps the cut bytes) is read past.
            try Files.write(directory + "/" + SegmentName.stem(bases[0]) + ".\(cut.end)" + RootLayout.brokenSuffix, [1])
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let records = try readAll(try reopened.queue("q"))
            #expect(records.first?.offset == 0)
            #expect(!records.contains { $0.offset >= cut.nextOffset && $0.offset < bases[1] })
            #expect(records.last.map { $0.offset + 1 } == (try reopened.queue("q")).committed.nextOffset)
        }
    }
}
