/// Reads and fully checks Kafka RecordBatch v2 batches (FORMAT.md, "Checks a reader makes").
///
/// Any bytes may be passed in: the decoder returns a batch or throws a `FormatError`, and never
/// reads outside `bytes` nor allocates beyond `FormatLimits`. Stateless: calls are independent
/// and safe from any thread.
public enum RecordBatchDecoder {
    /// Checks the whole batch at the start of `bytes` (exactly `header.totalBytes` or more; extra
    /// bytes are ignored) and returns its records with absolute offsets and timestamps.
    ///
    /// Checks, in order: the header (`RecordBatchHeader.decode`), that all `totalBytes` are
    /// present, the CRC-32C, the codec, decompression within `limits.decompressedBytesMax`, then
    /// every record: lengths within the section and within `limits.recordBytesMax`, bounded
    /// varints, offsetDeltas strictly increasing from 0 up to at most `lastOffsetDelta`,
    /// timestamps that fit an Int64, at most `limits.headersPerRecordMax` headers with UTF-8
    /// names, exactly `recordCount` records and no bytes left over.
    ///
    /// - Throws: any `FormatError`: `.truncated` when `bytes` is shorter than the batch,
    ///   `.crcMismatch(stored:computed:)`, `.unsupportedCodec`, `.invalidCodec`,
    ///   `.decompressionFailed`, `.dictionaryMissing`, `.limitExceeded`, `.malformedRecord`, `.recordCountMismatch`,
    ///   and the header errors listed on `RecordBatchHeader.decode`.
    ///
    /// `context` keeps decompression state and buffers between calls (a reader's); without one,
    /// each compressed batch gets a temporary context, and frames made with a zstd dictionary
    /// fail with `.dictionaryMissing`.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, limits: FormatLimits = .default, context: DecompressionContext? = nil
    ) throws(FormatError) -> RecordBatch {
        let header = try RecordBatchHeader.decode(bytes, limits: limits)
        try verifyCRC(bytes, header: header)
        let codec = try header.codec()
        let section = UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.size..<header.totalBytes])
        let records: [Record]
        var recordsBytes = section.count
        if codec == .none {
            records = try RecordsSectionReader.read(
                section, header: header, limits: limits, positionBase: RecordBatchHeader.size, compressed: false)
        } else {
            records = try BatchDecompressor.withDecompressed(
                section, codec: codec, limit: limits.decompressedBytesMax, context: context
            ) {
                plain throws(FormatError) in
                recordsBytes = plain.count
                return try RecordsSectionReader.read(
                    plain, header: header, limits: limits, positionBase: 0, compressed: true)
            }
        }
        return RecordBatch(header: header, records: records, recordsBytes: recordsBytes)
    }

    /// Checks only the CRC: computes CRC-32C over `bytes[21..<header.totalBytes]` and compares it
    /// with `header.crc`. This is what recovery runs on every batch past the recovery point.
    ///
    /// - Throws: `.badBatchLength` when `header.batchLength` is below 49 (a header not produced by
    ///   `RecordBatchHeader.decode`), `.truncated` when `bytes` is shorter than
    ///   `header.totalBytes`, `.crcMismatch(stored:computed:)` when the checksums differ.
    public static func verifyCRC(_ bytes: UnsafeRawBufferPointer, header: RecordBatchHeader) throws(FormatError) {
        guard header.batchLength >= RecordBatchHeader.minimumBatchLength else {
            throw .badBatchLength(header.batchLength)
        }
        guard bytes.count >= header.totalBytes else {
            throw .truncated(needed: header.totalBytes, available: bytes.count)
        }
        let covered = UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart..<header.totalBytes])
        let computed = CRC32C.checksum(covered)
        guard computed == header.crc else {
            throw .crcMismatch(stored: header.crc, computed: computed)
        }
    }
}
