import SpoolFormat
import SpoolTesting
import Testing

/// Damaged or hostile batches: the decoder throws the right FormatError and never crashes.
struct BadInputTests {
    static let validBatches: [CompressionCodec: [UInt8]] = {
        var batches: [CompressionCodec: [UInt8]] = [:]
        for codec in Samples.supportedCodecs {
            batches[codec] = try? Samples.batch(Samples.records(count: 12, valueBytes: 30), baseOffset: 100, codec: codec)
        }
        return batches
    }()

    static func valid(_ codec: CompressionCodec) throws -> [UInt8] {
        try #require(validBatches[codec])
    }

    private func decodeError(_ bytes: [UInt8], limits: FormatLimits = .default) -> FormatError? {
        do {
            _ = try Samples.decode(bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("every truncation of a valid batch throws truncated, never crashes", arguments: Samples.supportedCodecs)
    func everyTruncation(codec: CompressionCodec) throws {
        let bytes = try Self.valid(codec)
        for length in 0..<bytes.count {
            let error = decodeError(ByteMutator.truncate(bytes, to: length))
            if length < RecordBatchHeader.size {
                #expect(error == .truncated(needed: RecordBatchHeader.size, available: length))
            } else {
                #expect(error == .truncated(needed: bytes.count, available: length))
            }
        }
    }

    @Test("bytes after the batch are ignored")
    func trailingBytesIgnored() throws {
        let bytes = try Self.valid(.none)
        let batch = try Samples.decode(ByteMutator.extend(bytes, with: [2, 0, 0, 0, 7, 7, 7]))
        #expect(batch.records.count == 12)
    }

    @Test("a flipped bit in the CRC field gives crcMismatch with the stored and computed values")
    func crcFieldBitFlip() throws {
        let bytes = try Self.valid(.none)
        let header = try Samples.header(bytes)
        for position in RecordBatchHeader.crcPosition..<RecordBatchHeader.crcCoverageStart {
            for bit in 0..<8 {
                let damaged = ByteMutator.flipBit(bytes, at: position, bit: bit)
                let stored = try Samples.header(damaged).crc
                #expect(decodeError(damaged) == .crcMismatch(stored: stored, computed: header.crc))
            }
        }
    }

    @Test("a flipped bit in the magic byte gives badMagic")
    func magicBitFlip() throws {
        let bytes = try Self.valid(.none)
        for bit in 0..<8 {
            let damaged = ByteMutator.flipBit(bytes, at: RecordBatchHeader.magicPosition, bit: bit)
            #expect(decodeError(damaged) == .badMagic(Int8(bitPattern: 2 ^ (1 << UInt8(bit)))))
        }
    }

    @Test("a flipped bit in batchLength gives badBatchLength, truncated or crcMismatch", arguments: Samples.supportedCodecs)
    func batchLengthBitFlip(codec: CompressionCodec) throws {
        let bytes = try Self.valid(codec)
        for position in RecordBatchHeader.batchLengthPosition..<(RecordBatchHeader.batchLengthPosition + 4) {
            for bit in 0..<8 {
                let damaged = ByteMutator.flipBit(bytes, at: position, bit: bit)
                let error = try #require(decodeError(damaged))
                switch error {
                case .badBatchLength, .truncated, .crcMismatch: break
                default: Issue.record("unexpected \(error) at \(position) bit \(bit)")
                }
            }
        }
    }

    @Test("a flipped bit in any CRC-covered header field is caught by a header check or the CRC", arguments: Samples.supportedCodecs)
    func coveredHeaderBitFlip(codec: CompressionCodec) throws {
        let bytes = try Self.valid(codec)
        for position in RecordBatchHeader.crcCoverageStart..<RecordBatchHeader.size {
            for bit in 0..<8 {
                let error = try #require(decodeError(ByteMutator.flipBit(bytes, at: position, bit: bit)))
                switch error {
                case .crcMismatch, .badRecordCount, .malformedRecord(index: -1, _, _): break
                default: Issue.record("unexpected \(error) at \(position) bit \(bit)")
                }
            }
        }
    }

    @Test("a flipped bit in baseOffset or partitionLeaderEpoch, outside the CRC, shifts offsets or is refused, never crashes")
    func uncoveredHeaderBitFlip() throws {
        let bytes = try Self.valid(.none)
        for position in Array(0..<8) + Array(12..<16) {
            for bit in 0..<8 {
                let damaged = ByteMutator.flipBit(bytes, at: position, bit: bit)
                do {
                    let batch = try Samples.decode(damaged)
                    let base = batch.header.baseOffset
                    #expect(batch.records.map(\.offset) == (0..<12).map { base + Int64($0) })
                } catch {
                    // Only the sign bit of baseOffset can make the header impossible.
                    #expect(position == 0 && bit == 7)
                    guard case .malformedRecord(index: -1, position: 0, _) = error else {
                        Issue.record("unexpected \(error)")
                        continue
                    }
                }
            }
        }
    }

    @Test("a flipped bit anywhere in the records section gives crcMismatch", arguments: Samples.supportedCodecs)
    func recordsBitFlip(codec: CompressionCodec) throws {
        let bytes = try Self.valid(codec)
        for position in RecordBatchHeader.size..<bytes.count {
            for bit in [0, 3, 7] {
                let error = decodeError(ByteMutator.flipBit(bytes, at: position, bit: bit))
                guard case .crcMismatch = error else {
                    Issue.record("unexpected \(String(describing: error)) at \(position) bit \(bit)")
                    continue
                }
            }
        }
    }

    @Test("a batchLength pointing past the end of the bytes gives truncated")
    func lengthPastTheEnd() throws {
        let bytes = try Self.valid(.none)
        let longer = Int32(bytes.count - 12 + 100)
        let damaged = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.batchLengthPosition, longer)
        #expect(decodeError(damaged) == .truncated(needed: bytes.count + 100, available: bytes.count))
    }

    @Test("a batchLength of 0x7fffffff is refused as badBatchLength before anything is read or allocated")
    func hugeLength() throws {
        let bytes = try Self.valid(.none)
        let damaged = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.batchLengthPosition, Int32.max)
        #expect(decodeError(damaged) == .badBatchLength(Int32.max))
        let generous = FormatLimits(batchBytesMax: Int.max)
        #expect(decodeError(damaged, limits: generous) == .truncated(needed: 12 + Int(Int32.max), available: bytes.count))
    }

    @Test("a negative or too small batchLength is refused as badBatchLength")
    func smallLengths() throws {
        let bytes = try Self.valid(.none)
        for length: Int32 in [Int32.min, -1, 0, 48] {
            let damaged = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.batchLengthPosition, length)
            #expect(decodeError(damaged) == .badBatchLength(length))
        }
    }

    @Test("zero-filled space (preallocated log tail) is refused with badMagic, not a crash")
    func zeroFilled() {
        for count in [61, 62, 4_096] {
            #expect(decodeError([UInt8](repeating: 0, count: count)) == .badMagic(0))
        }
        // With a magic of 2 in zeroed space, the zero length is what gives it away.
        var zeros = [UInt8](repeating: 0, count: 128)
        zeros[RecordBatchHeader.magicPosition] = 2
        #expect(decodeError(zeros) == .badBatchLength(0))
    }

    @Test("random garbage of any length is refused, never decoded and never a crash")
    func garbage() {
        var random = SplitMix64(seed: 0x6A7B)
        for _ in 0..<500 {
            let count = random.below(3_000)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            #expect(decodeError(bytes) != nil)
        }
    }

    @Test("codec bits 5, 6 and 7 give invalidCodec", arguments: [5, 6, 7])
    func badCodecBits(bits: Int) throws {
        let bytes = try Self.valid(.none)
        let damaged = ByteMutator.reseal(ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.attributesPosition, Int16(bits)))
        let error = decodeError(damaged)
        #expect(error == .invalidCodec(bits))
        #expect(error?.description.contains("invalid codec bits \(bits)") == true)
    }

    @Test("codec bits 1 and 2 on an uncompressed section are read as gzip and snappy, and fail as such")
    func gzipAndSnappyBitsOnPlainRecords() throws {
        let bytes = try Self.valid(.none)
        for codec in [CompressionCodec.gzip, .snappy] {
            let relabelled = ByteMutator.reseal(ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.attributesPosition, Int16(codec.rawValue)))
            guard case .decompressionFailed(codec, _)? = decodeError(relabelled) else {
                Issue.record("\(codec): \(String(describing: decodeError(relabelled)))")
                continue
            }
        }
    }

    @Test("a recordCount one below or above the records present gives recordCountMismatch", arguments: Samples.supportedCodecs)
    func recordCountMismatch(codec: CompressionCodec) throws {
        let bytes = try Self.valid(codec)
        let fewer = ByteMutator.reseal(ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.recordCountPosition, Int32(11)))
        #expect(decodeError(fewer) == .recordCountMismatch(declared: 11, found: 12))
        var more = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.recordCountPosition, Int32(13))
        more = ByteMutator.reseal(ByteMutator.setBigEndian(more, at: RecordBatchHeader.lastOffsetDeltaPosition, Int32(12)))
        #expect(decodeError(more) == .recordCountMismatch(declared: 13, found: 12))
    }

    @Test("a recordCount far above what the section can hold is a mismatch, not a huge allocation")
    func absurdRecordCount() throws {
        let bytes = try Self.valid(.none)
        var damaged = ByteMutator.setBigEndian(bytes, at: RecordBatchHeader.recordCountPosition, Int32(1_000_000))
        damaged = ByteMutator.reseal(ByteMutator.setBigEndian(damaged, at: RecordBatchHeader.lastOffsetDeltaPosition, Int32(1_000_000)))
        #expect(decodeError(damaged) == .recordCountMismatch(declared: 1_000_000, found: 12))
    }

    @Test("an empty batch (49-byte length, no records) decodes to no records")
    func emptyBatch() throws {
        let batch = try Samples.decode(Samples.rawBatch(section: [], recordCount: 0))
        #expect(batch.records.isEmpty)
        #expect(batch.header.totalBytes == 61)
    }

    // MARK: Hand-made records

    @Test("an overlong record-length varint gives malformedRecord at its position")
    func overlongVarint() {
        let section: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x00] + Samples.minimalFields()
        let error = decodeError(Samples.rawBatch(section: section, recordCount: 1))
        guard case .malformedRecord(index: 0, position: 61, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(reason.contains("longer than 5 bytes"))
    }

    @Test("an overlong timestampDelta varlong gives malformedRecord")
    func overlongVarlong() {
        let fields: [UInt8] = [0] + [UInt8](repeating: 0xFF, count: 10) + [0x01, 0, 1, 1, 0]
        let error = decodeError(Samples.rawBatch(section: Samples.rawRecord(fields), recordCount: 1))
        guard case .malformedRecord(index: 0, position: 63, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(reason.contains("longer than 10 bytes"))
    }

    @Test("a 5-byte varint carrying bits beyond 32 gives malformedRecord")
    func varintOverflow() {
        var fields: [UInt8] = [0, 0]
        fields += [0x80, 0x80, 0x80, 0x80, 0x10]  // offsetDelta with bit 32 set
        fields += [1, 1, 0]
        let error = decodeError(Samples.rawBatch(section: Samples.rawRecord(fields), recordCount: 1))
        guard case .malformedRecord(index: 0, _, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(reason.contains("does not fit"))
    }

    @Test("a record length running past the records section gives malformedRecord")
    func recordLengthPastSection() {
        let section = Samples.rawRecord(Samples.minimalFields(), length: 40)
        let error = decodeError(Samples.rawBatch(section: section, recordCount: 1))
        guard case .malformedRecord(index: 0, position: 61, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(reason.contains("past the end"))
    }

    @Test("a record length shorter than its fields gives malformedRecord for the field that runs over")
    func recordLengthTooShort() {
        var fields: [UInt8] = [0, 0, 0, 1]
        Varint.encode(Int32(5), into: &fields)
        fields += Array("hello".utf8) + [0]
        let section = Samples.rawRecord(fields, length: Int32(fields.count - 3)) + [0, 0, 0]
        let error = decodeError(Samples.rawBatch(section: section, recordCount: 1))
        guard case .malformedRecord(index: 0, _, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(reason.contains("value"))
    }

    @Test("a record length longer than its fields gives malformedRecord")
    func recordLengthTooLong() {
        let fields = Samples.minimalFields() + [9, 9]
        let error = decodeError(Samples.rawBatch(section: Samples.rawRecord(fields), recordCount: 1))
        guard case .malformedRecord(index: 0, position: 61, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(reason.contains("leaves 2 bytes"))
    }

    @Test("a record length below the 6-byte minimum gives malformedRecord", arguments: [Int32(-7), -1, 0, 5])
    func recordLengthBelowMinimum(length: Int32) {
        let section = Samples.rawRecord(Samples.minimalFields(), length: length)
        let error = decodeError(Samples.rawBatch(section: section, recordCount: 1))
        guard case .malformedRecord(index: 0, position: 61, _) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
    }

    @Test("a record above recordBytesMax is refused on decode with limitExceeded")
    func recordAboveLimitOnDecode() throws {
        let inputs = [RecordInput(value: [UInt8](repeating: 1, count: 2_000), timestamp: 0)]
        let bytes = try Samples.batch(inputs)
        let limits = FormatLimits(recordBytesMax: 1_000)
        #expect(decodeError(bytes, limits: limits) == .limitExceeded(what: "bytes of record 0", value: 2_007, limit: 1_000))
    }

    @Test("more headers than headersPerRecordMax are refused on decode with limitExceeded")
    func tooManyHeadersOnDecode() throws {
        let headers = (0..<5).map { RecordHeader(name: "h\($0)", value: nil) }
        let bytes = try Samples.batch([RecordInput(value: nil, headers: headers, timestamp: 0)])
        let error = decodeError(bytes, limits: FormatLimits(headersPerRecordMax: 4))
        #expect(error == .limitExceeded(what: "headers on record 0", value: 5, limit: 4))
    }

    @Test("key and value lengths below -1 give malformedRecord")
    func negativeLengths() {
        let badKey: [UInt8] = [0, 0, 0, 3, 1, 0]  // key length -2
        let badValue: [UInt8] = [0, 0, 0, 1, 5, 0]  // value length -3
        for fields in [badKey, badValue] {
            let error = decodeError(Samples.rawBatch(section: Samples.rawRecord(fields), recordCount: 1))
            guard case .malformedRecord(index: 0, _, let reason) = error else {
                Issue.record("unexpected \(String(describing: error))")
                continue
            }
            #expect(reason.contains("below -1"))
        }
    }

    @Test("a negative header count, a null header name and a non-UTF-8 header name give malformedRecord")
    func badHeaders() {
        let negativeCount: [UInt8] = [0, 0, 0, 1, 1, 1]
        let nullName: [UInt8] = [0, 0, 0, 1, 1, 2, 1, 1]
        let badUTF8: [UInt8] = [0, 0, 0, 1, 1, 2, 4, 0xC3, 0x28, 1]
        for (fields, expected) in [(negativeCount, "negative"), (nullName, "cannot be null"), (badUTF8, "UTF-8")] {
            let error = decodeError(Samples.rawBatch(section: Samples.rawRecord(fields), recordCount: 1))
            guard case .malformedRecord(index: 0, _, let reason) = error else {
                Issue.record("unexpected \(String(describing: error))")
                continue
            }
            #expect(reason.contains(expected))
        }
    }

    @Test("offsetDeltas that repeat, go backwards or pass lastOffsetDelta give malformedRecord")
    func badOffsetDeltas() {
        let cases: [([Int32], Int32)] = [([0, 0], 1), ([1, 0], 1), ([0, 2], 1), ([-1, 0], 1)]
        for (deltas, last) in cases {
            let section = deltas.flatMap { Samples.rawRecord(Samples.minimalFields(offsetDelta: $0)) }
            let error = decodeError(Samples.rawBatch(section: section, recordCount: 2, lastOffsetDelta: last))
            guard case .malformedRecord(_, _, let reason) = error else {
                Issue.record("unexpected \(String(describing: error)) for \(deltas)")
                continue
            }
            #expect(reason.contains("offsetDelta"))
        }
    }

    @Test("offsetDeltas with gaps, as Kafka compaction leaves them, decode to their offsets")
    func gapsInOffsetDeltas() throws {
        let section = [0, 3, 7].flatMap { Samples.rawRecord(Samples.minimalFields(offsetDelta: $0)) }
        let batch = try Samples.decode(Samples.rawBatch(section: section, recordCount: 3, lastOffsetDelta: 9, baseOffset: 50))
        #expect(batch.records.map(\.offset) == [50, 53, 57])
        #expect(batch.header.nextOffset == 60)
    }

    @Test("a timestamp delta that overflows Int64 gives malformedRecord")
    func timestampOverflow() {
        var fields: [UInt8] = [0]
        Varint.encode(Int64.max, into: &fields)
        fields += [0, 1, 1, 0]
        let batch = Samples.rawBatch(section: Samples.rawRecord(fields), recordCount: 1, baseTimestamp: 10)
        guard case .malformedRecord(index: 0, _, let reason) = decodeError(batch) else {
            Issue.record("expected malformedRecord")
            return
        }
        #expect(reason.contains("overflows"))
    }

    @Test("LogAppendTime batches give every record the batch's maxTimestamp")
    func logAppendTime() throws {
        let section = [0, 1].flatMap { Samples.rawRecord(Samples.minimalFields(offsetDelta: $0)) }
        let bytes = Samples.rawBatch(
            section: section, recordCount: 2, attributes: RecordBatchHeader.logAppendTimeFlag,
            baseTimestamp: 5, maxTimestamp: 777)
        let batch = try Samples.decode(bytes)
        #expect(batch.header.isLogAppendTime)
        #expect(batch.records.map(\.timestamp) == [777, 777])
    }

    @Test("bytes after the last declared record that are not a record give malformedRecord")
    func leftoverGarbage() {
        let section = Samples.rawRecord(Samples.minimalFields()) + [0x7F, 0x7F]
        let error = decodeError(Samples.rawBatch(section: section, recordCount: 1))
        guard case .malformedRecord(index: 1, _, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(reason.contains("left over"))
    }
}
