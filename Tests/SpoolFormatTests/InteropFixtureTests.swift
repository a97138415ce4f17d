import Foundation
import SpoolFormat
import Testing

/// Bytes written by kafka-python (an independent Kafka client), so the format is pinned to
/// Kafka's, not to our own reading of it. See fixtures/interop/README.md.
struct InteropFixtureTests {
    /// One line of expected.jsonl.
    struct Expected {
        var offset: Int64
        var timestamp: Int64
        var codec: String
        var key: String?
        var value: String?
        var headers: [[String]]
    }

    static func expectedRecords() throws -> [Expected] {
        let text = String(decoding: try Fixtures.bytes("fixtures/interop/expected.jsonl"), as: UTF8.self)
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return Expected(
                offset: try #require((object["offset"] as? NSNumber)?.int64Value),
                timestamp: try #require((object["timestamp"] as? NSNumber)?.int64Value),
                codec: try #require(object["codec"] as? String),
                key: object["key"] as? String,
                value: object["value"] as? String,
                headers: try #require(object["headers"] as? [[String]]))
        }
    }

    /// Decodes every batch of a segment, walking `header.totalBytes` from one to the next.
    static func decodeSegment(_ segment: [UInt8]) throws -> [RecordBatch] {
        try segment.withUnsafeBytes { all in
            var batches: [RecordBatch] = []
            var position = 0
            while position < all.count {
                let rest = UnsafeRawBufferPointer(rebasing: all[position...])
                let batch = try RecordBatchDecoder.decode(rest)
                batches.append(batch)
                position += batch.header.totalBytes
            }
            return batches
        }
    }

    @Test("every record of the kafka-python segment (codecs none, lz4, zstd) matches expected.jsonl")
    func segmentMatchesExpected() throws {
        let segment = try Fixtures.bytes("fixtures/interop/00000000000000001000.log")
        let batches = try Self.decodeSegment(segment)
        let expected = try Self.expectedRecords()

        #expect(batches.map { try? $0.header.codec() } == [CompressionCodec.none, .lz4, .zstd] as [CompressionCodec?])
        let decoded = batches.flatMap { batch in batch.records.map { (batch.header, $0) } }
        try #require(decoded.count == expected.count)
        #expect(expected.count == 150)
        for ((header, record), want) in zip(decoded, expected) {
            #expect(record.offset == want.offset)
            #expect(record.timestamp == want.timestamp)
            #expect((try? header.codec())?.description == want.codec)
            #expect(record.key == want.key.map { Array($0.utf8) })
            #expect(record.value == want.value.map { Array($0.utf8) })
            #expect(record.headers.map { [$0.name, String(decoding: $0.value ?? [], as: UTF8.self)] } == want.headers)
            #expect(record.headers.allSatisfy { $0.value != nil })
        }
    }

    @Test("the kafka-python batch headers carry the fixed fields Spool also writes")
    func headersOfTheSegment() throws {
        let batches = try Self.decodeSegment(try Fixtures.bytes("fixtures/interop/00000000000000001000.log"))
        #expect(batches.map(\.header.baseOffset) == [1000, 1050, 1100])
        #expect(batches.map(\.header.nextOffset) == [1050, 1100, 1150])
        for batch in batches {
            #expect(batch.header.producerId == -1)
            #expect(batch.header.producerEpoch == -1)
            #expect(batch.header.baseSequence == -1)
            #expect(batch.header.partitionLeaderEpoch == 0)
            #expect(batch.header.recordCount == 50)
            #expect(batch.header.maxTimestamp == batch.records.map(\.timestamp).max())
        }
    }

    @Test("the segment written by kafka-python has only valid CRCs, also when checked alone")
    func crcOnlyCheck() throws {
        let segment = try Fixtures.bytes("fixtures/interop/00000000000000001000.log")
        try segment.withUnsafeBytes { all in
            var position = 0
            var count = 0
            while position < all.count {
                let rest = UnsafeRawBufferPointer(rebasing: all[position...])
                let header = try RecordBatchHeader.decode(rest)
                try RecordBatchDecoder.verifyCRC(rest, header: header)
                position += header.totalBytes
                count += 1
            }
            #expect(position == all.count)
            #expect(count == 3)
        }
    }

    @Test("the shipped gzip-batch.bin is in fact a codec-none batch: its attributes are 0, not 1")
    func shippedGzipFixtureIsMislabelled() throws {
        // fixtures/interop/README.md says codec 1 (gzip), but bytes 21-22 are 0x0000 and the
        // record "gzip-task" is stored uncompressed, under a CRC that matches. This test pins
        // the file as shipped; if the fixture is regenerated as real gzip, it fails and the next
        // test can take the file unmodified.
        let batch = try Fixtures.bytes("fixtures/interop/gzip-batch.bin")
        let decoded = try batch.withUnsafeBytes { try RecordBatchDecoder.decode($0) }
        #expect(decoded.header.codecBits == 0)
        #expect(decoded.records.map(\.value) == [Array("gzip-task".utf8)])
    }

    @Test("a batch whose codec bits say gzip is rejected with \"unsupported codec gzip\", not decoded")
    func gzipIsRejected() throws {
        // The kafka-python batch with its codec bits set to 1 (gzip) and its CRC recomputed.
        let shipped = try Fixtures.bytes("fixtures/interop/gzip-batch.bin")
        let batch = ByteMutator.reseal(
            ByteMutator.setBigEndian(shipped, at: RecordBatchHeader.attributesPosition, Int16(1)))
        let error = #expect(throws: FormatError.self) {
            try batch.withUnsafeBytes { try RecordBatchDecoder.decode($0) }
        }
        #expect(error == .unsupportedCodec(.gzip))
        #expect(error?.description.contains("unsupported codec gzip") == true)
        // The header alone is fine: the codec is only judged when asked.
        let header = try batch.withUnsafeBytes { try RecordBatchHeader.decode($0) }
        #expect(header.baseOffset == 2000)
        #expect(header.codecBits == 1)
        #expect(throws: FormatError.unsupportedCodec(.gzip)) { try header.codec() }
    }
}
