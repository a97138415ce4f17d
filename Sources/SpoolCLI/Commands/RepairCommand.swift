import ArgumentParser
import Spool

/// `spool repair`: the salvage path, with a dry run.
struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Cut torn tails, rebuild indexes, quarantine unreadable segments; --dry-run first.",
        discussion: """
            Examples:
              spool repair --dry-run        # what it would do to the root in --dir
              spool repair                  # do it
              spool repair spool-data/queues/emails --json

            Plans from `spool verify`'s findings. A damaged tail is cut and its
            bytes kept as <segment>.<position>.broken beside it; a sealed segment
            with no readable batch is renamed to <name>.log.quarantined; indexes
            are rebuilt from the log; a recovery point past the repaired data is
            rewritten; leftover .tmp files are removed. Every action is printed.
            Refuses to run while a writer holds the root's lock (stop it first).
            Exit codes: 0 repaired or nothing to do, 1 a dry run found work or
            problems were left, 2 could not run (locked, bad path, I/O error).
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Root, queue or group directory (default: --dir).")
    var path: String?

    @Flag(name: .customLong("dry-run"), help: "Print what would be done, change nothing.")
    var dryRun = false

    @Flag(
        name: .customLong("accept-gap"),
        help:
            "Accept each gap of missing offsets between segments as lost, recording the decision (<offset>.accepted-gap) so readers move past it."
    )
    var acceptGap = false

    func run() async throws {
        let target = path ?? common.resolvedDir
        var options = SpoolOptions()
        options.logger.logLevel = .error
        var repairer = Repairer(options: options)
        repairer.acceptGaps = acceptGap
        let report = try repairer.repair(path: target, dryRun: dryRun) { action in
            if common.json {
                var line = JSONLine()
                line.add("type", "action")
                line.add("action", action.kind.rawValue)
                line.add("done", !dryRun)
                line.add("path", action.path)
                line.add("position", action.position)
                line.add("offset", action.offset)
                line.add("detail", action.detail)
                Console.out(line.text)
            } else {
                Console.out((dryRun ? "would " : "") + action.detail)
            }
        }
        for problem in report.leftAlone {
            if common.json {
                var line = JSONLine()
                line.add("type", "left_alone")
                line.add("kind", problem.kind.rawValue)
                line.add("file", problem.file)
                line.add("position", problem.position)
                line.add("offset", problem.offset)
                line.add("message", CommandLineHints.forCommandLine(problem.message))
                Console.out(line.text)
            } else {
                Console.out(
                    Terminal.paint("left alone", .yellow) + " (\(problem.kind.rawValue)) \(problem.file)"
                        + (problem.position.map { " position \($0)" } ?? "")
                        + ": \(CommandLineHints.forCommandLine(problem.message))")
            }
        }
        if common.json {
            var line = JSONLine()
            line.add("type", "summary")
            line.add("dry_run", dryRun)
            line.add("actions", report.actions.count)
            line.add("left_alone", report.leftAlone.count)
            Console.out(line.text)
        } else if report.actions.isEmpty && report.leftAlone.isEmpty {
            Console.out("nothing to repair in \(target)")
        } else {
            Console.out(
                "\(report.actions.count) action(s) \(dryRun ? "would be taken (run without --dry-run to take them)" : "taken")"
                    + (report.leftAlone.isEmpty ? "" : "; \(report.leftAlone.count) problem(s) left alone"))
        }
        if !report.leftAlone.isEmpty {
            throw ProblemsFound(summary: "\(report.leftAlone.count) problem(s) repair does not fix; see above")
        }
        if dryRun && !report.actions.isEmpty {
            throw ProblemsFound(summary: "\(report.actions.count) repair action(s) needed")
        }
    }
}
