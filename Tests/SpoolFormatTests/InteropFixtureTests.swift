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

    /// What fixtures/interop/README.md says the gzip and snappy batches hold: ten records at
    /// `base + i`, value `<prefix>-<base + i>`, key `k<i>` except null for i = 0, 3, 6, 9, one
    /// header `h` = i, timestamp 1764000000000 + i.
    static func describedRecords(base: Int64, prefix: String) -> [Record] {
        // Typed in steps: with SpoolTesting (and the engine's modules) in the target's graph,
        // the one-expression form of this closure no longer type-checks in reasonable time.
        (0..<10).map { (i: Int) -> Record in
            let offset: Int64 = base + Int64(i)
            let key: [UInt8]? = i % 3 == 0 ? nil : Array("k\(i)".utf8)
            let value: [UInt8] = Array("\(prefix)-\(offset)".utf8)
            return Record(
                offset: offset, timestamp: 1_764_000_000_000 + Int64(i), key: key, value: value,
                headers: [RecordHeader(name: "h", value: Array("\(i)".utf8))])
        }
    }

    @Test("kafka-python's gzip and snappy batches decode to the ten records the README describes",
          arguments: [("fixtures/interop/gzip-batch.bin", CompressionCodec.gzip, Int64(2000), "gzip"),
                      ("fixtures/interop/snappy-batch.bin", .snappy, 3000, "snappy")])
    func gzipAndSnappyBatchesMatchTheReadme(file: String, codec: CompressionCodec, base: Int64, prefix: String) throws {
        let bytes = try Fixtures.bytes(file)
        let batch = try bytes.withUnsafeBytes { try RecordBatchDecoder.decode($0) }
        #expect(batch.header.totalBytes == bytes.count)
        #expect(try batch.header.codec() == codec)
        #expect(batch.header.recordCount == 10)
        #expect(batch.records == Self.describedRecords(base: base, prefix: prefix))
        #expect(batch.storedRecordsBytes < batch.recordsBytes)
    }

    @Test("kafka-python writes snappy in the xerial framing: magic, versions 1 and 1, one block of 156 bytes")
    func kafkaPythonSnappyIsXerialFramed() throws {
        let bytes = try Fixtures.bytes("fixtures/interop/snappy-batch.bin")
        let section = Array(bytes[RecordBatchHeader.size...])
        #expect(Array(section.prefix(16)) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        #expect(Array(section[16..<20]) == [0, 0, 0, 156])
        #expect(section.count == 20 + 156)
    }

    @Test("Spool's own gzip and snappy encodings of the README's records read back, as kafka-python's do")
    func spoolEncodesTheSameRecords() throws {
        for codec in [CompressionCodec.gzip, .snappy] {
            let expected = Self.describedRecords(base: 2000, prefix: "gzip")
            let inputs = expected.map { RecordInput(value: $0.value, key: $0.key, headers: $0.headers, timestamp: $0.timestamp) }
            let bytes = try Samples.batch(inputs, baseOffset: 2000, codec: codec)
            let batch = try Samples.decode(bytes)
            #expect(batch.records == expected)
            // The header fields other than CRC, length and codec are what kafka-python wrote.
            let theirs = try Samples.header(try Fixtures.bytes("fixtures/interop/gzip-batch.bin"))
            #expect(batch.header.baseTimestamp == theirs.baseTimestamp && batch.header.maxTimestamp == theirs.maxTimestamp)
            #expect(batch.header.lastOffsetDelta == theirs.lastOffsetDelta && batch.header.producerId == theirs.producerId)
        }
    }
}
