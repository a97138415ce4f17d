import SpoolFormat
import SpoolTesting
import Testing

/// The 61-byte header on its own: the cheap look a log scan takes at a position.
struct RecordBatchHeaderTests {
    private func headerError(_ bytes: [UInt8], limits: FormatLimits = .default) -> FormatError? {
        do {
            _ = try Samples.header(bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    private func sample() throws -> [UInt8] {
        try Samples.batch(Samples.records(count: 4), baseOffset: 10, codec: .zstd)
    }

    @Test("the derived values follow the fields: totalBytes, lastOffset, nextOffset, codec bits and flags")
    func derivedValues() throws {
        let header = RecordBatchHeader(
            baseOffset: 100, batchLength: 200, crc: 0, attributes: 0x0B, lastOffsetDelta: 9,
            baseTimestamp: 1, maxTimestamp: 2, recordCount: 10)
        #expect(header.totalBytes == 212)
        #expect(header.lastOffset == 109)
        #expect(header.nextOffset == 110)
        #expect(header.codecBits == 3)
        #expect(try header.codec() == .lz4)
        #expect(header.isLogAppendTime)
        #expect(!header.isTransactional)
        #expect(!header.isControlBatch)
        #expect(header.producerId == -1 && header.producerEpoch == -1 && header.baseSequence == -1)
    }

    @Test("a hand-made header with extreme fields wraps its derived offsets instead of trapping")
    func derivedValuesNeverTrap() {
        let header = RecordBatchHeader(
            baseOffset: Int64.max, batchLength: Int32.max, crc: 0, attributes: -1, lastOffsetDelta: Int32.max,
            baseTimestamp: 0, maxTimestamp: 0, recordCount: 0)
        #expect(header.lastOffset < 0)
        #expect(header.totalBytes == 12 + Int(Int32.max))
        #expect(header.codecBits == 7)
        #expect(throws: FormatError.invalidCodec(7)) { try header.codec() }
        #expect(header.isControlBatch && header.isTransactional)
    }

    @Test("decode reads the header at the start of a buffer that holds more, without needing the rest")
    func decodesFromLongerAndShorterBuffers() throws {
        let bytes = try sample()
        let full = try Samples.header(bytes)
        #expect(try Samples.header(bytes + bytes) == full)
        #expect(try Samples.header(Array(bytes.prefix(61))) == full)
        #expect(full.baseOffset == 10)
        #expect(full.recordCount == 4)
        #expect(full.totalBytes == bytes.count)
    }

    @Test("fewer than 61 bytes give truncated(needed: 61)")
    func shortBuffers() throws {
        let bytes = try sample()
        for count in 0..<61 {
            #expect(headerError(Array(bytes.prefix(count))) == .truncated(needed: 61, available: count))
        }
    }

    @Test("a batch larger than batchBytesMax is refused with badBatchLength")
    func batchAboveLimit() throws {
        let bytes = try sample()
        let header = try Samples.header(bytes)
        #expect(headerError(bytes, limits: FormatLimits(batchBytesMax: bytes.count)) == nil)
        #expect(headerError(bytes, limits: FormatLimits(batchBytesMax: bytes.count - 1)) == .badBatchLength(header.batchLength))
    }

    @Test("a recordCount that is negative or above recordsPerBatchMax is refused with badRecordCount")
    func recordCountLimits() throws {
        let bytes = try sample()
        #expect(headerError(bytes, limits: FormatLimits(recordsPerBatchMax: 3)) == .badRecordCount(4))
        let negative = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.recordCountPosition, Int32(-1))
        #expect(headerError(negative) == .badRecordCount(-1))
    }

    @Test("a lastOffsetDelta that is negative or below recordCount - 1 is refused with badRecordCount")
    func lastOffsetDeltaChecks() throws {
        let bytes = try sample()
        for delta: Int32 in [-1, 0, 2, Int32.min] {
            let damaged = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.lastOffsetDeltaPosition, delta)
            #expect(headerError(damaged) == .badRecordCount(4))
        }
        let larger = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.lastOffsetDeltaPosition, Int32(50))
        #expect(headerError(larger) == nil)
    }

    @Test("a negative baseOffset, or one whose last offset would overflow, is refused")
    func baseOffsetRange() throws {
        let bytes = try sample()
        for base in [Int64(-1), Int64.min, Int64.max, Int64.max - 3] {
            let damaged = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.baseOffsetPosition, base)
            guard case .malformedRecord(index: -1, position: 0, _) = headerError(damaged) else {
                Issue.record("expected a refusal of \(base)")
                continue
            }
        }
        let highest = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.baseOffsetPosition, Int64.max - 4)
        #expect(try Samples.header(highest).nextOffset == Int64.max)
    }

    @Test("the minimum batchLength 49 is accepted and 48 refused")
    func minimumLength() {
        let empty = Samples.rawBatch(section: [], recordCount: 0)
        #expect(headerError(empty) == nil)
        #expect(headerError(ByteMutator.setBigEndian(empty, at: 8, Int32(48))) == .badBatchLength(48))
    }

    @Test("verifyCRC alone accepts a good batch and names what is wrong with a bad one")
    func verifyCRC() throws {
        let bytes = try sample()
        let header = try Samples.header(bytes)
        try bytes.withUnsafeBytes { try RecordBatchDecoder.verifyCRC($0, header: header) }
        let short = Array(bytes.dropLast())
        #expect(throws: FormatError.truncated(needed: bytes.count, available: bytes.count - 1)) {
            try short.withUnsafeBytes { try RecordBatchDecoder.verifyCRC($0, header: header) }
        }
        var wrong = header
        wrong.crc ^= 1
        #expect(throws: FormatError.crcMismatch(stored: wrong.crc, computed: header.crc)) {
            try bytes.withUnsafeBytes { try RecordBatchDecoder.verifyCRC($0, header: wrong) }
        }
        var impossible = header
        impossible.batchLength = -20
        #expect(throws: FormatError.badBatchLength(-20)) {
            try bytes.withUnsafeBytes { try RecordBatchDecoder.verifyCRC($0, header: impossible) }
        }
    }
}
