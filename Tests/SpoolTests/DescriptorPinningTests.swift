import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// No descriptor per sealed segment: the writer unpins a segment when it seals it, scanners
/// hold a counted use that ends with them, and a retired segment's descriptor closes once no
/// reader holds the segment. Counted through `/proc/self/fd`, only the descriptors that point
/// into the test's own directory (other tests run beside this one).
@Suite("Descriptors of sealed segments are not pinned", .serialized)
struct DescriptorPinningTests {
    /// 60 records of 1,000 bytes: about one 64 KiB segment per append.
    static func segmentWorth(_ first: Int64) -> [RecordInput] {
        (0..<60).map { i in RecordInput(value: TestPayload.make(first + Int64(i), size: 1_000), timestamp: TestPayload.timestamp(first + Int64(i))) }
    }

    /// What each open descriptor of this process points at, when it is below `directory`.
    static func openFiles(under directory: String) -> [String] {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(directory, &resolved) != nil else { return [] }
        let prefix = String(cString: resolved) + "/"
        var found: [String] = []
        for name in Files.list("/proc/self/fd") {
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink("/proc/self/fd/" + name, &target, target.count - 1)
            guard n > 0 else { continue }
            let path = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if path.hasPrefix(prefix) { found.append(path) }
        }
        return found.sorted()
    }

    /// The budget's bound, plus the active segment, its two index files, group logs, the lock
    /// and the recovery point's temp file: far below one descriptor per segment.
    static let bound = DescriptorBudget.defaultLimit + 16

    @Test("a writer that rolls 300 segments, then a group that consumes them all, verify and compaction hold at most the budget's 64 descriptors plus a few, and compaction's deleted segments leave none open")
    func rollingThreeHundredSegmentsKeepsDescriptorsBounded() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let spool = try openRoot(at: root, options: testOptions {
                $0.segmentBytes = 64 << 10
                $0.compactionIntervalMilliseconds = nil
                $0.compactionBytesPerSecond = 0
            })
            defer { spool.close() }
            let log = try spool.queue("q")
            let group = try spool.group("g", on: "q")
            var next: Int64 = 0
            for _ in 0..<300 {
                next = try log.appendBlocking(batch: Self.segmentWorth(next)) + 60
            }
            let segments = QueueFiles.segments(log.directory).count
            try #require(segments >= 290, "only \(segments) segments")
            var open = Self.openFiles(under: dir)
            #expect(open.count <= Self.bound, "after rolling \(segments) segments, \(open.count) descriptors are open")

            var delivered: Int64 = 0
            var peak = 0
            // Bounded: each round claims up to 500 of the 18,000 tasks, or stops.
            for _ in 0..<100 {
                let batch = try group.claimBlocking(max: 500)
                if batch.tasks.isEmpty { break }
                delivered += Int64(batch.tasks.count)
                _ = try group.ackBlocking(batch.tasks)
                peak = max(peak, Self.openFiles(under: dir).count)
            }
            #expect(delivered == next)
            #expect(peak <= Self.bound, "consuming \(segments) segments held up to \(peak) descriptors")

            var verifyPeak = 0
            let report = try Verifier().verify(path: root) { _ in verifyPeak = max(verifyPeak, Self.openFiles(under: dir).count) }
            #expect(report.problems.isEmpty, "\(report.problems.prefix(3))")
            #expect(verifyPeak <= Self.bound, "verify held up to \(verifyPeak) descriptors")

            let compaction = try spool.compact()
            #expect(compaction.problems.isEmpty && QueueFiles.segments(log.directory).count == 1)
            #expect(try group.claimBlocking(max: 1).tasks.isEmpty)
            open = Self.openFiles(under: dir)
            let live = Set(QueueFiles.segments(log.directory))
            let stale = open.filter { path in
                path.hasSuffix(" (deleted)") || (path.hasSuffix(".log") && !path.contains("/groups/") && !live.contains(String(path.split(separator: "/").last ?? "")))
            }
            #expect(stale.isEmpty, "descriptors of deleted segments still open: \(stale.prefix(5))")
            #expect(open.count <= 16, "after compaction \(open.count) descriptors are open: \(open.prefix(20))")

            // Appends and claims go on after all that.
            let first = try log.appendBlocking(batch: Self.segmentWorth(next))
            #expect(first == next)
            #expect(try group.claimBlocking(max: 100).tasks.map(\.offset) == Array(next..<(next + 60)))
        }
    }

    @Test("index rebuilds and age scans of 200 sealed segments (each through a scanner) leave at most the budget's descriptors open")
    func scannersReleaseTheirDescriptors() async throws {
        try await withTemporaryDirectory { dir in
            let budget = DescriptorBudget(limit: 8)
            var segments: [Segment] = []
            for base in 0..<200 {
                let path = dir + "/" + SegmentName.stem(Int64(base)) + RootLayout.logSuffix
                var batch: [UInt8] = []
                try RecordBatchEncoder.encode([RecordInput(value: [UInt8(base & 0xFF)], timestamp: Int64(base))], baseOffset: Int64(base), into: &batch)
                try Files.write(path, batch)
                segments.append(try Segment(directory: dir, baseOffset: Int64(base), writable: false, create: false,
                                            fileSystem: PosixFileSystem(), descriptors: budget))
            }
            var peak = 0
            for segment in segments {
                #expect(try segment.maxTimestamp(options: testOptions()) == segment.baseOffset)
                try segment.rebuildIndexFiles(end: try segment.size(), options: testOptions())
                #expect(!segment.isPinned)
                peak = max(peak, Self.openFiles(under: dir).count)
            }
            #expect(budget.openCount <= 8 && peak <= 8 + 1, "budget counts \(budget.openCount), \(peak) descriptors open at most")
        }
    }
}
