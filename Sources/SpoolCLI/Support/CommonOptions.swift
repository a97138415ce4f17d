import ArgumentParser
import Glibc
import Spool

/// Options every subcommand takes (DESIGN.md, "The spool command").
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (default: $SPOOL_DIR, else ./spool-data).")
    var dir: String?

    @Flag(name: .long, help: "Machine-readable output: one JSON object per line.")
    var json = false

    var resolvedDir: String {
        if let dir { return dir }
        if let env = getenv("SPOOL_DIR"), env.pointee != 0 { return String(cString: env) }
        return "./spool-data"
    }
}

/// The queue and consumer group a consumer command works on.
struct GroupTarget: ParsableArguments {
    @Option(help: "Queue name.")
    var queue = "default"

    @Option(help: "Consumer group name.")
    var group = "default"
}

/// Raised by a command that ran but found problems (exit code 1), after it printed them.
struct ProblemsFound: Error, CustomStringConvertible {
    var summary: String
    var description: String { summary }
}

extension Durability: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

extension Compression: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
}

/// How a writing command compresses new batches (FORMAT.md, "Compression").
struct CompressionOptions: ParsableArguments {
    @Option(
        help:
            "none | gzip[:LEVEL] | snappy | lz4 | zstd[:LEVEL] | zstd-dict[:LEVEL] (zstd with the queue's trained dictionary, see train-dict)."
    )
    var compression: Compression = .none

    @Option(
        name: .customLong("linger-us"),
        help: "Let small appends wait up to this long (µs) to be compressed together (0: off).")
    var lingerMicroseconds = 0

    func apply(to options: inout SpoolOptions) {
        options.compression = compression
        options.lingerMicroseconds = lingerMicroseconds
    }
}
