import SpoolFormat

/// How a queue compresses its batches (FORMAT.md, "Compression"). Only the records section of
/// a batch is compressed, as in Kafka; the codec is stored in each batch, so a queue can change
/// its compression on reopen and its older batches keep theirs.
///
/// Group logs are never compressed: their records are a few bytes each.
public enum Compression: Sendable, Equatable, CustomStringConvertible {
    /// No compression (Kafka codec 0). The default.
    case none
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
        case .lz4: .lz4
        case .zstd, .zstdDictionary: .zstd
        }
    }

    /// The zstd level, nil for the other codecs.
    public var level: Int? {
        switch self {
        case .zstd(let level), .zstdDictionary(let level): level
        case .none, .lz4: nil
        }
    }

    /// How the command line spells it: `none`, `lz4`, `zstd[:LEVEL]`, `zstd-dict[:LEVEL]`.
    public var description: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zstd(let level): level == 3 ? "zstd" : "zstd:\(level)"
        case .zstdDictionary(let level): level == 3 ? "zstd-dict" : "zstd-dict:\(level)"
        }
    }

    /// The zstd levels accepted: 1 to 19 (20-22 need far more memory per context).
    public static let zstdLevels = 1...19

    /// Parses the command-line spelling (see ``description``).
    /// - Throws: `.invalidArgument` naming what was expected.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        var level = 3
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), Self.zstdLevels.contains(parsed) else {
                throw SpoolError(.invalidArgument, "bad zstd level in '\(text)': expected 1...19")
            }
            level = parsed
        }
        switch (parts.first ?? "", parts.count) {
        case ("none", 1): self = .none
        case ("lz4", 1): self = .lz4
        case ("zstd", _): self = .zstd(level: level)
        case ("zstd-dict", _): self = .zstdDictionary(level: level)
        default:
            throw SpoolError(.invalidArgument, "unknown compression '\(text)'", hint: "use none, lz4, zstd[:LEVEL] or zstd-dict[:LEVEL]")
        }
    }

    /// Throws `.invalidArgument` for a level outside 1...19.
    func validate() throws {
        if let level, !Self.zstdLevels.contains(level) {
            throw SpoolError(.invalidArgument, "option out of range: zstd level \(level) must be 1...19")
        }
    }
}
