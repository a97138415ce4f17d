import SpoolFormat
import SpoolTesting
import Testing

/// Whatever the encoder writes, the decoder gives back unchanged, in every codec.
struct RoundTripTests {
    @discardableResult
    private func roundTrip(
        _ inputs: [RecordInput], baseOffset: Int64 = 0, codec: CompressionCodec,
        limits: FormatLimits = .default
    ) throws -> RecordBatch {
        let bytes = try Samples.batch(inputs, baseOffset: baseOffset, codec: codec, limits: limits)
        let batch = try Samples.decode(bytes, limits: limits)
        #expect(batch.header.totalBytes == bytes.count)
        #expect(batch.records == Samples.expected(inputs, baseOffset: baseOffset))
        return batch
    }

    @Test("null keys, null values and empty values survive a round trip", arguments: Samples.supportedCodecs)
    func nullsAndEmpties(codec: CompressionCodec) throws {
        let inputs = [
            RecordInput(value: nil, key: nil, timestamp: 1),
            RecordInput(value: [], key: nil, timestamp: 2),
            RecordInput(value: nil, key: [], timestamp: 3),
            RecordInput(value: [], key: [], timestamp: 4),
            RecordInput(value: [0], key: [0xFF], timestamp: 5),
        ]
        let batch = try roundTrip(inputs, codec: codec)
        #expect(batch.records[0].value == nil)
        #expect(batch.records[1].value == [])
    }

    @Test("headers with null values, empty values, unicode names and repeated names survive", arguments: Samples.supportedCodecs)
    func headers(codec: CompressionCodec) throws {
        let headers = [
            RecordHeader(name: "spool.attempt", value: Array("3".utf8)),
            RecordHeader(name: "null-value", value: nil),
            RecordHeader(name: "empty-value", value: []),
            RecordHeader(name: "", value: [1, 2, 3]),
            RecordHeader(name: "ключ-鍵-🔑", value: Array("значение".utf8)),
            RecordHeader(name: "spool.attempt", value: Array("4".utf8)),
        ]
        try roundTrip([RecordInput(value: Array("v".utf8), headers: headers, timestamp: 10)], codec: codec)
    }

    @Test("negative, zero, extreme and decreasing timestamps survive", arguments: Samples.supportedCodecs)
    func timestamps(codec: CompressionCodec) throws {
        let inputs = [0, -1, Int64.max, Int64.min, 1_763_900_000_000, -1_763_900_000_000].map {
            RecordInput(value: [1], timestamp: $0)
        }
        let batch = try roundTrip(inputs, codec: codec)
        #expect(batch.header.baseTimestamp == 0)
        #expect(batch.header.maxTimestamp == Int64.max)
    }

    @Test("a batch of one record and a batch of 5,000 records survive", arguments: Samples.supportedCodecs)
    func recordCounts(codec: CompressionCodec) throws {
        for count in [1, 5_000] {
            let batch = try roundTrip(Samples.records(count: count, valueBytes: 20), baseOffset: 7, codec: codec)
            #expect(batch.header.recordCount == Int32(count))
            #expect(batch.header.lastOffset == 7 + Int64(count) - 1)
        }
    }

    @Test("values of 0, 1, 127, 128, 16383, 16384 bytes and the largest a 1 MiB record allows (Kafka's default request size) survive",
          arguments: Samples.supportedCodecs)
    func valueSizes(codec: CompressionCodec) throws {
        let largest = Samples.largestValue(recordBytesMax: 1 << 20)
        var random = SplitMix64(seed: 42)
        for size in [0, 1, 127, 128, 16_383, 16_384, largest] {
            let value = (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try roundTrip([RecordInput(value: value, timestamp: 99)], codec: codec)
        }
    }

    @Test("offsets count up from the base offset and timestamps are absolute")
    func absoluteOffsets() throws {
        let inputs = Samples.records(count: 30)
        let batch = try roundTrip(inputs, baseOffset: 1_000_000_000_000, codec: .none)
        #expect(batch.records.map(\.offset) == (0..<30).map { 1_000_000_000_000 + Int64($0) })
        #expect(batch.header.nextOffset == 1_000_000_000_030)
    }

    @Test("the fixed header fields are the ones FORMAT.md says Spool writes", arguments: Samples.supportedCodecs)
    func fixedFields(codec: CompressionCodec) throws {
        let inputs = [500, 900, 100].map { RecordInput(value: [1], timestamp: Int64($0)) }
        let header = try roundTrip(inputs, baseOffset: 12, codec: codec).header
        #expect(header.baseOffset == 12)
        #expect(header.partitionLeaderEpoch == 0)
        #expect(header.magic == 2)
        #expect(header.attributes == Int16(codec.rawValue))
        #expect(try header.codec() == codec)
        #expect(header.lastOffsetDelta == 2)
        #expect(header.baseTimestamp == 500)
        #expect(header.maxTimestamp == 900)
        #expect(header.producerId == -1)
        #expect(header.producerEpoch == -1)
        #expect(header.baseSequence == -1)
        #expect(header.recordCount == 3)
    }

    @Test("encode appends after existing bytes and returns the batch's size, so batches can be written back to back")
    func appendsBackToBack() throws {
        var out: [UInt8] = [0xAA, 0xBB]
        let first = try RecordBatchEncoder.encode(Samples.records(count: 3), baseOffset: 0, into: &out)
        let second = try RecordBatchEncoder.encode(Samples.records(count: 4, seed: 2), baseOffset: 3, codec: .zstd, into: &out)
        #expect(out.count == 2 + first + second)
        #expect(Array(out.prefix(2)) == [0xAA, 0xBB])
        let one = try Samples.decode(Array(out[2...]))
        #expect(one.records.count == 3)
        let two = try Samples.decode(Array(out[(2 + first)...]))
        #expect(two.records.map(\.offset) == [3, 4, 5, 6])
    }

    @Test("patching the base offset restamps every record's offset and keeps the CRC valid")
    func patchBaseOffset() throws {
        var bytes = try Samples.batch(Samples.records(count: 5), baseOffset: 0, codec: .lz4)
        bytes.withUnsafeMutableBytes { RecordBatchEncoder.patchBaseOffset(4_242, in: $0) }
        let batch = try Samples.decode(bytes)
        #expect(batch.header.baseOffset == 4_242)
        #expect(batch.records.map(\.offset) == [4_242, 4_243, 4_244, 4_245, 4_246])
    }

    @Test("compression levels change the bytes but not the records", arguments: [
        (CompressionCodec.zstd, 1), (.zstd, 19), (.zstd, -5), (.zstd, 1_000), (.lz4, 9), (.lz4, -1),
    ])
    func compressionLevels(codec: CompressionCodec, level: Int) throws {
        let inputs = Samples.records(count: 40)
        var out: [UInt8] = []
        try RecordBatchEncoder.encode(inputs, baseOffset: 0, codec: codec, compressionLevel: level, into: &out)
        #expect(try Samples.decode(out).records == Samples.expected(inputs, baseOffset: 0))
    }

    @Test("repetitive payloads really are compressed by lz4 and zstd")
    func compressionShrinks() throws {
        let inputs = (0..<100).map { RecordInput(value: Array(repeating: 0x41, count: 200), timestamp: Int64($0)) }
        let plain = try Samples.batch(inputs, codec: .none).count
        for codec in [CompressionCodec.lz4, .zstd] {
            let compressed = try Samples.batch(inputs, codec: codec)
            #expect(compressed.count < plain / 4, "\(codec)")
            #expect(try Samples.decode(compressed).records == Samples.expected(inputs, baseOffset: 0))
        }
    }

    @Test("a batch encoded by Spool from the kafka-python records equals kafka-python's batch byte for byte")
    func sameBytesAsKafkaPython() throws {
        let segment = try Fixtures.bytes("fixtures/interop/00000000000000001000.log")
        let kafkaBatch = try Samples.decode(segment)
        let inputs = kafkaBatch.records.map {
            RecordInput(value: $0.value, key: $0.key, headers: $0.headers, timestamp: $0.timestamp)
        }
        let ours = try Samples.batch(inputs, baseOffset: kafkaBatch.header.baseOffset, codec: .none)
        #expect(ours == Array(segment.prefix(kafkaBatch.header.totalBytes)))
    }
}
