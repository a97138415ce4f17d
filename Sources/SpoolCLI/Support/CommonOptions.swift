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

/// Raised by a command that ran but found problems (exit code 1), after it printed them.
struct ProblemsFound: Error, CustomStringConvertible {
    var summary: String
    var description: String { summary }
}

extension Durability: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}
