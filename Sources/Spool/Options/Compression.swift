import SpoolFormat

/// How a queue compresses its batches (FORMAT.md, "Compression"). Only the records section of
/// a batch is compressed, as in Kafka; the codec is stored in each batch, so a queue can change
/// its compression on reopen and its older batches keep theirs.
///
/// Group logs are never compressed: their records are a few bytes each.
public enum Compression: Sendable, Equatable, CustomStringConvertible {
    /// No compression (Kafka codec 0). The default.
    case none
    /// A gzip stream (Kafka codec 1) at `level` (1...9; 6 is zlib's and Java's default): the
    /// codec every Kafka client and tool reads, slower than the others.
    case gzip(level: Int = 6)
    /// snappy (Kafka codec 2) in the xerial framing Java clients write, in blocks of 32 KiB.
    case snappy
    /// LZ4 frame format (Kafka codec 3), the fast compressor.
    case lz4
    /// zstd frame (Kafka codec 4) at `level` (1...19; 3 is zstd's default).
    case zstd(level: Int = 3)
    /// zstd against the queue's current trained dictionary (`spool train-dict`): small batches
    /// of similar tasks compress far better. Beyond Kafka: such batches need Spool, or the
    /// dictionary, to read (FORMAT.md, "Zstd dictionaries"). Without a trained dictionary the
    /// queue compresses with plain zstd at `level`.
    case zstdDictionary(level: Int = 3)

    /// The codec written in the batch attributes.
    public var codec: CompressionCodec {
        switch self {
        case .none: .none
        case .gzip: .gzip
        case .snappy: .snappy
        case .lz4: .lz4
        case .zstd, .zstdDictionary: .zstd
        }
    }

    /// The gzip or zstd level, nil for the codecs without levels.
    public var level: Int? {
        switch self {
        case .gzip(let level), .zstd(let level), .zstdDictionary(let level): level
        case .none, .snappy, .lz4: nil
        }
    }

    /// How the command line spells it: `none`, `gzip[:LEVEL]`, `snappy`, `lz4`, `zstd[:LEVEL]`,
    /// `zstd-dict[:LEVEL]`.
    public var description: String {
        switch self {
        case .none: "none"
        case .gzip(let level): level == Self.defaultGzipLevel ? "gzip" : "gzip:\(level)"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd(let level): level == 3 ? "zstd" : "zstd:\(level)"
        case .zstdDictionary(let level): level == 3 ? "zstd-dict" : "zstd-dict:\(level)"
        }
    }

    /// The zstd levels accepted: 1 to 19 (20-22 need far more memory per context).
    public static let zstdLevels = 1...19
    /// The gzip levels accepted: zlib's 1 (fastest) to 9 (smallest).
    public static let gzipLevels = 1...9
    static let defaultGzipLevel = 6

    /// Every spelling ``init(parsing:)`` accepts, for help and error texts.
    public static let spellings = "none, gzip[:LEVEL], snappy, lz4, zstd[:LEVEL] or zstd-dict[:LEVEL]"

    /// Parses the command-line spelling (see ``description``).
    /// - Throws: `.invalidArgument` naming what was expected.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts.first ?? ""
        let levels: ClosedRange<Int>? =
            switch name {
            case "gzip": Self.gzipLevels
            case "zstd", "zstd-dict": Self.zstdLevels
            default: nil
            }
        var level: Int? = nil
        if parts.count == 2 {
            guard let levels else {
                throw SpoolError(
                    .invalidArgument, "compression '\(name)' takes no level: '\(text)'", hint: "use \(Self.spellings)")
            }
            guard let parsed = Int(parts[1]), levels.contains(parsed) else {
                throw SpoolError(
                    .invalidArgument,
                    "bad \(name) level in '\(text)': expected \(levels.lowerBound)...\(levels.upperBound)")
            }
            level = parsed
        }
        switch name {
        case "none": self = .none
        case "gzip": self = .gzip(level: level ?? Self.defaultGzipLevel)
        case "snappy": self = .snappy
        case "lz4": self = .lz4
        case "zstd": self = .zstd(level: level ?? 3)
        case "zstd-dict": self = .zstdDictionary(level: level ?? 3)
        default:
            throw SpoolError(.invalidArgument, "unknown compression '\(text)'", hint: "use \(Self.spellings)")
        }
    }

    /// Throws `.invalidArgument` for a level outside the codec's range (gzip 1...9, zstd 1...19).
    func validate() throws {
        switch self {
        case .gzip(let level) where !Self.gzipLevels.contains(level):
            throw SpoolError(.invalidArgument, "option out of range: gzip level \(level) must be 1...9")
        case .zstd(let level) where !Self.zstdLevels.contains(level),
            .zstdDictionary(let level) where !Self.zstdLevels.contains(level):
            throw SpoolError(.invalidArgument, "option out of range: zstd level \(level) must be 1...19")
        default:
            return
        }
    }
}
