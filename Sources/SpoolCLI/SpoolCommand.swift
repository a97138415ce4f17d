import ArgumentParser
import Glibc
import Spool

/// The `spool` command: inspect, verify, repair, recover and benchmark a Spool data directory.
public struct SpoolCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "A file-backed, append-only log queue: enqueue, inspect, recover and benchmark.",
        discussion: """
            Every subcommand takes --dir (default $SPOOL_DIR, else ./spool-data) and --json.
            Exit codes: 0 ok, 1 problem found (corruption, lost tasks), 2 usage or I/O error.
            """,
        subcommands: [
            EnqueueCommand.self, ConsumeCommand.self, AckCommand.self, NackCommand.self, DeadLetterCommand.self,
            DumpCommand.self, VerifyCommand.self, StatsCommand.self, TailCommand.self, RepairCommand.self,
            TrainDictionaryCommand.self, RecoverCommand.self, CompactCommand.self, AuditCommand.self, DrillCommand.self,
            MakeFixturesCommand.self, BenchCommand.self,
        ]
    )

    public init() {}

    /// Parses `arguments`, runs the command, and exits with Spool's exit codes: 0, 1 when the
    /// command found problems, 2 for usage and I/O errors.
    public static func run(arguments: [String]) async -> Int32 {
        defer { Console.flush() }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let problems as ProblemsFound {
            Console.err("spool: \(problems.summary)")
            return 1
        } catch let error as SpoolError {
            Console.err("spool: error: \(CommandLineHints.forCommandLine(error))")
            return 2
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Console.out(fullMessage(for: error))
                return 0
            }
            Console.err(fullMessage(for: error))
            return 2
        }
    }
}
