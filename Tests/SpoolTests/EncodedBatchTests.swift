import Foundation
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Issue 15, item 2: what the coming Kafka server needs of the log floor: appending batches
/// that are already encoded, and reading committed batches as bytes without decoding them.
@Suite("encoded appends and batch-byte reads")
struct EncodedBatchTests {
    static func encoded(_ values: [String], codec: CompressionCodec = .none, baseOffset: Int64 = 0) throws -> [UInt8] {
        var out: [UInt8] = []
        try RecordBatchEncoder.encode(values.map { RecordInput(value: Array($0.utf8), timestamp: 1_700_000_000_000) },
                                      baseOffset: baseOffset, codec: codec, into: &out)
        return out
    }

    @Test("encoded batches get the log's offsets, read back as records, and come back byte for byte but for the stamped base offset")
    func encodedAppendReadsBackAsRecordsAndBytes() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            try await log.append(Array("first".utf8))
            let a = try Self.encoded(["a0", "a1", "a2"], baseOffset: 77), b = try Self.encoded(["b0", "b1"], codec: .zstd)
            #expect(try await log.append(encodedBatches: a + b) == 1)
            #expect(try await log.append(Array("last".utf8)) == 6)
            let values = try readAll(log).map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(values == ["first", "a0", "a1", "a2", "b0", "b1", "last"])

            var reader = log.reader(from: 2)
            let read = try reader.readBatchBytes(maxBytes: 1 << 20)
            #expect(read.firstOffset == 1, "the whole batch holding offset 2 comes, from its base offset")
            var expected = a + b
            expected.withUnsafeMutableBytes { raw in
                RecordBatchEncoder.patchBaseOffset(1, in: UnsafeMutableRawBufferPointer(rebasing: raw[0..<a.count]))
                RecordBatchEncoder.patchBaseOffset(4, in: UnsafeMutableRawBufferPointer(rebasing: raw[a.count...]))
            }
            #expect(Array(read.bytes.prefix(expected.count)) == expected)
            #expect(reader.nextOffset == 7)
            #expect(try reader.readBatchBytes(maxBytes: 1 << 20).bytes.isEmpty, "nothing more is committed")
        }
    }

    @Test("a batch-byte read returns at least one batch, and no more than maxBytes once it has one")
    func batchByteReadStopsAtMaxBytes() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<5 { try await log.append(encodedBatches: try Self.encoded(["task \(i)"])) }
            var reader = log.reader(from: 0)
            let one = try reader.readBatchBytes(maxBytes: 1)
            let size = one.bytes.count
            #expect(size > 1 && one.firstOffset == 0 && reader.nextOffset == 1)
            let two = try reader.readBatchBytes(maxBytes: 2 * size + 1)
            #expect(two.bytes.count == 2 * size && two.firstOffset == 1 && reader.nextOffset == 3)
        }
    }

    @Test("a transactional batch, a bad CRC and trailing bytes are refused, and nothing is written")
    func badEncodedAppendsAreRefused() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            var transactional = try Self.encoded(["t"])
            transactional[RecordBatchHeader.attributesPosition + 1] |= UInt8(RecordBatchHeader.transactionalFlag)
            let refusedTransaction = await #expect(throws: SpoolError.self) { try await log.append(encodedBatches: transactional) }
            #expect(refusedTransaction?.code == .invalidArgument)
            var flipped = try Self.encoded(["x", "y"])
            let good = try Self.encoded(["g"])
            flipped[flipped.count - 1] ^= 1
            let refusedCRC = await #expect(throws: SpoolError.self) { try await log.append(encodedBatches: good + flipped) }
            #expect(refusedCRC?.code == .corruption && refusedCRC?.position == Int64(good.count), "\(String(describing: refusedCRC))")
            let refusedTail = await #expect(throws: SpoolError.self) { try await log.append(encodedBatches: good + [1, 2, 3]) }
            #expect(refusedTail != nil)
            #expect(log.committed.nextOffset == 0, "nothing was written")
        }
    }
}
