import ArgumentParser
import Glibc
import Spool

/// `spool bench all`: Spool's own run of every workload of WORKLOAD.md, each in a fresh child
/// process (this same binary), in the harness's order, into one JSON report.
struct BenchAll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Run W1–W12 in fresh processes and write one JSON report (progress on a terminal).",
        discussion: """
            The report holds the machine, the sizes and every workload's JSON line, with the peak
            RSS of each child process. W8 (≥ 2 GiB) and W10 run only with --full; --quick runs
            everything at 1/100 of the sizes, to check the tool itself.
            Compare two reports with Tools/bench-compare OLD.json NEW.json.

            Examples:
              spool bench all --dir /tmp/spool-bench --out bench.json
              spool bench all --dir /tmp/spool-bench --full --out bench-full.json
            """)

    @Option(help: "Scratch directory; one sub-directory per workload is made under it (it must not exist).")
    var dir: String

    @Option(help: "Where to write the JSON report (default: DIR/report.json).")
    var out: String?

    @Flag(help: "Sizes divided by 100 and a 3-second W11: checks the tool, measures nothing.")
    var quick = false

    @Flag(help: "Also W8 (≥ 2 GiB log, and 200 MB for comparison) and W10 (verify over it).")
    var full = false

    /// One workload: the bench arguments to run, and where its data goes.
    struct Step {
        var id: String
        var title: String
        var arguments: [String]
    }

    func steps() -> [Step] {
        let scale = quick ? 100 : 1
        func n(_ value: Int) -> String { String(max(value / scale, 10)) }
        func at(_ name: String) -> String { dir + "/" + name }
        var steps = [
            Step(
                id: "W1", title: "durable enqueue, batch 1",
                arguments: ["enqueue", "--dir", at("w1"), "--n", n(50_000), "--batch", "1"]),
            Step(
                id: "W3", title: "16 producers, batch 1",
                arguments: ["enqueue", "--dir", at("w3"), "--n", n(64_000), "--batch", "1", "--threads", "16"]),
            Step(
                id: "W2", title: "durable enqueue, batch 100",
                arguments: ["enqueue", "--dir", at("w2"), "--n", n(200_000), "--batch", "100"]),
            Step(
                id: "W6", title: "W2 then SIGKILL",
                arguments: ["enqueue", "--dir", at("w6"), "--n", n(200_000), "--batch", "100", "--crash"]),
            Step(id: "W6", title: "recovery after SIGKILL", arguments: ["recover", "--dir", at("w6")]),
            Step(
                id: "W4", title: "drain with acks",
                arguments: ["drain", "--dir", at("w6"), "--n", n(200_000), "--batch", "100"]),
            Step(
                id: "W7", title: "footprint with compression", arguments: ["w7", "--dir", at("w7"), "--n", n(200_000)]),
            Step(id: "W9", title: "in-process hand-off", arguments: ["w9", "--dir", at("w9"), "--n", n(1_000_000)]),
            Step(
                id: "W11", title: "mixed load",
                arguments: ["w11", "--dir", at("w11"), "--duration", quick ? "3" : "60"]),
            Step(
                id: "W12", title: "deep queue: fill",
                arguments: ["enqueue", "--dir", at("w12"), "--n", n(10_000_000), "--batch", "100"]),
            Step(
                id: "W12", title: "deep queue: drain",
                arguments: ["drain", "--dir", at("w12"), "--n", n(10_000_000), "--batch", "100"]),
        ]
        if full {
            steps += [
                Step(
                    id: "W8", title: "200 MB log then SIGKILL",
                    arguments: ["enqueue", "--dir", at("w8-small"), "--n", "1600000", "--batch", "100", "--crash"]),
                Step(id: "W8", title: "recovery at 200 MB", arguments: ["recover", "--dir", at("w8-small")]),
                Step(
                    id: "W8", title: "2 GiB log then SIGKILL",
                    arguments: ["enqueue", "--dir", at("w8"), "--n", "16000000", "--batch", "100", "--crash"]),
                Step(id: "W8", title: "recovery at 2 GiB", arguments: ["recover", "--dir", at("w8")]),
            ]
        }
        return steps
    }

    func run() async throws {
        if mkdir(dir, 0o755) != 0 {
            throw SpoolError(
                .io, "cannot create the bench directory (it must not exist)", path: dir, errno: errno,
                hint: "pass a new --dir; bench all never writes into an existing directory")
        }
        let executable = try ChildProcess.executable()
        let steps = steps()
        let progress = isatty(2) != 0
        var results: [String] = []
        for (index, step) in steps.enumerated() {
            if progress { Console.err("[\(index + 1)/\(steps.count)] \(step.id) \(step.title)…") }
            let outcome = try ChildProcess.run(executable, ["bench"] + step.arguments)
            let crashed = step.arguments.contains("--crash")
            guard outcome.status == 0 || (crashed && outcome.signaled && outcome.status == SIGKILL) else {
                throw SpoolError(
                    .io,
                    "\(step.id) (spool bench \(step.arguments.joined(separator: " "))) exited with \(outcome.status)")
            }
            for line in outcome.stdout.split(separator: "\n") where line.hasPrefix("{") {
                var entry = JSONLine()
                entry.add("id", step.id)
                entry.add("title", step.title)
                entry.add("max_rss_kib", outcome.maxResidentKiB)
                entry.addRaw("result", String(line))
                results.append(entry.text)
            }
            if step.id == "W2" { results.append(footprint(of: dir + "/w2/queues/bench")) }
        }
        let report = reportText(results)
        let path = out ?? dir + "/report.json"
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let directory = parent.isEmpty ? "/" : parent
        try AtomicFile.write(Array((report + "\n").utf8), to: path, directory: directory, durable: true, mode: 0o644)
        Console.out(report)
        if progress { Console.err("report written to \(path)") }
    }

    /// W5: bytes on disk after W2, allocated and apparent.
    private func footprint(of queueDirectory: String) -> String {
        let allocated = ProcessProbe.allocatedBytes(under: queueDirectory)
        let apparent = ProcessProbe.apparentBytes(under: queueDirectory)
        let tasks = Double(max(200_000 / (quick ? 100 : 1), 10))
        var result = JSONLine()
        result.add("bytes_on_disk", allocated)
        result.add("apparent_bytes", apparent)
        result.add("bytes_per_task", Double(allocated) / tasks, decimals: 1)
        var entry = JSONLine()
        entry.add("id", "W5")
        entry.add("title", "footprint after W2")
        entry.addRaw("result", result.text)
        return entry.text
    }

    private func reportText(_ results: [String]) -> String {
        var machine = JSONLine()
        machine.add("cores", Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var name = utsname()
        uname(&name)
        machine.add(
            "kernel", withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        machine.add("memory_bytes", Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE))))
        var report = JSONLine()
        report.add("tool", "spool bench all")
        report.add("quick", quick)
        report.add("full", full)
        report.add("started_ms", SystemClock().wallMilliseconds())
        report.addRaw("machine", machine.text)
        report.addRaw("workloads", JSONLine.array(results))
        return report.text
    }
}
