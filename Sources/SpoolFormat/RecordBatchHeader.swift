/// The fixed 61-byte header at the start of every Kafka RecordBatch v2 (FORMAT.md,
/// "Batch header"). All fields are big-endian on disk.
///
/// `decode` is the cheap first look a log reader takes at a position: it says how long the
/// batch is and which offsets it holds without reading or checking the rest. Use
/// `RecordBatchDecoder` to check the CRC and read the records. A plain value type, safe to share
/// between threads.
public struct RecordBatchHeader: Sendable, Equatable {
    // MARK: Layout constants (FORMAT.md, "Batch header")

    /// Bytes in the header, from `baseOffset` through `recordCount`. FORMAT.md, "Batch header".
    public static let size = 61
    /// `baseOffset` (8) + `batchLength` (4): the bytes that `batchLength` does not count.
    /// FORMAT.md, "Batch header".
    public static let lengthFieldEnd = 12
    /// Position of `attributes`: the CRC covers from here to the end of the batch.
    /// FORMAT.md, "CRC".
    public static let crcCoverageStart = 21
    /// The smallest legal `batchLength`: the header after the length field, with no records.
    /// FORMAT.md, "Batch header" and "Checks a reader makes".
    public static let minimumBatchLength: Int32 = Int32(size - lengthFieldEnd)
    /// The only magic value Spool reads and writes (RecordBatch v2). FORMAT.md, "Batch header".
    public static let currentMagic: Int8 = 2

    /// Byte positions of the fields inside the header, as in the table of FORMAT.md,
    /// "Batch header".
    public static let baseOffsetPosition = 0
    public static let batchLengthPosition = 8
    public static let partitionLeaderEpochPosition = 12
    public static let magicPosition = 16
    public static let crcPosition = 17
    public static let attributesPosition = 21
    public static let lastOffsetDeltaPosition = 23
    public static let baseTimestampPosition = 27
    public static let maxTimestampPosition = 35
    public static let producerIdPosition = 43
    public static let producerEpochPosition = 51
    public static let baseSequencePosition = 53
    public static let recordCountPosition = 57

    // MARK: Attribute bits (FORMAT.md, "Attributes")

    /// Bits 0-2: the compression codec. FORMAT.md, "Attributes" and "Compression".
    public static let codecMask: Int16 = 0x07
    /// Bit 3: timestamps are LogAppendTime (every record takes `maxTimestamp`).
    public static let logAppendTimeFlag: Int16 = 0x08
    /// Bit 4: the batch belongs to a Kafka transaction.
    public static let transactionalFlag: Int16 = 0x10
    /// Bit 5: a Kafka control batch (transaction markers), not application data.
    public static let controlFlag: Int16 = 0x20

    // MARK: Fields, in disk order

    /// The offset of the first record. Not covered by the CRC, so the writer can stamp it last.
    public var baseOffset: Int64
    /// Bytes after this field: `totalBytes - 12`.
    public var batchLength: Int32
    /// Kafka's leader epoch; Spool writes 0.
    public var partitionLeaderEpoch: Int32
    /// Always 2.
    public var magic: Int8
    /// CRC-32C of bytes `21..<totalBytes`.
    public var crc: UInt32
    /// Codec and flags (FORMAT.md, "Attributes").
    public var attributes: Int16
    /// Offset of the last record minus `baseOffset`.
    public var lastOffsetDelta: Int32
    /// The first record's timestamp (ms).
    public var baseTimestamp: Int64
    /// The largest record timestamp (ms).
    public var maxTimestamp: Int64
    /// Kafka idempotent producer id; Spool writes -1.
    public var producerId: Int64
    /// Kafka producer epoch; Spool writes -1.
    public var producerEpoch: Int16
    /// Kafka producer sequence; Spool writes -1.
    public var baseSequence: Int32
    /// Records in the batch.
    public var recordCount: Int32

    public init(
        baseOffset: Int64, batchLength: Int32, partitionLeaderEpoch: Int32 = 0,
        magic: Int8 = RecordBatchHeader.currentMagic, crc: UInt32, attributes: Int16,
        lastOffsetDelta: Int32, baseTimestamp: Int64, maxTimestamp: Int64,
        producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        recordCount: Int32
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    // MARK: Derived values

    /// The whole batch on disk: `12 + batchLength`.
    public var totalBytes: Int { Self.lengthFieldEnd + Int(batchLength) }
    /// The offset of the last record: `baseOffset + lastOffsetDelta`. Never overflows for a
    /// header returned by `decode`; wraps rather than traps for a hand-made one.
    public var lastOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) }
    /// The offset the next batch in the log starts at: `lastOffset + 1`.
    public var nextOffset: Int64 { lastOffset &+ 1 }
    /// The raw codec bits, `attributes & 7`, whether or not they name a supported codec.
    public var codecBits: Int { Int(attributes & Self.codecMask) }
    /// True when the batch uses LogAppendTime: every record's timestamp is `maxTimestamp`.
    public var isLogAppendTime: Bool { attributes & Self.logAppendTimeFlag != 0 }
    /// True for a Kafka transactional batch. Spool never writes one.
    public var isTransactional: Bool { attributes & Self.transactionalFlag != 0 }
    /// True for a Kafka control batch (transaction markers rather than data). Spool never writes
    /// one; a reader of foreign segments should skip such batches.
    public var isControlBatch: Bool { attributes & Self.controlFlag != 0 }

    /// The batch's codec.
    ///
    /// - Throws: `FormatError.invalidCodec` for bits 5, 6 and 7 (`FormatError.unsupportedCodec`
    ///   for a codec this build cannot handle: none today).
    public func codec() throws(FormatError) -> CompressionCodec {
        try CompressionCodec(attributes: attributes)
    }

    // MARK: Decoding

    /// Parses and sanity-checks the 61-byte header at the start of `bytes`, which may hold more.
    ///
    /// Checks, in this order (FORMAT.md, "Checks a reader makes"):
    /// at least 61 bytes; magic is 2; `49 <= batchLength` and `12 + batchLength <=
    /// limits.batchBytesMax`; `0 <= recordCount <= limits.recordsPerBatchMax`;
    /// `lastOffsetDelta >= 0` and `lastOffsetDelta >= recordCount - 1`; `baseOffset >= 0` and
    /// `baseOffset + lastOffsetDelta + 1` fits an Int64. It does not check the CRC or the codec
    /// and does not need the rest of the batch.
    ///
    /// - Throws: `.truncated` with fewer than 61 bytes, `.badMagic`, `.badBatchLength`,
    ///   `.badRecordCount`, or `.malformedRecord` with index -1 for an impossible `baseOffset`.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, limits: FormatLimits = .default
    ) throws(FormatError) -> RecordBatchHeader {
        guard bytes.count >= size else {
            throw .truncated(needed: size, available: bytes.count)
        }
        let header = RecordBatchHeader(
            baseOffset: bytes.bigEndian(Int64.self, at: baseOffsetPosition),
            batchLength: bytes.bigEndian(Int32.self, at: batchLengthPosition),
            partitionLeaderEpoch: bytes.bigEndian(Int32.self, at: partitionLeaderEpochPosition),
            magic: bytes.bigEndian(Int8.self, at: magicPosition),
            crc: bytes.bigEndian(UInt32.self, at: crcPosition),
            attributes: bytes.bigEndian(Int16.self, at: attributesPosition),
            lastOffsetDelta: bytes.bigEndian(Int32.self, at: lastOffsetDeltaPosition),
            baseTimestamp: bytes.bigEndian(Int64.self, at: baseTimestampPosition),
            maxTimestamp: bytes.bigEndian(Int64.self, at: maxTimestampPosition),
            producerId: bytes.bigEndian(Int64.self, at: producerIdPosition),
            producerEpoch: bytes.bigEndian(Int16.self, at: producerEpochPosition),
            baseSequence: bytes.bigEndian(Int32.self, at: baseSequencePosition),
            recordCount: bytes.bigEndian(Int32.self, at: recordCountPosition))
        try header.validate(limits: limits)
        return header
    }

    /// The checks `decode` makes after reading the fields; see there.
    func validate(limits: FormatLimits) throws(FormatError) {
        guard magic == Self.currentMagic else { throw .badMagic(magic) }
        guard batchLength >= Self.minimumBatchLength, totalBytes <= limits.batchBytesMax else {
            throw .badBatchLength(batchLength)
        }
        guard recordCount >= 0, Int(recordCount) <= limits.recordsPerBatchMax,
            lastOffsetDelta >= 0, lastOffsetDelta >= recordCount - 1
        else {
            throw .badRecordCount(recordCount)
        }
        guard baseOffset >= 0, baseOffset < Int64.max - Int64(lastOffsetDelta) else {
            throw .malformedRecord(
                index: -1, position: Self.baseOffsetPosition,
                reason: "baseOffset \(baseOffset) with lastOffsetDelta \(lastOffsetDelta) is outside 0..<Int64.max")
        }
    }

    // MARK: Encoding

    /// Writes all 61 header bytes, CRC included as stored in `crc`, at the start of `buffer`.
    /// The caller guarantees `buffer.count >= 61`.
    func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.size, "header needs 61 bytes")
        buffer.storeBigEndian(baseOffset, at: Self.baseOffsetPosition)
        buffer.storeBigEndian(batchLength, at: Self.batchLengthPosition)
        buffer.storeBigEndian(partitionLeaderEpoch, at: Self.partitionLeaderEpochPosition)
        buffer.storeBigEndian(magic, at: Self.magicPosition)
        buffer.storeBigEndian(crc, at: Self.crcPosition)
        buffer.storeBigEndian(attributes, at: Self.attributesPosition)
        buffer.storeBigEndian(lastOffsetDelta, at: Self.lastOffsetDeltaPosition)
        buffer.storeBigEndian(baseTimestamp, at: Self.baseTimestampPosition)
        buffer.storeBigEndian(maxTimestamp, at: Self.maxTimestampPosition)
        buffer.storeBigEndian(producerId, at: Self.producerIdPosition)
        buffer.storeBigEndian(producerEpoch, at: Self.producerEpochPosition)
        buffer.storeBigEndian(baseSequence, at: Self.baseSequencePosition)
        buffer.storeBigEndian(recordCount, at: Self.recordCountPosition)
    }
}
