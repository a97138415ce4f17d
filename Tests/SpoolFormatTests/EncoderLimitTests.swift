import SpoolFormat
import SpoolTesting
import Testing

/// The encoder refuses what the decoder would refuse, before touching its output.
struct EncoderLimitTests {
    private func encodeError(
        _ records: [RecordInput], baseOffset: Int64 = 0, codec: CompressionCodec = .none,
        limits: FormatLimits = .default
    ) -> FormatError? {
        var out: [UInt8] = [1, 2, 3]
        do {
            try RecordBatchEncoder.encode(records, baseOffset: baseOffset, codec: codec, limits: limits, into: &out)
            return nil
        } catch {
            #expect(out == [1, 2, 3], "out must be unchanged when encode throws")
            return error
        }
    }

    @Test("a record one byte above recordBytesMax is refused with limitExceeded and out is untouched", arguments: Samples.supportedCodecs)
    func recordAboveLimit(codec: CompressionCodec) {
        let limit = FormatLimits.default.recordBytesMax
        let fits = Samples.largestValue(recordBytesMax: limit)
        let record = RecordInput(value: [UInt8](repeating: 7, count: fits + 1), timestamp: 0)
        #expect(encodeError([record], codec: codec) == .limitExceeded(what: "bytes of record 0", value: limit + 1, limit: limit))
    }

    @Test("a record exactly at recordBytesMax is accepted")
    func recordAtLimit() {
        let limits = FormatLimits(recordBytesMax: 300)
        let record = RecordInput(value: [UInt8](repeating: 7, count: 300 - 5 - 2), timestamp: 0)
        #expect(encodeError([record], limits: limits) == nil)
        #expect(Samples.largestValue(recordBytesMax: 300) == 300 - 5 - 2)
    }

    @Test("zero records are refused: an empty batch cannot be encoded")
    func zeroRecords() {
        #expect(encodeError([]) == .limitExceeded(
            what: "records in a batch (at least 1 is needed)", value: 0, limit: FormatLimits.default.recordsPerBatchMax))
    }

    @Test("more records than recordsPerBatchMax are refused")
    func tooManyRecords() {
        let records = Samples.records(count: 11, valueBytes: 1)
        #expect(encodeError(records, limits: FormatLimits(recordsPerBatchMax: 10))
            == .batchTooLarge(what: "records in a batch", value: 11, limit: 10))
    }

    @Test("more headers than headersPerRecordMax are refused")
    func tooManyHeaders() {
        let headers = (0..<65).map { RecordHeader(name: "h\($0)", value: nil) }
        #expect(encodeError([RecordInput(value: nil, headers: headers, timestamp: 0)], limits: FormatLimits(headersPerRecordMax: 64))
            == .limitExceeded(what: "headers on record 0", value: 65, limit: 64))
    }

    @Test("a batch above batchBytesMax is refused, compressed or not")
    func batchAboveLimit() {
        let records = (0..<20).map { _ in RecordInput(value: [UInt8](repeating: 1, count: 100), timestamp: 0) }
        let limits = FormatLimits(batchBytesMax: 1_000)
        guard case .batchTooLarge(what: "batch bytes", let value, limit: 1_000) = encodeError(records, limits: limits) else {
            Issue.record("expected a batch-size limit")
            return
        }
        #expect(value > 1_000)
        let incompressible: [RecordInput] = {
            var random = SplitMix64(seed: 3)
            return (0..<20).map { _ in
                RecordInput(value: (0..<100).map { _ in UInt8(truncatingIfNeeded: random.next()) }, timestamp: 0)
            }
        }()
        for codec in [CompressionCodec.lz4, .zstd] {
            guard case .batchTooLarge(what: "batch bytes after compression", _, limit: 1_000) =
                encodeError(incompressible, codec: codec, limits: limits)
            else {
                Issue.record("expected a compressed batch-size limit for \(codec)")
                continue
            }
        }
    }

    @Test("a records section above decompressedBytesMax is refused before compressing, so every batch written can be read")
    func sectionAboveDecompressedLimit() {
        let records = (0..<10).map { _ in RecordInput(value: [UInt8](repeating: 0, count: 1_000), timestamp: 0) }
        let limits = FormatLimits(decompressedBytesMax: 5_000)
        guard case .batchTooLarge(what: "records section bytes before compression", _, limit: 5_000) =
            encodeError(records, codec: .zstd, limits: limits)
        else {
            Issue.record("expected the decompressed-size limit")
            return
        }
    }

    @Test("a negative base offset, or one leaving no room for the batch's offsets, is refused")
    func badBaseOffsets() {
        let records = Samples.records(count: 3)
        for baseOffset in [-1, Int64.min, Int64.max - 2, Int64.max] {
            guard case .malformedRecord(index: -1, position: 0, _) = encodeError(records, baseOffset: baseOffset) else {
                Issue.record("expected a refusal for \(baseOffset)")
                continue
            }
        }
        #expect(encodeError(records, baseOffset: Int64.max - 3) == nil)
    }

    @Test("timestamps too far apart for an Int64 delta are refused")
    func timestampDeltaOverflow() {
        let records = [RecordInput(value: nil, timestamp: Int64.max), RecordInput(value: nil, timestamp: Int64.min)]
        guard case .malformedRecord(index: 1, _, let reason) = encodeError(records) else {
            Issue.record("expected malformedRecord")
            return
        }
        #expect(reason.contains("too far"))
    }

    @Test("absurd limits (negative or zero) refuse everything without trapping")
    func absurdLimits() {
        let records = Samples.records(count: 2)
        let negative = FormatLimits(
            recordBytesMax: -1, batchBytesMax: Int.min, recordsPerBatchMax: -1, decompressedBytesMax: -1,
            headersPerRecordMax: -1)
        #expect(encodeError(records, limits: negative) != nil)
        #expect(encodeError(records, limits: FormatLimits(batchBytesMax: Int.min)) != nil)
        #expect(encodeError(records, codec: .zstd, limits: FormatLimits(decompressedBytesMax: Int.min)) != nil)
        let bytes = (try? Samples.batch(records)) ?? []
        #expect((try? Samples.decode(bytes, limits: negative)) == nil)
    }
}
