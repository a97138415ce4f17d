import Foundation
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Roots indexed with Spool's earlier meaning (base offsets; greatest timestamp *before* a
/// batch) are rebuilt once with Kafka's (FORMAT.md, "Offset index (.index)" and "Recovery point").
@Suite("Index meaning: Kafka's, and old roots rebuilt once")
struct KafkaIndexMeaningTests {
    /// A closed root whose queue holds 300 batches of 10 records in several sealed segments.
    static func fill(_ root: String) async throws -> String {
        let spool = try openRoot(at: root, options: testOptions { $0.segmentBytes = 64 << 10 })
        let log = try spool.queue("q")
        for b in 0..<300 {
            let records = (0..<10).map { i in RecordInput(value: [UInt8](repeating: UInt8(i), count: 100), timestamp: 1_700_000_000_000 + Int64(b * 10 + i)) }
            _ = try await log.append(batch: records)
        }
        spool.close()
        return QueueFiles.directory(root, "q")
    }

    /// Writes a segment's index files as Spool wrote them before Kafka's meaning.
    static func writeOldMeaningIndexes(_ directory: String, base: Int64) throws {
        var offsets: [UInt8] = [], times: [UInt8] = []
        var last: Int64 = 0, maxBefore = Int64.min
        for batch in try batches(in: QueueFiles.logPath(directory, base)).batches {
            if batch.position > 0 && batch.position - last >= 4096 {
                offsets.appendBigEndian(UInt32(batch.baseOffset - base))
                offsets.appendBigEndian(UInt32(batch.position))
                times.appendBigEndian(maxBefore)
                times.appendBigEndian(UInt32(batch.baseOffset - base))
                last = batch.position
            }
            maxBefore = max(maxBefore, batch.maxTimestamp)
        }
        try Files.write(QueueFiles.indexPath(directory, base), offsets)
        try Files.write(QueueFiles.timeIndexPath(directory, base), times)
    }

    /// Rewrites `recovery-point` as version `version`, CRC included.
    static func setRecoveryPointVersion(_ directory: String, _ version: UInt32) throws {
        var bytes = try Files.read(directory + "/recovery-point")
        withUnsafeBytes(of: version.bigEndian) { for i in 0..<4 { bytes[4 + i] = $0[i] } }
        let crc = CRC32C.checksum(Array(bytes[0..<32]))
        withUnsafeBytes(of: crc.bigEndian) { for i in 0..<4 { bytes[32 + i] = $0[i] } }
        try Files.write(directory + "/recovery-point", bytes)
    }

    static func indexProblems(_ directory: String) throws -> [String] {
        var problems: [String] = []
        for base in QueueFiles.bases(directory) {
            let path = QueueFiles.logPath(directory, base)
            let checks = try IndexCheck.check(try IndexEntries.read(segment: path), against: try SegmentFile(path: path))
            problems += (checks.offsets + checks.times).compactMap { $0.map { "\(base): \($0)" } }
        }
        return problems
    }

    @Test("a new root's indexes pass Kafka's checks: every offset entry names its batch's last offset, every time entry the greatest timestamp so far")
    func newIndexesPassKafkasChecks() async throws {
        try await withTemporaryDirectory { dir in
            let directory = try await Self.fill(dir + "/root")
            #expect(QueueFiles.bases(directory).count >= 3)
            #expect(try Self.indexProblems(directory) == [])
        }
    }

    @Test("a root whose recovery point is version 1 gets Kafka-meaning indexes at open, once, and reads stay correct")
    func oldMeaningIndexesAreRebuiltOnce() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let directory = try await Self.fill(root)
            let bases = QueueFiles.bases(directory)
            for base in bases { try Self.writeOldMeaningIndexes(directory, base: base) }
            try Self.setRecoveryPointVersion(directory, 1)
            #expect(try !Self.indexProblems(directory).isEmpty, "the old meaning fails Kafka's checks")

            let spool = try openRoot(at: root, options: testOptions { $0.segmentBytes = 64 << 10 })
            let log = try spool.queue("q")
            #expect(log.recoveryReport.indexesRebuilt >= bases.count, "every segment's indexes were rebuilt")
            for offset in stride(from: Int64(0), to: 3000, by: 7) {
                var reader = log.reader(from: offset)
                #expect(try reader.read(max: 1).first?.offset == offset)
            }
            var reader = log.reader(from: 0)
            try reader.seek(toTimestamp: 1_700_000_000_000 + 1234)
            #expect(try reader.read(max: 1).first?.offset == 1234)
            spool.close()
            #expect(try Self.indexProblems(directory) == [])
            #expect(try Files.read(directory + "/recovery-point")[4..<8] == [0, 0, 0, 2], "the recovery point now says version 2")

            let again = try openRoot(at: root, options: testOptions { $0.segmentBytes = 64 << 10 })
            defer { again.close() }
            #expect(try again.queue("q").recoveryReport.indexesRebuilt == 0, "the rebuild happens once")
        }
    }

    @Test("seek(toTimestamp:) lands on the first record at or after every timestamp, as Kafka's lookup does")
    func seekByTimeMatchesBruteForce() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            _ = try await Self.fill(root)
            let spool = try openRoot(at: root, options: testOptions { $0.segmentBytes = 64 << 10 })
            defer { spool.close() }
            let log = try spool.queue("q")
            for target in stride(from: Int64(0), to: 3000, by: 13) {
                var reader = log.reader(from: 0)
                try reader.seek(toTimestamp: 1_700_000_000_000 + target)
                #expect(try reader.read(max: 1).first?.offset == target)
            }
        }
    }
}
