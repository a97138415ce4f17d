import ArgumentParser
import Spool

/// `spool make-fixtures` (hidden): writes fixtures/recovery/ (see Tools/make-fixtures.sh).
struct MakeFixturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-fixtures",
        abstract: "Write the golden and corrupt recovery fixtures (for Tools/make-fixtures.sh).",
        shouldDisplay: false)

    @Option(help: "Output directory (replaced).")
    var out: String

    func run() async throws {
        let names = try await FixtureGenerator(output: out).generate()
        for name in names { Console.out(name) }
    }
}
