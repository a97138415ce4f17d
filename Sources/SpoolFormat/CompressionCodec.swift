/// The compression of a batch's records section, kept in bits 0-2 of the batch `attributes`
/// (FORMAT.md, "Attributes" and "Compression").
///
/// Spool writes and reads `.none`, `.lz4` (LZ4 frame format) and `.zstd` (zstd frame). `.gzip`
/// and `.snappy` exist so a Kafka batch using them can be named in an error
/// (`FormatError.unsupportedCodec`); they are never encoded or decoded. Values 5-7 are not codecs
/// at all and are reported as `FormatError.invalidCodec`. A plain value type, safe to share
/// between threads.
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

    /// True for the codecs Spool can both encode and decode: none, lz4 and zstd.
    public var isSupported: Bool {
        switch self {
        case .none, .lz4, .zstd: true
        case .gzip, .snappy: false
        }
    }

    /// The codec named by the low three bits of a batch's `attributes`.
    ///
    /// - Throws: `FormatError.unsupportedCodec` for gzip (1) and snappy (2), and
    ///   `FormatError.invalidCodec` for 5, 6 and 7.
    public init(attributes: Int16) throws(FormatError) {
        let bits = Int(attributes & RecordBatchHeader.codecMask)
        guard let codec = CompressionCodec(rawValue: UInt8(bits)) else {
            throw .invalidCodec(bits)
        }
        guard codec.isSupported else { throw .unsupportedCodec(codec) }
        self = codec
    }
}
