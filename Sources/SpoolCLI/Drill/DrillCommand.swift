import ArgumentParser
import Glibc
import Spool

/// `spool drill`: crash-recovery drills on this machine (DRILLS.md).
struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Kill writers and consumers, cut the power, corrupt bytes, and prove nothing acknowledged is lost.",
        discussion: """
            Each cycle starts real `spool enqueue` and `spool consume` processes (this binary) that enqueue and ack \
            tasks under durability always, journaling every acknowledged enqueue and ack; kills them with SIGKILL at \
            a random moment; applies the fault; reopens (timed) and checks: every acknowledged enqueue present, no \
            acknowledged ack delivered again, no task that was never enqueued, offsets unique. Corruption of synced \
            data must be reported with the file and a position.

            Faults: kill; powercut (unsynced writes, creates, renames and mkdirs undone, the last unsynced write \
            torn; each root starts missing); bitflip, truncate, zero (a 4 KiB page) and garbage (bytes appended), \
            into sealed and active segments, indexes, group logs and recovery points; plant (symlinks and FIFOs where \
            a root keeps files: refused or harmless); groupstate (a group's checkpoint or log damaged: refused, or no \
            acked task redelivered); or all. (compact needs the compactor, not in this build.)

            Examples:
              spool drill --dir /tmp/drill --cycles 100 --faults kill,powercut
              spool drill --dir /tmp/drill --cycles 20 --faults all --seed 7 --json

            Exit code 1 on any violation, with the seed that replays the run (the random choices are the seed's; \
            process timing is the machine's). DRILLS.md describes the model and the figures.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Cycles per fault.")
    var cycles = 10

    @Option(help: "Seed of every random choice (default: from the clock).")
    var seed: UInt64?

    @Option(help: "Comma-separated faults, or all.")
    var faults = "kill,powercut"

    @Option(name: .customLong("kill-ms"), help: "Kill at most this many ms after the child's first acknowledged write.")
    var killMilliseconds = 100

    @Option(name: .customLong("epoch-cycles"), help: "Start a fresh root after this many cycles.")
    var epochCycles = 20

    @Option(
        name: .customLong("segment-bytes"),
        help: "Segment size for kill and powercut (the corruption faults use 64 KiB, to have sealed segments).")
    var segmentBytes = 128 << 20

    @Option(
        name: .customLong("injections"),
        help: "Corruptions injected (each into a fresh copy) per cycle of a corruption fault.")
    var injections = 5

    /// The writers' durability. Only `always` promises anything; `never` exists to show that
    /// the drill catches what a weaker policy loses in a power cut (its tests use it).
    @Option(help: .hidden)
    var durability: Durability = .always

    func validate() throws {
        guard (1...1_000_000).contains(cycles) else { throw ValidationError("--cycles must be 1...1000000") }
        guard (0...10_000).contains(killMilliseconds) else { throw ValidationError("--kill-ms must be 0...10000") }
        guard (1...10_000).contains(epochCycles) else { throw ValidationError("--epoch-cycles must be 1...10000") }
        guard (64 << 10...1 << 30).contains(segmentBytes) else {
            throw ValidationError("--segment-bytes must be 64 KiB...1 GiB")
        }
        guard (1...1000).contains(injections) else { throw ValidationError("--injections must be 1...1000") }
        do { _ = try DrillFault.parseList(faults) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let faultList = try DrillFault.parseList(faults)
        let seed = self.seed ?? SystemClock().monotonicNanoseconds()
        let directory = common.resolvedDir
        try PosixFileSystem().makeDirectory(directory, mode: 0o700)
        var runner = DrillRunner(
            settings: .init(
                directory: directory, cycles: cycles, seed: seed, epochCycles: epochCycles,
                killMillisecondsMax: killMilliseconds,
                segmentBytes: segmentBytes, corruptionSegmentBytes: 64 << 10, injectionsPerCycle: injections,
                writerDurability: durability))
        let json = common.json
        if !json && isatty(2) != 0 { runner.progress = { Console.err("  \($0)") } }
        if !json { Console.out("drill in \(directory), seed \(seed), \(cycles) cycles per fault") }
        var all: [DrillStats] = []
        for fault in faultList {
            let stats = try runner.run(fault)
            all.append(stats)
            if json { Console.out(Self.jsonLine(stats, seed: seed)) }
            Console.flush()
        }
        if !json { Self.printTable(all) }
        let violations = all.flatMap(\.violations)
        if !json {
            for v in violations.prefix(20) { Console.out("  VIOLATION \(v)") }
            for s in all where !s.undetectedHarmless.isEmpty {
                Console.out(
                    "  \(s.fault.rawValue): \(s.undetectedHarmless.count) synced-data corruption(s) not detected but harmless (the bytes read back the same tasks), e.g. \(s.undetectedHarmless[0])"
                )
            }
        }
        if !violations.isEmpty {
            throw ProblemsFound(summary: "\(violations.count) violation(s); replay with --seed \(seed)")
        }
    }

    static func jsonLine(_ s: DrillStats, seed: UInt64) -> String {
        var line = JSONLine()
        line.add("fault", s.fault.rawValue)
        line.add("seed", String(seed))
        line.add("cycles", s.cycles)
        line.add("kills", s.kills)
        line.add("acknowledged_enqueues", s.acknowledgedEnqueues)
        line.add("acknowledged_acks", s.acknowledgedAcks)
        line.add("lost", s.lost)
        line.add("redelivered_after_ack", s.redelivered)
        line.add("phantoms", s.phantoms)
        line.add("offset_problems", s.offsetProblems)
        line.add("recovery_failures", s.recoveryFailures)
        line.add("corruptions_injected", s.injected)
        line.add("synced_corruptions_injected", s.syncedInjected)
        line.add("synced_corruptions_detected", s.detected)
        line.add("synced_corruptions_undetected_harmless", s.undetectedHarmless.count)
        line.add("other_corruptions_handled", s.handled)
        if s.fault == .plant || s.fault == .groupstate { line.add("refused", s.refused) }
        if !s.targets.isEmpty {
            line.addRaw(
                "targets",
                "{"
                    + s.targets.sorted { $0.key < $1.key }.map {
                        "\"\($0.key)\":{\"injected\":\($0.value.injected),\"reported\":\($0.value.reported)}"
                    }.joined(separator: ",") + "}")
        }
        line.add("recovery_p50_ms", (s.percentile(0.5) ?? 0) * 1000, decimals: 2)
        line.add("recovery_p99_ms", (s.percentile(0.99) ?? 0) * 1000, decimals: 2)
        line.add("recovery_max_ms", (s.recoverySeconds.max() ?? 0) * 1000, decimals: 2)
        if s.fault == .powercut {
            line.add("powercut_writes_undone", s.powerCut.writesUndone)
            line.add("powercut_torn_writes", s.powerCut.tornWrites)
            line.add("powercut_entries_undone", s.powerCut.entriesUndone)
            line.add("powercut_not_restorable", s.powerCut.notRestorable)
        }
        line.add("violations", s.violations.count)
        if !s.violations.isEmpty {
            line.addRaw(
                "violation_examples",
                "[" + s.violations.prefix(3).map { JSONLine.quote($0) }.joined(separator: ",") + "]")
        }
        if !s.undetectedHarmless.isEmpty {
            line.addRaw(
                "undetected_harmless_examples",
                "[" + s.undetectedHarmless.prefix(3).map { JSONLine.quote($0) }.joined(separator: ",") + "]")
        }
        line.add("ok", s.violations.isEmpty)
        return line.text
    }

    static func printTable(_ all: [DrillStats]) {
        let header = [
            "fault", "cycles", "acked tasks", "acked acks", "lost", "redelivered", "phantom", "injected", "detected",
            "recovery p50", "p99", "max",
        ]
        var rows = [header]
        for s in all {
            let corrupt = s.fault.mutation != nil
            rows.append([
                s.fault.rawValue, Human.count(s.cycles), Human.count(s.acknowledgedEnqueues),
                Human.count(s.acknowledgedAcks),
                "\(s.lost)", "\(s.redelivered)", "\(s.phantoms)",
                corrupt ? "\(s.injected) (\(s.syncedInjected) synced)" : "-",
                corrupt ? "\(s.detected)/\(s.syncedInjected)" : "-",
                s.percentile(0.5).map(Human.seconds) ?? "-", s.percentile(0.99).map(Human.seconds) ?? "-",
                s.recoverySeconds.max().map(Human.seconds) ?? "-",
            ])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            Console.out(
                row.enumerated().map { c, cell in
                    c == 0 ? cell.padding(widths[c]) : String(repeating: " ", count: widths[c] - cell.count) + cell
                }.joined(separator: "  "))
        }
        for s in all where !s.targets.isEmpty {
            Console.out(
                "\(s.fault.rawValue): "
                    + s.targets.sorted { $0.key < $1.key }.map {
                        "\($0.key) \($0.value.reported)/\($0.value.injected) reported"
                    }.joined(separator: ", "))
        }
        for s in all where s.fault == .powercut {
            Console.out(
                "powercut: \(s.powerCut.writesUndone) unsynced writes undone, \(s.powerCut.tornWrites) torn, \(s.powerCut.truncatesUndone) truncates and \(s.powerCut.entriesUndone) directory entries undone (\(s.powerCut.entriesKept) kept), \(s.powerCut.notRestorable) not restorable"
            )
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
