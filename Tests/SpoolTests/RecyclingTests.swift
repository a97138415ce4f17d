import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// A root whose active segment is a recycled file (FORMAT.md, "Recycled segments"): three
/// segments of "old" records, the first acked and deleted by the compactor (kept as a spare),
/// then "new" records until the writer rolled into the spare.
private struct Recycled {
    let root: SpoolRoot
    let log: QueueLog
    /// The value appended at each offset still in the log.
    var expected: [Int64: [UInt8]]
    /// The recycled segment's file, its inode (the deleted segment's), and the deleted
    /// segment's bytes.
    let path: String
    let inode: ino_t
    let oldBytes: [UInt8]

    static func options(_ configure: (inout SpoolOptions) -> Void = { _ in }) -> SpoolOptions {
        testOptions {
            $0.segmentBytes = 64 << 10
            $0.preallocationStepBytes = 4096
            $0.compactionIntervalMilliseconds = nil
            configure(&$0)
        }
    }

    static func value(_ generation: String, _ offset: Int64) -> [UInt8] {
        Array("\(generation)-\(offset)-".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: offset % 251 + 1), count: 700)
    }

    /// Appends `count` records of `generation` in one batch; returns their offsets.
    @discardableResult
    static func append(_ log: QueueLog, _ generation: String, count: Int = 5, into expected: inout [Int64: [UInt8]]) async throws -> Range<Int64> {
        let first = log.committed.nextOffset
        let records = (0..<Int64(count)).map { RecordInput(value: value(generation, first + $0), timestamp: 1) }
        let got = try await log.append(batch: records)
        #expect(got == first)
        for i in 0..<Int64(count) { expected[first + i] = records[Int(i)].value }
        return first..<(first + Int64(count))
    }

    static func inode(_ path: String) -> ino_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_ino : 0
    }

    static func make(at path: String, options: SpoolOptions = Recycled.options()) async throws -> Recycled {
        let root = try openRoot(at: path, options: options)
        let log = try root.queue("q")
        var expected: [Int64: [UInt8]] = [:]
        while log.shared.snapshot.segments.count < 3 { try await append(log, "old", into: &expected) }
        let (firstPath, firstEnd) = { (s: [Segment]) in (s[0].logPath, s[1].baseOffset) }(log.shared.snapshot.segments)
        let inode = inode(firstPath)
        let oldBytes = try Files.read(firstPath)
        try await root.group("g", on: "q").acknowledge(offsets: Array(0..<firstEnd))
        let report = try root.compact(queues: ["q"])
        try #require(report.queues.first?.segmentsDeleted == 1)
        try #require(Files.exists(log.directory + "/00000000000000000000.log.spare"), "the deleted segment was kept as a spare")
        for offset in 0..<firstEnd { expected[offset] = nil }
        let before = log.shared.snapshot.segments.count
        // Bounded: a 64 KiB segment rolls after at most ~20 appends of 3.5 KB.
        for _ in 0..<100 where log.shared.snapshot.segments.count == before { try await append(log, "new", into: &expected) }
        let active = try #require(log.shared.snapshot.segments.last?.logPath)
        return Recycled(root: root, log: log, expected: expected, path: active, inode: inode, oldBytes: oldBytes)
    }

    /// Every record from the log start: each must be the value appended at its offset, and
    /// the offsets run without a gap.
    static func expectRecords(_ log: QueueLog, _ expected: [Int64: [UInt8]], _ label: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int64] {
        let records = try readAll(log, from: log.firstOffset)
        var previous: Int64? = nil
        for record in records {
            #expect(expected[record.offset] == record.value, "\(label): offset \(record.offset) holds \(String(decoding: (record.value ?? []).prefix(16), as: UTF8.self))",
                    sourceLocation: sourceLocation)
            if let previous { #expect(record.offset == previous + 1, "\(label): gap before \(record.offset)", sourceLocation: sourceLocation) }
            previous = record.offset
        }
        return records.map(\.offset)
    }
}

@Suite("Segment recycling", .serialized)
struct RecyclingTests {
    @Test("a segment the compactor deleted becomes the next segment: same file, old bytes left past the tail, only new records read, verify clean")
    func deletedSegmentBecomesTheNextOne() async throws {
        try await withTemporaryDirectory { dir in
            let r = try await Recycled.make(at: dir + "/root")
            #expect(!Files.exists(r.log.directory + "/00000000000000000000.log.spare"), "the spare was used")
            #expect(Recycled.inode(r.path) == r.inode, "the new segment is the deleted segment's file")
            // Nothing was zero-filled: the old segment's last bytes are still there, past the tail.
            let now = try Files.read(r.path)
            #expect(now.count >= r.oldBytes.count)
            #expect(Array(now[(r.oldBytes.count - 512)..<r.oldBytes.count]) == Array(r.oldBytes.suffix(512)))
            let offsets = try Recycled.expectRecords(r.log, r.expected, "live")
            #expect(offsets.count == r.expected.count)
            let report = try Verifier().verify(path: dir + "/root")
            #expect(report.problems == [], "verify of a live root with a recycled segment")
            r.root.close()
            let reopened = try openRoot(at: dir + "/root", options: Recycled.options())
            defer { reopened.close() }
            #expect(try Recycled.expectRecords(try reopened.queue("q"), r.expected, "reopened").count == r.expected.count)
            #expect(try Verifier().verify(path: dir + "/root").problems == [])
        }
    }

    @Test("recovery after a crash ends a recycled segment at its end marker: nothing cut, no old record read, appends go on in the recycled space")
    func crashInRecycledSegmentCutsNothing() async throws {
        try await withTemporaryDirectory { dir in
            var r = try await Recycled.make(at: dir + "/root")
            let copy = try crashCopy(root: dir + "/root", queue: "q", to: dir + "/copy")
            r.root.close()
            let root = try openRoot(at: copy, options: Recycled.options())
            defer { root.close() }
            let log = try root.queue("q")
            #expect(log.recoveryReport.bytesTruncated == 0 && log.recoveryReport.brokenFiles.isEmpty)
            _ = try Recycled.expectRecords(log, r.expected, "after the crash")
            let path = log.directory + "/" + (r.path.split(separator: "/").last.map(String.init) ?? "")
            let size = Files.size(path)
            // Past several fences (one 4 KiB step each), still inside the recycled space.
            for _ in 0..<6 { try await Recycled.append(log, "after", into: &r.expected) }
            #expect(Files.size(path) == size, "appends overwrite the recycled space instead of growing the file")
            let again = try crashCopy(root: copy, queue: "q", to: dir + "/again")
            let second = try openRoot(at: again, options: Recycled.options())
            defer { second.close() }
            let secondLog = try second.queue("q")
            #expect(secondLog.recoveryReport.bytesTruncated == 0)
            #expect(try Recycled.expectRecords(secondLog, r.expected, "second crash").count == r.expected.count)
        }
    }

    @Test("a power cut at every step of appends into a recycled segment keeps every acknowledged record, brings back no old one, and cuts at most a step")
    func powerCutInRecycledSegment() async throws {
        try await withTemporaryDirectory { dir in
            let r = try await Recycled.make(at: dir + "/live")
            let template = try crashCopy(root: dir + "/live", queue: "q", to: dir + "/template")
            r.root.close()
            // Count the changing calls of the appends.
            let probe = dir + "/probe"
            try CompactionFixture.copyTree(template, probe)
            let counting = FaultInjectingFileSystem()
            let probeRoot = try openRoot(at: probe, options: Recycled.options { $0.fileSystem = counting })
            let probeLog = try probeRoot.queue("q")
            counting.setPlan(.init())
            var scratch = r.expected
            for _ in 0..<6 { try await Recycled.append(probeLog, "cut", into: &scratch) }
            let steps = counting.counters.mutations
            probeRoot.close()
            #expect(steps >= 12, "\(steps) steps")
            for crashAfter in 0...steps {
                for seed in UInt64(1)...2 {
                    try await Self.cut(template: template, at: dir + "/run-\(crashAfter)-\(seed)", crashAfter: crashAfter, seed: seed,
                                       expected: r.expected)
                }
            }
        }
    }

    /// One power cut: appends into the recycled segment until the `crashAfter`-th changing
    /// call, then the power-cut model undoes what was not synced (tearing the last write), and
    /// a fresh open must find every acked record, only records appended at their offsets, and
    /// a `.broken` copy no longer than the fence bounds it.
    static func cut(template: String, at run: String, crashAfter: Int, seed: UInt64, expected: [Int64: [UInt8]]) async throws {
        let label = "crash after \(crashAfter), seed \(seed)"
        try CompactionFixture.copyTree(template, run)
        let faults = FaultInjectingFileSystem(wrapping: try PowerCutFileSystem(journalPath: run + ".undo"))
        let root = try openRoot(at: run, options: Recycled.options { $0.fileSystem = faults })
        let log = try root.queue("q")
        var plan = FaultInjectingFileSystem.Plan()
        plan.failMutationsAfter = crashAfter
        faults.setPlan(plan)
        var attempted = expected
        var acked = Set(expected.keys)
        for _ in 0..<6 {
            let first = log.committed.nextOffset
            var values: [Int64: [UInt8]] = [:]
            for i in Int64(0)..<5 { values[first + i] = Recycled.value("cut", first + i) }
            attempted.merge(values) { $1 }
            do {
                try await Recycled.append(log, "cut", into: &attempted)
                acked.formUnion(values.keys)
            } catch {
                break  // the process is dead from here
            }
        }
        root.close()
        var random = SplitMix64(seed: seed &* 7919 &+ UInt64(crashAfter))
        _ = try PowerCut.apply(journal: run + ".undo", random: &random)
        let reopened = try openRoot(at: run, options: Recycled.options())
        defer { reopened.close() }
        let reopenedLog = try reopened.queue("q")
        let offsets = Set(try Recycled.expectRecords(reopenedLog, attempted, label))
        #expect(acked.isSubset(of: offsets), "\(label): acked records lost: \(acked.subtracting(offsets).sorted().prefix(5))")
        let broken = reopenedLog.recoveryReport.brokenFiles.reduce(Int64(0)) { $0 + Files.size($1) }
        #expect(broken <= 2 * 4096 + 8192, "\(label): \(broken) bytes cut: the fence did not bound the torn tail")
        #expect(try Verifier().verify(path: run).problems.filter { $0.kind != .leftoverFile } == [], "\(label): verify")
    }

    @Test("an idle writer zero-fills and syncs the next step ahead of the tail, so the next commit writes only its own batch")
    func idleWriterPreparesTheNextStep() async throws {
        try await withTemporaryDirectory { dir in
            let counting = FaultInjectingFileSystem()
            let options = testOptions {
                $0.preallocationStepBytes = 64 << 10
                $0.waitSpinMicroseconds = 0
                $0.fileSystem = counting
            }
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let log = try root.queue("q")
            let path = log.directory + "/00000000000000000000.log"
            _ = try await log.append([UInt8](repeating: 7, count: 1000))
            // That commit prepared the first step; idle, the writer prepares one more.
            try await waitFor("the idle writer to prepare a step past the tail") { Files.size(path) >= 128 << 10 }
            let before = counting.counters
            _ = try await log.append([UInt8](repeating: 9, count: 2000))
            let after = counting.counters
            #expect(Files.size(path) == 128 << 10, "the commit did not grow the file")
            #expect(after.writes - before.writes == 1, "the commit wrote only its batch, no zeros")
            #expect(after.bytesWritten - before.bytesWritten < 2200)
            #expect(after.dataSyncs - before.dataSyncs == 1)
        }
    }
}
