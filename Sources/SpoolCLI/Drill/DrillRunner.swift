import Glibc
import Spool
import SpoolTesting

/// Runs the cycles of one fault: real `spool enqueue` and `spool consume` children killed with
/// SIGKILL at a random moment, an optional power cut or byte corruption, then a reopen and the
/// invariant checks of ``DrillChecker``.
///
/// A root allows one process at a time (spool.lock), so in each cycle the writer runs and is
/// killed first, then the consumer. Roots are replaced every `epochCycles` cycles, so the
/// checks (which read the whole log) stay short.
///
/// Not thread-safe: one thread drives it.
struct DrillRunner {
    struct Settings {
        var directory: String
        var cycles: Int
        var seed: UInt64
        var epochCycles: Int
        var killMillisecondsMax: Int
        var segmentBytes: Int
        var corruptionSegmentBytes: Int
        var injectionsPerCycle: Int
        var writerDurability: Durability = .always
    }

    let settings: Settings
    var progress: (String) -> Void = { _ in }

    func run(_ fault: DrillFault) throws -> DrillStats {
        var stats = DrillStats(fault: fault)
        var random = DrillRandom(
            seed: settings.seed ^ UInt64(DrillFault.allCases.firstIndex(of: fault)! + 1) &* 0x9E37_79B9_7F4A_7C15)
        var epoch: Epoch? = nil
        var epochIndex = 0
        for cycle in 0..<settings.cycles {
            if cycle % settings.epochCycles == 0 {
                if let epoch { epoch.finish(into: &stats) }
                epoch = try Epoch(directory: settings.directory + "/\(fault.rawValue)-\(epochIndex)")
                epochIndex += 1
            }
            try runCycle(cycle, fault: fault, epoch: &epoch!, stats: &stats, random: &random)
            stats.cycles += 1
            if cycle % 10 == 9 {
                progress(
                    "\(fault.rawValue): \(cycle + 1)/\(settings.cycles) cycles, \(stats.violations.count) violations")
            }
        }
        if let epoch { epoch.finish(into: &stats) }
        return stats
    }

    /// One epoch's root and side journals; its lost/redelivered/phantom offsets are counted once.
    struct Epoch {
        let directory: String
        var root: String { directory + "/root" }
        var checker: DrillChecker
        var lost = Set<Int64>(), redelivered = Set<Int64>(), phantoms = Set<Int64>()
        var offsetProblems = 0
        var last = DrillChecker.Result()
        var nextID: UInt64 = 1

        init(directory: String) throws {
            DrillFiles.removeTree(directory)
            try PosixFileSystem().makeDirectory(directory, mode: 0o700)
            // The root does not exist yet: the first writer creates it (through the power-cut
            // seam under powercut), so a cut that loses an unsynced mkdir of the root, queues/
            // or a queue's directory loses acknowledged tasks and the checks see it.
            self.directory = directory
            checker = DrillChecker(enqueueJournal: directory + "/enqueued.txt", ackJournal: directory + "/acked.txt")
        }

        mutating func record(_ result: DrillChecker.Result) {
            lost.formUnion(result.lost)
            redelivered.formUnion(result.redelivered)
            phantoms.formUnion(result.phantoms)
            offsetProblems += result.offsetProblems.count
            last = result
        }

        func finish(into stats: inout DrillStats) {
            stats.lost += lost.count
            stats.redelivered += redelivered.count
            stats.phantoms += phantoms.count
            stats.offsetProblems += offsetProblems
            stats.acknowledgedEnqueues += last.acknowledgedEnqueues
            stats.acknowledgedAcks += last.acknowledgedAcks
        }
    }

    private func runCycle(
        _ cycle: Int, fault: DrillFault, epoch: inout Epoch, stats: inout DrillStats,
        random: inout DrillRandom
    ) throws {
        let powerCut = fault == .powercut
        let segmentBytes = fault.damagesRoot ? settings.corruptionSegmentBytes : settings.segmentBytes
        let runLength: UInt64 = 100_000_000
        let firstID = epoch.nextID
        epoch.nextID += runLength
        epoch.checker.writerRuns.append(firstID..<(firstID + runLength))
        let undo = epoch.directory + "/undo"
        let environment = powerCut ? [DrillEnvironment.powerCutJournalVariable: undo] : [:]
        let replay =
            "replay: spool drill --dir \(settings.directory) --faults \(fault.rawValue) --cycles \(settings.cycles) --seed \(settings.seed) (cycle \(cycle))"

        let writer = [
            "enqueue", "--dir", epoch.root, "--queue", DrillChecker.queue, "--count", "\(runLength)",
            "--batch", "\(Int.random(in: 1...20, using: &random))", "--producers",
            "\(Int.random(in: 1...4, using: &random))",
            "--payload-size", "\(DrillChecker.payloadSize)", "--first-id", "\(firstID)", "--segment-bytes",
            "\(segmentBytes)",
            "--journal", epoch.checker.enqueueJournal, "--durability", "\(settings.writerDurability)",
        ]
        let consumer = [
            "consume", "--dir", epoch.root, "--queue", DrillChecker.queue, "--group", DrillChecker.group,
            "--max", "\(Int.random(in: 1...50, using: &random))", "--ack", "--until-empty", "--journal",
            epoch.checker.ackJournal,
        ]
        for (arguments, journal) in [(writer, epoch.checker.enqueueJournal), (consumer, epoch.checker.ackJournal)] {
            let child = try DrillChild(arguments, environment: environment, output: epoch.directory + "/child")
            if try killAtRandomMoment(child, journal: journal, random: &random) { stats.kills += 1 }
            if let status = child.ended?.status, status != 0 {
                let error = child.errorOutput()
                // A consumer started before any writer made the root or the queue has nothing
                // to open (the checks then find every acknowledged task, or report it lost).
                if !error.contains("no queue named") && !error.contains("the data directory does not exist") {
                    stats.violations.append(
                        "\(fault.rawValue) cycle \(cycle): `spool \(arguments[0])` failed with status \(status): \(error) — \(replay)"
                    )
                }
            }
            if powerCut && access(undo, F_OK) == 0 {
                stats.add(try PowerCut.apply(journal: undo, random: &random))
                unlink(undo)
            }
        }

        let result = epoch.checker.check(root: epoch.root)
        epoch.record(result)
        if let seconds = result.recoverySeconds { stats.recoverySeconds.append(seconds) }
        if result.error != nil { stats.recoveryFailures += 1 }
        if result.error != nil || result.violations > 0 {
            stats.violations.append("\(fault.rawValue) cycle \(cycle): \(result.summary) — \(replay)")
            return
        }
        guard DrillFiles.size(epoch.root + "/queues") >= 0 else { return }
        if let mutation = fault.mutation {
            try corrupt(mutation, epoch: epoch, cycle: cycle, stats: &stats, random: &random, replay: replay)
        } else if fault == .plant || fault == .groupstate {
            try damageAndCheck(fault, epoch: epoch, cycle: cycle, stats: &stats, random: &random, replay: replay)
        }
    }

    /// SIGKILL at a random moment: mostly after the child's first acknowledged write to its
    /// journal plus a random delay, sometimes during its start-up and recovery. Returns whether
    /// the kill ended it (it may have finished first).
    private func killAtRandomMoment(_ child: DrillChild, journal: String, random: inout DrillRandom) throws -> Bool {
        let before = DrillFiles.size(journal)
        let clock = SystemClock()
        if Int.random(in: 0..<5, using: &random) == 0 {
            usleep(UInt32(Int.random(in: 0...30_000, using: &random)))
            return child.kill()
        }
        let deadline = clock.monotonicNanoseconds() + 20_000_000_000
        while DrillFiles.size(journal) <= before && !child.poll() && clock.monotonicNanoseconds() < deadline {
            usleep(500)
        }
        usleep(UInt32(Int.random(in: 0...settings.killMillisecondsMax, using: &random) * 1000))
        return child.kill()
    }

    /// Plants a foreign file or damages the group's state `injectionsPerCycle` times, checking
    /// each (a clear refusal naming a file, or no acked task lost or redelivered, and an
    /// outside symlink target unchanged), then puts the root back as it was.
    private func damageAndCheck(
        _ fault: DrillFault, epoch: Epoch, cycle: Int, stats: inout DrillStats,
        random: inout DrillRandom, replay: String
    ) throws {
        // Every other cycle: compaction trims the group log it checkpoints, and the cycles
        // between keep group-log segments to damage.
        if fault == .groupstate, cycle % 2 == 0, let problem = Self.compactForCheckpoints(epoch.root) {
            stats.violations.append(
                "\(fault.rawValue) cycle \(cycle): compaction before the damage failed: \(problem) — \(replay)")
            return
        }
        let backup = epoch.directory + "/backup"
        DrillFiles.removeTree(backup)
        try DrillFiles.copyTree(epoch.root, to: backup)
        defer {
            DrillFiles.removeTree(backup)
            DrillFiles.removeTree(epoch.directory + "/outside")
        }
        for _ in 0..<settings.injectionsPerCycle {
            let planted =
                fault == .plant
                ? try DrillPlanter.plant(root: epoch.root, scratch: epoch.directory, random: &random)
                : try DrillPlanter.damageGroupState(root: epoch.root, random: &random)
            guard let injection = planted else { continue }
            defer {
                DrillFiles.removeTree(epoch.root)
                try? DrillFiles.copyTree(backup, to: epoch.root)
            }
            stats.injected += 1
            stats.targets[injection.kind, default: .init()].injected += 1
            let before = injection.outside.map(DrillPlanter.snapshot)
            let result = epoch.checker.check(root: epoch.root)
            if let outside = injection.outside, DrillPlanter.snapshot(outside) != before {
                stats.violations.append(
                    "\(fault.rawValue) cycle \(cycle): \(injection): the file or directory outside the root changed — \(replay)"
                )
            }
            if let error = result.error {
                stats.targets[injection.kind, default: .init()].reported += 1
                if error.path != nil {
                    stats.refused += 1
                } else {
                    stats.violations.append(
                        "\(fault.rawValue) cycle \(cycle): \(injection) was refused without naming a file: \(error) — \(replay)"
                    )
                }
            } else if result.violations > 0 {
                stats.lost += result.lost.count
                stats.redelivered += result.redelivered.count
                stats.violations.append(
                    "\(fault.rawValue) cycle \(cycle): \(injection) was not refused, and \(result.summary) — \(replay)")
            } else {
                stats.handled += 1
            }
        }
    }

    /// Runs the compactor over the checked root, so the group has checkpoints to damage (it
    /// writes them; the children never compact). Returns what went wrong, or nil.
    private static func compactForCheckpoints(_ root: String) -> String? {
        var options = SpoolOptions()
        options.createIfMissing = false
        options.logger.logLevel = .critical
        do {
            let spool = try SpoolRoot.open(at: root, options: options)
            defer { spool.close() }
            let report = try spool.compact()
            return report.queues.compactMap(\.error).first.map { "\($0)" }
        } catch {
            return "\(error)"
        }
    }

    /// Damages a copy of the checked root `injectionsPerCycle` times, checking each, then puts
    /// the root back as it was.
    private func corrupt(
        _ mutation: DrillCorruptor.Mutation, epoch: Epoch, cycle: Int, stats: inout DrillStats,
        random: inout DrillRandom, replay: String
    ) throws {
        let backup = epoch.directory + "/backup"
        DrillFiles.removeTree(backup)
        try DrillFiles.copyTree(epoch.root, to: backup)
        defer { DrillFiles.removeTree(backup) }
        for _ in 0..<settings.injectionsPerCycle {
            let target = DrillCorruptor.Target.allCases[
                Int.random(in: 0..<DrillCorruptor.Target.allCases.count, using: &random)]
            guard let injection = try DrillCorruptor.inject(mutation, into: target, root: epoch.root, random: &random)
            else { continue }
            stats.injected += 1
            stats.targets[target.rawValue, default: .init()].injected += 1
            if injection.syncedData { stats.syncedInjected += 1 }
            let result = epoch.checker.check(root: epoch.root)
            defer {
                DrillFiles.removeTree(epoch.root)
                try? DrillFiles.copyTree(backup, to: epoch.root)
            }
            if let error = result.error {
                stats.targets[target.rawValue, default: .init()].reported += 1
                guard injection.syncedData else {
                    stats.handled += 1
                    continue
                }
                if error.path != nil && (error.position != nil || error.offset != nil) {
                    stats.detected += 1
                } else {
                    stats.detectedWithoutPosition += 1
                    stats.violations.append(
                        "\(mutation) cycle \(cycle): \(injection) was reported without a position: \(error) — \(replay)"
                    )
                }
            } else if result.violations > 0 {
                stats.violations.append(
                    "\(mutation) cycle \(cycle): \(injection) was not reported, and the log changed: \(result.summary) — \(replay)"
                )
            } else if injection.syncedData {
                stats.undetectedHarmless.append("\(injection)")
            } else {
                stats.handled += 1
            }
        }
        guard DrillFiles.size(epoch.root + "/queues") >= 0 else {
            throw SpoolError(.io, "the drilled root could not be restored from its copy", path: epoch.root)
        }
    }
}
