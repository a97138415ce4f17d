/// Why bytes are not a valid Spool (Kafka RecordBatch v2) batch, or why records cannot be
/// encoded as one.
///
/// Every decode path throws one of these instead of trapping, whatever the input. Positions are
/// byte positions relative to the start of the batch, except inside a compressed batch, where a
/// record's position is relative to the start of the decompressed records section (the reason
/// text says so). A `malformedRecord` with `index` -1 concerns the batch header or a varint read
/// on its own rather than one record. A plain value type, safe to share between threads.
public enum FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes than the format requires: `needed` bytes from the batch start, `available`
    /// present.
    case truncated(needed: Int, available: Int)
    /// The magic byte (position 16) is not 2.
    case badMagic(Int8)
    /// `batchLength` is below the header's 49 bytes or makes the batch larger than
    /// `FormatLimits.batchBytesMax`.
    case badBatchLength(Int32)
    /// `recordCount` is negative or above `FormatLimits.recordsPerBatchMax`, or does not fit
    /// `lastOffsetDelta`.
    case badRecordCount(Int32)
    /// The CRC-32C stored in the header differs from the one computed over the batch.
    case crcMismatch(stored: UInt32, computed: UInt32)
    /// A real Kafka codec that this build cannot encode or decode (see
    /// `CompressionCodec.isSupported`; every Kafka codec is supported today). Not damage: the
    /// batch may be sound, and a build that supports the codec reads it.
    case unsupportedCodec(CompressionCodec)
    /// Codec bits 5, 6 or 7, which no Kafka version defines.
    case invalidCodec(Int)
    /// A record (or, with index -1, the header) breaks the layout in FORMAT.md, "Records".
    case malformedRecord(index: Int, position: Int, reason: String)
    /// The records section holds a different number of records than the header declares.
    case recordCountMismatch(declared: Int32, found: Int)
    /// A value exceeds one of the `FormatLimits` (or, on encode, is outside what the format
    /// can hold).
    case limitExceeded(what: String, value: Int, limit: Int)
    /// On encode only: the records given make a batch above a per-batch limit (its records,
    /// its bytes before or after compression). Unlike ``limitExceeded(what:value:limit:)``,
    /// fewer records per batch fix it, so a writer may split the append over several batches.
    case batchTooLarge(what: String, value: Int, limit: Int)
    /// gzip (zlib), snappy, lz4 or zstd rejected the records section; `reason` carries the
    /// library's error name.
    case decompressionFailed(CompressionCodec, reason: String)
    /// A zstd frame names a dictionary (by its id) that the reader was not given: the batch
    /// was written with a trained dictionary (FORMAT.md, "Zstd dictionaries").
    case dictionaryMissing(id: UInt32)

    public var description: String {
        switch self {
        case .truncated(let needed, let available):
            return "truncated batch: needs \(needed) bytes but only \(available) are available; "
                + "a torn write at the end of a log, or a read that stopped short"
        case .badMagic(let magic):
            return "bad magic byte \(magic), expected 2 (RecordBatch v2); "
                + "the position is not the start of a batch, or the bytes are zeroed or overwritten"
        case .badBatchLength(let length):
            return "bad batchLength \(length): a batch has at least 49 bytes after the length "
                + "field and must fit the batch size limit; the header is corrupt or not a batch start"
        case .badRecordCount(let count):
            return "bad record count \(count): negative, above the per-batch limit, or not "
                + "consistent with lastOffsetDelta; the header is corrupt"
        case .crcMismatch(let stored, let computed):
            return "CRC-32C mismatch: stored \(Self.hex(stored)), computed \(Self.hex(computed)); "
                + "the batch was damaged after it was written, or its write was torn"
        case .unsupportedCodec(let codec):
            let supported = CompressionCodec.allCases.filter(\.isSupported).map(\.description).joined(separator: ", ")
            return "unsupported codec \(codec): this build of Spool reads only \(supported) batches; "
                + "read the data with a build that supports \(codec), or re-encode it with one of those"
        case .invalidCodec(let bits):
            return "invalid codec bits \(bits) in the batch attributes: no codec has that number; "
                + "the header is corrupt"
        case .malformedRecord(let index, let position, let reason):
            let subject = index < 0 ? "malformed batch" : "malformed record \(index)"
            return "\(subject) at position \(position): \(reason); "
                + "the batch is corrupt or was written by a broken encoder"
        case .recordCountMismatch(let declared, let found):
            return "record count mismatch: the header declares \(declared) records but the "
                + "records section holds \(found); the batch is corrupt or was written by a broken encoder"
        case .limitExceeded(let what, let value, let limit), .batchTooLarge(let what, let value, let limit):
            return "limit exceeded: \(what) is \(value), the limit is \(limit); "
                + "raise FormatLimits if the data is legitimate, otherwise it is corrupt or hostile"
        case .decompressionFailed(let codec, let reason):
            return "\(codec) decompression failed: \(reason); "
                + "the compressed records section is corrupt or truncated"
        case .dictionaryMissing(let id):
            return "the zstd frame needs dictionary \(id), which the reader does not have; "
                + "the batch was compressed with a trained dictionary: restore the queue's dictionary file"
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
