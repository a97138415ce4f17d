import SpoolFormat
import SpoolTesting

/// Ready-made records and batches for the tests, all deterministic.
enum Samples {
    /// The codecs Spool reads and writes.
    static let supportedCodecs: [CompressionCodec] = [.none, .gzip, .snappy, .lz4, .zstd]

    /// `count` records with varied keys (some null), values (one null, one empty), headers and
    /// timestamps, built from `seed`.
    static func records(count: Int, valueBytes: Int = 64, seed: UInt64 = 1) -> [RecordInput] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { index in
            let value: [UInt8]? = switch index % 11 {
            case 3: nil
            case 7: []
            default: (0..<valueBytes).map { _ in UInt8(truncatingIfNeeded: random.next() % 40 + 65) }
            }
            let key: [UInt8]? = index % 5 == 0 ? nil : Array("key-\(index)".utf8)
            var headers: [RecordHeader] = []
            if index % 2 == 1 { headers.append(RecordHeader(name: "spool.attempt", value: Array("\(index % 4 + 1)".utf8))) }
            if index % 3 == 2 { headers.append(RecordHeader(name: "trace", value: nil)) }
            let timestamp = 1_763_900_000_000 + Int64(index) * 3 - Int64(random.next() % 5)
            return RecordInput(value: value, key: key, headers: headers, timestamp: timestamp)
        }
    }

    /// The largest value a record with a null key and no headers can carry under
    /// `recordBytesMax`: its body is attributes, timestampDelta 0, offsetDelta 0, key length -1
    /// and header count (one byte each), the value length varint and the value.
    static func largestValue(recordBytesMax: Int) -> Int {
        var size = recordBytesMax - 5 - Varint.int32MaxBytes
        while 5 + Varint.encodedSize(Int32(size + 1)) + size + 1 <= recordBytesMax { size += 1 }
        return size
    }

    /// One encoded batch.
    static func batch(
        _ records: [RecordInput], baseOffset: Int64 = 0, codec: CompressionCodec = .none,
        limits: FormatLimits = .default
    ) throws -> [UInt8] {
        var out: [UInt8] = []
        try RecordBatchEncoder.encode(records, baseOffset: baseOffset, codec: codec, limits: limits, into: &out)
        return out
    }

    static func decode(_ bytes: [UInt8], limits: FormatLimits = .default) throws(FormatError) -> RecordBatch {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try RecordBatchDecoder.decode(buffer, limits: limits) }
        }.get()
    }

    static func header(_ bytes: [UInt8], limits: FormatLimits = .default) throws(FormatError) -> RecordBatchHeader {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try RecordBatchHeader.decode(buffer, limits: limits) }
        }.get()
    }

    /// What decoding `inputs` encoded at `baseOffset` must give back.
    static func expected(_ inputs: [RecordInput], baseOffset: Int64) -> [Record] {
        inputs.enumerated().map { index, input in
            Record(
                offset: baseOffset + Int64(index), timestamp: input.timestamp, key: input.key,
                value: input.value, headers: input.headers)
        }
    }

    /// A batch around an arbitrary records section, with a correct CRC: the way to reach the
    /// record checks with hand-made record bytes.
    static func rawBatch(
        section: [UInt8], recordCount: Int32, lastOffsetDelta: Int32? = nil, attributes: Int16 = 0,
        baseOffset: Int64 = 0, baseTimestamp: Int64 = 1_000, maxTimestamp: Int64 = 1_000
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.baseOffsetPosition, baseOffset)
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.batchLengthPosition, Int32(49 + section.count))
        bytes[RecordBatchHeader.magicPosition] = 2
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.attributesPosition, attributes)
        bytes = ByteMutator.setBigEndian(
            bytes, at: RecordBatchHeader.lastOffsetDeltaPosition, lastOffsetDelta ?? max(recordCount - 1, 0))
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.baseTimestampPosition, baseTimestamp)
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.maxTimestampPosition, maxTimestamp)
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.producerIdPosition, Int64(-1))
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.producerEpochPosition, Int16(-1))
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.baseSequencePosition, Int32(-1))
        bytes = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.recordCountPosition, recordCount)
        return ByteMutator.reseal(bytes + section)
    }

    /// Hand-made record bytes: `fields` are the bytes after the length varint, which is
    /// computed here unless `length` overrides it.
    static func rawRecord(_ fields: [UInt8], length: Int32? = nil) -> [UInt8] {
        var out: [UInt8] = []
        Varint.encode(length ?? Int32(fields.count), into: &out)
        return out + fields
    }

    /// The fields of a minimal record: attributes 0, timestampDelta 0, the given offsetDelta,
    /// null key, null value, no headers.
    static func minimalFields(offsetDelta: Int32 = 0) -> [UInt8] {
        var out: [UInt8] = [0, 0]
        Varint.encode(offsetDelta, into: &out)
        return out + [1, 1, 0]
    }
}
