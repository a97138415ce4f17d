import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// The compaction crash protocol (FORMAT.md, "Compaction") under a crash at every step: through
/// the file-system seam (every changing call from the N-th on fails, as if the process had
/// died just before it) and by SIGKILL of a real `spool compact`. After each crash, reopening
/// finishes or rolls back what was left, and every task the group did not ack is delivered
/// exactly once, none twice, none with another payload.
@Suite("Compaction crashes", .serialized)
struct CompactionCrashTests {
    typealias F = CompactionFixture

    /// Tasks 0..<1500; group g acked 0..<300 and, in 300..<1200, all but every 10th.
    static let live: [Int64] = (300..<1200).filter { $0 % 10 == 0 } + Array(1200..<1500)

    static func makeTemplate(at path: String, count: Int = 1500) async throws {
        let root = try openRoot(at: path, options: F.options())
        let log = try root.queue("q")
        try await F.fill(log, count: count)
        let group = try root.group("g", on: "q")
        let liveSet = Set(live)
        try await group.acknowledge(offsets: (0..<1200).map(Int64.init).filter { !liveSet.contains($0) })
        root.close()
    }

    /// Opens `path` as a fresh process would and checks the tasks and the files.
    static func expectIntact(_ path: String, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let root = try openRoot(at: path, options: F.options())
        defer { root.close() }
        let log = try root.queue("q")
        let leftovers = Files.list(log.directory).filter { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") || $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(label): leftovers \(leftovers)", sourceLocation: sourceLocation)
        let offsets = try F.readChecked(log, sourceLocation: sourceLocation)
        let missing = Set(live).subtracting(offsets)
        #expect(missing.isEmpty, "\(label): \(missing.count) live tasks missing from the log", sourceLocation: sourceLocation)
        let delivered = try await F.claimAll(try root.group("g", on: "q"))
        #expect(delivered == live, "\(label): delivered \(delivered.count) tasks, expected \(live.count)", sourceLocation: sourceLocation)
    }

    @Test("a crash at every step of compaction loses no task and delivers none twice")
    func crashAtEveryStep() async throws {
        try await withTemporaryDirectory { dir in
            let template = dir + "/template"
            try await Self.makeTemplate(at: template)
            // Count the changing calls of one whole compaction.
            let probe = dir + "/probe"
            try F.copyTree(template, probe)
            let counting = FaultInjectingFileSystem()
            let root = try openRoot(at: probe, options: F.options { $0.fileSystem = counting })
            _ = try root.queue("q")
            _ = try root.groupLog("g", on: "q")
            counting.setPlan(.init())
            let report = try root.compact()
            let steps = counting.counters.mutations
            root.close()
            #expect(report.queues.first?.segmentsRewritten ?? 0 >= 2 && report.queues.first?.segmentsDeleted ?? 0 >= 1)
            try await Self.expectIntact(probe, "no crash")
            #expect(steps > 20, "\(steps) steps")
            var crashesThatLeftLeftovers = 0
            for step in 0...steps {
                let path = dir + "/crash-\(step)"
                try F.copyTree(template, path)
                let fs = FaultInjectingFileSystem()
                let crashing = try openRoot(at: path, options: F.options { $0.fileSystem = fs })
                _ = try crashing.queue("q")
                _ = try crashing.groupLog("g", on: "q")
                var plan = FaultInjectingFileSystem.Plan()
                plan.failMutationsAfter = step
                fs.setPlan(plan)
                _ = try? crashing.compact()
                crashing.close()
                let directory = QueueFiles.directory(path, "q")
                if Files.list(directory).contains(where: { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") }) { crashesThatLeftLeftovers += 1 }
                try await Self.expectIntact(path, "crash after \(step) of \(steps) steps")
                // A later compaction resumes and finishes the job (checked at every third step, for time).
                guard step % 3 == 0 || step == steps else { TempDirectory.remove(path); continue }
                let again = try openRoot(at: path, options: F.options())
                let second = try again.compact()
                again.close()
                #expect(second.problems.isEmpty, "\(second.problems)")
                try await Self.expectIntact(path, "compacted again after a crash at step \(step)")
                TempDirectory.remove(path)
            }
            #expect(crashesThatLeftLeftovers >= 2, "the sweep crashed between .cleaned and live")
        }
    }

    @Test("leftover .cleaned is deleted and .swap is made live at open; plan shows it without acting")
    func leftoversPlanAndApply() async throws {
        try await withTemporaryDirectory { dir in
            let template = dir + "/template"
            try await Self.makeTemplate(at: template)
            let directory = QueueFiles.directory(template, "q")
            let bases = QueueFiles.bases(directory)
            // A finished rewrite of the second segment, and an unfinished one of the third.
            let path = dir + "/swapped"
            try F.copyTree(template, path)
            let fs = FaultInjectingFileSystem()
            let root = try openRoot(at: path, options: F.options { $0.fileSystem = fs })
            _ = try root.queue("q")
            _ = try root.groupLog("g", on: "q")
            var plan = FaultInjectingFileSystem.Plan()
            plan.failRenameSuffix = ".log"
            fs.setPlan(plan)
            _ = try? root.compact()
            root.close()
            let swapped = QueueFiles.directory(path, "q")
            let swaps = Files.list(swapped).filter { $0.hasSuffix(".log.swap") }
            try #require(swaps.count == 1, "\(Files.list(swapped))")
            try Files.write(swapped + "/" + QueueFiles.stem(bases[2]) + ".log.cleaned", Array(repeating: 7, count: 100))
            let planned = try CompactionLeftovers.plan(in: swapped)
            #expect(planned.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.deleteCleaned, .finishSwap])
            #expect(planned.first { $0.kind == .finishSwap }?.description.contains("make") == true)
            // Planning changed nothing.
            #expect(Files.list(swapped).filter { $0.hasSuffix(".swap") || $0.hasSuffix(".cleaned") }.count == 2)
            let reopened = try openRoot(at: path, options: F.options())
            let report = try reopened.queue("q").recoveryReport
            reopened.close()
            #expect(report.compactionLeftovers.count == 2)
            try await Self.expectIntact(path, "leftovers resolved at open")
        }
    }

    @Test("SIGKILL of a real spool compact at any moment loses no task and delivers none twice")
    func sigkillDuringCompact() async throws {
        try await withTemporaryDirectory { dir in
            let template = dir + "/template"
            try await Self.makeTemplate(at: template)
            var killedMidway = 0
            for (i, delay) in [30, 120, 300, 700, 1500].enumerated() {
                let path = dir + "/kill-\(i)"
                try F.copyTree(template, path)
                // About 1 MB to read at 400 KB/s: the kills land during the rewrites.
                let child = try SpoolBinary.spawn(["compact", "--dir", path, "--max-bytes-per-second", "400000"],
                                                  stdout: dir + "/out-\(i)", stderr: dir + "/err-\(i)")
                await pause(milliseconds: delay)
                child.kill(SIGKILL)
                let ended = try await child.wait(timeoutSeconds: 30)
                if ended.signal == SIGKILL { killedMidway += 1 } else { #expect(ended.status == 0, "\(ended)") }
                try await Self.expectIntact(path, "SIGKILL after \(delay) ms")
            }
            #expect(killedMidway >= 3)
        }
    }

    @Test("a power cut during compaction's front deletions, losing any subset of unsynced unlinks, never leaves a gap in the log")
    func powerCutDuringFrontDeletionsLeavesNoGap() async throws {
        try await withTemporaryDirectory { dir in
            let template = dir + "/template"
            let root = try openRoot(at: template, options: F.options())
            try await F.fill(try root.queue("q"), count: 1500)
            try await root.group("g", on: "q").acknowledge(offsets: (0..<1500).map(Int64.init))
            root.close()
            // Count the changing calls of one whole compaction: the cuts fall at each of them.
            let probe = dir + "/probe"
            try F.copyTree(template, probe)
            let counting = FaultInjectingFileSystem()
            let probing = try openRoot(at: probe, options: F.options { $0.fileSystem = counting })
            _ = try probing.queue("q")
            _ = try probing.groupLog("g", on: "q")
            counting.setPlan(.init())
            let deleted = try probing.compact().queues.first?.segmentsDeleted ?? 0
            let steps = counting.counters.mutations
            probing.close()
            #expect(deleted >= 3, "only \(deleted) segments deleted")
            var gaps: [String] = []
            var deletionsCut = 0
            for step in 0...steps {
                for seed in UInt64(0)..<2 {
                    let path = dir + "/cut-\(step)-\(seed)"
                    try F.copyTree(template, path)
                    let journal = path + ".undo"
                    let faults = FaultInjectingFileSystem(wrapping: try PowerCutFileSystem(journalPath: journal))
                    let crashing = try openRoot(at: path, options: F.options { $0.fileSystem = faults })
                    _ = try crashing.queue("q")
                    _ = try crashing.groupLog("g", on: "q")
                    var plan = FaultInjectingFileSystem.Plan()
                    plan.failMutationsAfter = step
                    faults.setPlan(plan)
                    _ = try? crashing.compact()
                    crashing.close()
                    var random = SplitMix64(seed: seed &* 7919 &+ UInt64(step))
                    let outcome = try PowerCut.apply(journal: journal, random: &random, entries: .anySubset)
                    if outcome.entriesUndone > 0 { deletionsCut += 1 }
                    let files = QueueFiles.segments(QueueFiles.directory(path, "q"))
                    do {
                        let reopened = try openRoot(at: path, options: F.options())
                        defer { reopened.close() }
                        let log = try reopened.queue("q")
                        let offsets = try F.readChecked(log)
                        if offsets != Array(log.firstOffset..<1500) {
                            gaps.append("step \(step) seed \(seed): \(files) read \(offsets.count) offsets from \(log.firstOffset)")
                        }
                    } catch {
                        gaps.append("step \(step) seed \(seed): \(files): \(error)")
                    }
                    TempDirectory.remove(path)
                    unlink(journal)
                }
            }
            #expect(deletionsCut > 0, "no cut undid a directory entry")
            #expect(gaps.isEmpty, "\(gaps.count) cuts left a gap, e.g. \(gaps.prefix(3))")
        }
    }
}
