/// The compression of a batch's records section, kept in bits 0-2 of the batch `attributes`
/// (FORMAT.md, "Attributes" and "Compression").
///
/// Spool writes and reads all five Kafka codecs: `.none`, `.gzip` (a gzip stream, through zlib),
/// `.snappy` (xerial-framed as Java clients write it; raw snappy is read too), `.lz4` (LZ4 frame
/// format) and `.zstd` (zstd frame). Values 5-7 are not codecs at all and are reported as
/// `FormatError.invalidCodec`. A plain value type, safe to share between threads.
public enum CompressionCodec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// The lower-case name used in errors, CLI output and `expected.jsonl` fixtures.
    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// True for the codecs this build can both encode and decode: all five. A codec this is
    /// false for is refused with `FormatError.unsupportedCodec`, never taken for damage.
    public var isSupported: Bool {
        switch self {
        case .none, .gzip, .snappy, .lz4, .zstd: true
        }
    }

    /// The codec named by the low three bits of a batch's `attributes`.
    ///
    /// - Throws: `FormatError.invalidCodec` for 5, 6 and 7, and `FormatError.unsupportedCodec`
    ///   for a codec this build cannot handle (none today: see ``isSupported``).
    public init(attributes: Int16) throws(FormatError) {
        let bits = Int(attributes & RecordBatchHeader.codecMask)
        guard let codec = CompressionCodec(rawValue: UInt8(bits)) else {
            throw .invalidCodec(bits)
        }
        guard codec.isSupported else { throw .unsupportedCodec(codec) }
        self = codec
    }
}
