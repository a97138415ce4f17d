import ArgumentParser
import Glibc
import Spool

/// `spool verify`: a deep, read-only check of a root, queue, group or segment file.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every batch CRC, offsets, indexes, the recovery point and group state.",
        discussion: """
            Examples:
              spool verify                            # the root in --dir
              spool verify spool-data/queues/emails   # a queue and its groups
              spool verify 00000000000000000000.log   # a segment file alone
              spool verify --deep --json > out.jsonl  # decode every record too

            Read-only and lock-free: safe while a writer runs (bytes it is still
            writing past the recovery point are not reported). Each problem names
            its file, position, offset and kind: torn tail, corruption, index
            mismatch or leftover file. `spool repair` fixes torn tails, damaged
            segments and indexes.
            Exit codes: 0 clean, 1 problems found, 2 could not run.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Root, queue or group directory, or segment file (default: --dir).")
    var path: String?

    @Flag(help: "Decode every record (decompressing batches), not only headers and CRCs.")
    var deep = false

    @Flag(name: .customLong("no-progress"), help: "No progress bar, even on a terminal.")
    var noProgress = false

    func run() async throws {
        let target = path ?? common.resolvedDir
        let started = SystemClock().monotonicNanoseconds()
        let bar = ProgressBar(enabled: !noProgress && !common.json && Terminal.isTerminal(2))
        let report = try Verifier(deep: deep).verify(path: target) { bar.update($0) }
        bar.finish()
        let seconds = Double(SystemClock().monotonicNanoseconds() - started) / 1e9
        if common.json { printJSON(report, seconds: seconds) } else { printText(report, seconds: seconds) }
        if !report.isClean {
            throw ProblemsFound(summary: "\(report.problems.count) problem(s) found in \(target)")
        }
    }

    private func printJSON(_ report: VerifyReport, seconds: Double) {
        for problem in report.problems {
            var line = JSONLine()
            line.add("type", "problem")
            line.add("kind", problem.kind.rawValue)
            line.add("file", problem.file)
            line.add("position", problem.position)
            line.add("offset", problem.offset)
            line.add("message", CommandLineHints.forCommandLine(problem.message))
            Console.out(line.text)
        }
        for note in report.notes {
            var line = JSONLine()
            line.add("type", "note")
            line.add("message", CommandLineHints.forCommandLine(note))
            Console.out(line.text)
        }
        var line = JSONLine()
        line.add("type", "summary")
        line.add("clean", report.isClean)
        line.add("problems", report.problems.count)
        for kind in VerifyProblem.Kind.allCases { line.add(kind.rawValue.replacingSpaces(), report.count(kind)) }
        line.add("logs", report.logs)
        line.add("segments", report.segments)
        line.add("batches", report.batches)
        line.add("records", report.records)
        line.add("bytes", report.bytesChecked)
        line.add("writer_active", report.writerActive)
        line.add("seconds", seconds, decimals: 3)
        Console.out(line.text)
    }

    private func printText(_ report: VerifyReport, seconds: Double) {
        if !report.problems.isEmpty {
            var table = Table(["KIND", "FILE", "POSITION", "OFFSET", "PROBLEM"], rightAligned: [2, 3])
            for p in report.problems {
                let colour: Terminal.Colour = p.kind == .corruption ? .red : .yellow
                table.add([
                    Terminal.paint(p.kind.rawValue, colour), p.file, p.position.map(Human.count) ?? "-",
                    p.offset.map(Human.count) ?? "-", CommandLineHints.forCommandLine(p.message),
                ])
            }
            table.lines.forEach(Console.out)
            Console.out("")
        }
        for note in report.notes { Console.out("note: " + CommandLineHints.forCommandLine(note)) }
        let rate = seconds > 0 ? Double(report.bytesChecked) / seconds : 0
        let what =
            "\(report.logs) log(s), \(report.segments) segment(s), \(Human.count(report.batches)) batches, \(Human.count(report.records)) records, \(Human.bytes(report.bytesChecked))"
        let timing = "in \(Human.seconds(seconds)) (\(Human.bytes(Int64(rate)))/s)"
        if report.isClean {
            Console.out(
                Terminal.paint("clean", .green) + ": verified \(what) \(timing)"
                    + (report.writerActive ? "; a writer was running" : ""))
        } else {
            let kinds = VerifyProblem.Kind.allCases.filter { report.count($0) > 0 }.map {
                "\(report.count($0)) \($0.rawValue)"
            }.joined(separator: ", ")
            Console.out(
                Terminal.paint("\(report.problems.count) problem(s)", .red) + " (\(kinds)): verified \(what) \(timing)")
        }
    }
}

extension String {
    /// "torn tail" -> "torn_tail", for JSON keys.
    func replacingSpaces() -> String { String(map { $0 == " " ? "_" : $0 }) }
}
