import Glibc
import MetricsTestKit
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Helpers for the compaction suites: a small-segment root, a filled queue, and checks that
/// read back exactly the tasks that should remain.
enum CompactionFixture {
    static let payloadSize = 200
    static func payload(_ offset: Int64) -> [UInt8] { TestPayload.make(offset, size: payloadSize) }

    /// 64 KiB segments, no background compactor, unthrottled.
    static func options(_ configure: (inout SpoolOptions) -> Void = { _ in }) -> SpoolOptions {
        testOptions {
            $0.segmentBytes = 64 << 10
            $0.compactionIntervalMilliseconds = nil
            $0.compactionBytesPerSecond = 0
            configure(&$0)
        }
    }

    /// Appends `count` tasks in appends of 10 (about 300 per segment); offset o carries payload(o).
    static func fill(_ log: QueueLog, count: Int, key: ((Int64) -> [UInt8]?)? = nil, timestamp: ((Int64) -> Int64)? = nil) async throws {
        var next = log.committed.nextOffset
        let end = next + Int64(count)
        while next < end {
            let n = min(10, end - next)
            let records = (next..<(next + n)).map { o in
                RecordInput(value: payload(o), key: key?(o), timestamp: timestamp?(o) ?? TestPayload.timestamp(o))
            }
            let first = try await log.append(batch: records)
            #expect(first == next)
            next += n
        }
    }

    /// Every record from the log start, checked: offsets strictly increase (nothing twice) and
    /// each payload is its offset's.
    static func readChecked(_ log: QueueLog, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int64] {
        var offsets: [Int64] = []
        for record in try readAll(log, from: log.firstOffset) {
            if let last = offsets.last, record.offset <= last {
                Issue.record("offset \(record.offset) after \(last)", sourceLocation: sourceLocation)
            }
            if record.value != payload(record.offset) {
                Issue.record("offset \(record.offset) holds another payload", sourceLocation: sourceLocation)
            }
            offsets.append(record.offset)
        }
        return offsets
    }

    /// Claims everything the group delivers now, without acking; returns the offsets in order.
    static func claimAll(_ group: ConsumerGroup) async throws -> [Int64] {
        var offsets: [Int64] = []
        // Bounded: each round claims at least one task or stops.
        for _ in 0..<10_000 {
            let batch = try await group.claim(max: 500)
            if batch.tasks.isEmpty { break }
            offsets += batch.tasks.map(\.offset)
        }
        return offsets
    }

    /// Allocated bytes (st_blocks) of every file under `path`.
    static func diskUsage(_ path: String) -> Int64 {
        var total: Int64 = 0
        for name in Files.list(path) {
            let child = path + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR { total += diskUsage(child) } else { total += Int64(info.st_blocks) * 512 }
        }
        return total
    }

    /// Copies a directory tree (regular files and directories).
    static func copyTree(_ source: String, _ destination: String) throws {
        try Files.makeDirectory(destination)
        for name in Files.list(source) {
            if Files.isDirectory(source + "/" + name) {
                try copyTree(source + "/" + name, destination + "/" + name)
            } else {
                try Files.write(destination + "/" + name, try Files.read(source + "/" + name))
            }
        }
    }
}

@Suite("Compaction")
struct CompactionTests {
    typealias F = CompactionFixture

    @Test("segments every group acked are deleted, the log start moves up, and unacked tasks are still delivered")
    func ackedSegmentsDeleted() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: F.options())
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            let fast = try root.group("fast", on: "q"), slow = try root.group("slow", on: "q")
            try await fast.acknowledge(offsets: Array(0..<900))
            try await slow.acknowledge(offsets: Array(0..<600))
            let bases = QueueFiles.bases(log.directory)
            try #require(bases.count >= 4)
            let report = try root.compact()
            let q = try #require(report.queues.first { $0.queue == "q" })
            let expectedStart = bases.last { $0 <= 600 }!
            #expect(q.segmentsDeleted == bases.firstIndex(of: expectedStart)!)
            #expect(q.segmentsDeletedAcked == q.segmentsDeleted && q.segmentsDeletedRetention == 0)
            #expect(log.firstOffset == expectedStart && q.logStartOffset == expectedStart)
            #expect(QueueFiles.bases(log.directory).first == expectedStart)
            #expect(try F.readChecked(log) == Array(expectedStart..<1500))
            #expect(try await F.claimAll(slow) == Array(600..<1500))
            root.close()
            // After reopening, the log start is the first segment's base, and nothing acked comes back.
            let reopened = try openRoot(at: dir + "/root", options: F.options())
            defer { reopened.close() }
            #expect(try reopened.queue("q").firstOffset == expectedStart)
            #expect(try await F.claimAll(try reopened.group("slow", on: "q")) == Array(600..<1500))
            #expect(try await F.claimAll(try reopened.group("fast", on: "q")) == Array(900..<1500))
        }
    }

    @Test("a sparse segment is rewritten with its live tasks at their offsets, and reads and seeks still work")
    func sparseRewrite() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: F.options())
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            let group = try root.group("g", on: "q")
            // Everything but every 10th task of the first 1200 is acked: the early segments are 90% dead.
            let live = Set((0..<1200).filter { $0 % 10 == 0 }.map(Int64.init))
            try await group.acknowledge(offsets: (0..<1200).map(Int64.init).filter { !live.contains($0) })
            let before = QueueFiles.bases(log.directory).map { Files.size(QueueFiles.logPath(log.directory, $0)) }
            let report = try root.compact()
            let q = try #require(report.queues.first)
            #expect(q.segmentsRewritten >= 2)
            #expect(q.recordsRemoved > 0 && q.bytesWritten < q.bytesRead)
            let after = QueueFiles.bases(log.directory).map { Files.size(QueueFiles.logPath(log.directory, $0)) }
            #expect(after.reduce(0, +) < before.reduce(0, +) / 2)
            let expected = live.sorted() + Array(1200..<1500)
            #expect(try F.readChecked(log) == expected)
            var reader = log.reader(from: 555)
            #expect(try reader.read(max: 2).map(\.offset) == [560, 570])
            #expect(try await F.claimAll(group) == expected)
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: F.options())
            defer { reopened.close() }
            #expect(try F.readChecked(try reopened.queue("q")) == expected)
            #expect(try await F.claimAll(try reopened.group("g", on: "q")) == expected)
        }
    }

    @Test("after every task is acked, compaction leaves the queue one empty active segment, and appends go on at the next offset")
    func drainedQueueShrinks() async throws {
        try await withTemporaryDirectory { dir in
            let options = F.options()
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            let group = try root.group("g", on: "q")
            try await group.acknowledge(offsets: Array(0..<1500))
            let report = try root.compact()
            #expect(report.problems.isEmpty)
            #expect(QueueFiles.bases(log.directory) == [1500])
            #expect(report.queues.first?.rolls == 1)
            let usage = F.diskUsage(log.directory)
            #expect(usage <= Int64(options.preallocationStepBytes), "queue directory holds \(usage) bytes")
            #expect(try await F.claimAll(group).isEmpty)
            try await F.fill(log, count: 5)
            #expect(try await F.claimAll(group) == Array(1500..<1505))
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let g = try reopened.group("g", on: "q")
            #expect(g.openReport.checkpointOffset != nil)
            #expect(try await F.claimAll(g) == Array(1500..<1505))
        }
    }

    @Test("retention by bytes bounds a queue whose group never acks; the group skips to the log start")
    func retentionBytesWithIdleGroup() async throws {
        try await withTemporaryDirectory { dir in
            let limit: Int64 = 100 << 10
            let root = try openRoot(at: dir + "/root", options: F.options { $0.retentionBytes = limit })
            let log = try root.queue("q")
            let idle = try root.group("idle", on: "q")
            try await F.fill(log, count: 100)
            #expect(try await idle.claim(max: 5).tasks.map(\.offset) == [0, 1, 2, 3, 4])
            try await F.fill(log, count: 1400)
            let report = try root.compact()
            let q = try #require(report.queues.first)
            #expect(q.segmentsDeletedRetention > 0 && q.segmentsDeletedAcked == 0)
            #expect(q.segmentBytes <= limit + Int64(64 << 10))
            let start = log.firstOffset
            #expect(start > 5)
            let delivered = try await F.claimAll(idle)
            #expect(delivered.first == start && delivered.last == 1499 && delivered.count == Int(1500 - start))
            #expect(try F.readChecked(log) == Array(start..<1500))
        }
    }

    @Test("retention set to zero deletes every sealed segment and never the active one")
    func retentionZero() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: F.options { $0.retentionBytes = 0; $0.retentionMilliseconds = 0 })
            defer { root.close() }
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            let active = log.committed.segment
            _ = try root.compact()
            #expect(QueueFiles.bases(log.directory) == [active])
            #expect(try F.readChecked(log) == Array(active..<1500))
            try await F.fill(log, count: 10)
            #expect(log.committed.nextOffset == 1510)
        }
    }

    @Test("retention by age deletes old segments, and a clock gone backwards deletes nothing")
    func retentionAgeAndClockBackwards() async throws {
        try await withTemporaryDirectory { dir in
            let clock = TestClock()
            let day: Int64 = 86_400_000
            let root = try openRoot(at: dir + "/root", options: F.options { $0.retentionMilliseconds = day; $0.clock = clock })
            defer { root.close() }
            let log = try root.queue("q")
            // Tasks stamped two days after the clock: the clock is behind them (it went backwards).
            try await F.fill(log, count: 1500, timestamp: { _ in TestClock.start + 2 * day })
            let segments = QueueFiles.bases(log.directory)
            var report = try root.compact()
            #expect(report.queues.first?.segmentsDeleted == 0)
            #expect(QueueFiles.bases(log.directory) == segments)
            // Four days on, they are two days old: every sealed segment goes.
            clock.advance(milliseconds: 4 * day)
            report = try root.compact()
            #expect(report.queues.first?.segmentsDeletedRetention == segments.count - 1)
            #expect(QueueFiles.bases(log.directory) == [segments.last!])
        }
    }

    @Test("key compaction keeps the latest task of each key and drops tombstones past their retention")
    func keyCompaction() async throws {
        try await withTemporaryDirectory { dir in
            let clock = TestClock()
            let root = try openRoot(at: dir + "/root", options: F.options { $0.keyCompaction = true; $0.clock = clock; $0.tombstoneRetentionMilliseconds = 1000 })
            defer { root.close() }
            let log = try root.queue("q")
            // 1500 tasks over 50 keys: only the last 50 are the latest of their key.
            try await F.fill(log, count: 1500, key: { Array("k\($0 % 50)".utf8) }, timestamp: { _ in TestClock.start })
            // Key k0 gets a tombstone, key k1 a tombstone too, then a new value.
            try await log.append(batch: [RecordInput(value: nil, key: Array("k0".utf8), timestamp: TestClock.start)])
            try await log.append(batch: [RecordInput(value: nil, key: Array("k1".utf8), timestamp: TestClock.start)])
            try await F.fill(log, count: 1, key: { _ in Array("k1".utf8) }, timestamp: { _ in TestClock.start })
            clock.advance(milliseconds: 2000)
            // Seal everything so all of it can be compacted.
            #expect(log.rollAndWait(timeoutMilliseconds: 5000))
            _ = try root.compact()
            let records = try readAll(log, from: log.firstOffset)
            var seen: Set<[UInt8]> = []
            for record in records {
                let key = try #require(record.key)
                #expect(!seen.contains(key), "key \(String(decoding: key, as: UTF8.self)) twice")
                seen.insert(key)
            }
            // k0's tombstone is past its retention: gone with everything before it.
            #expect(!seen.contains(Array("k0".utf8)))
            #expect(records.count == 49)
            #expect(records.allSatisfy { $0.value == F.payload($0.offset) })
            #expect(records.last?.offset == 1502 && records.last?.key == Array("k1".utf8))
        }
    }

    @Test("a reader holding a deleted segment finishes on it, then gets offsetOutOfRange naming the new log start")
    func readerAcrossDeletion() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: F.options { $0.retentionBytes = 0 })
            defer { root.close() }
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            var reader = log.reader(from: 0)
            let first = try #require(try reader.nextBatch())
            #expect(first.records.first?.offset == 0)
            let held = log.shared.snapshot.segments[0]
            _ = try root.compact()
            #expect(!Files.exists(held.logPath))
            // The cursor still holds the deleted segment: its next batch comes from the open file.
            let second = try #require(try reader.nextBatch())
            #expect(second.records.first?.offset == 10 && second.records.first?.value == F.payload(10))
            var fresh = log.reader(from: 0)
            let error = #expect(throws: SpoolError.self) { _ = try fresh.nextBatch() }
            #expect(error?.code == .offsetOutOfRange)
            #expect(error?.hint?.contains("\(log.firstOffset)") == true)
        }
    }

    @Test("opening a group reads its checkpoint and replays only the tail of its log")
    func groupOpensFromCheckpoint() async throws {
        try await withTemporaryDirectory { dir in
            let options = F.options()
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            let group = try root.group("g", on: "q")
            for start in stride(from: 0, to: 1000, by: 10) { try await group.acknowledge(offsets: Array(Int64(start)..<Int64(start + 10))) }
            _ = try root.compact()
            try await group.acknowledge(offsets: [1000, 1001])
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let g = try reopened.group("g", on: "q")
            #expect(g.openReport.checkpointOffset == 100)
            #expect(g.openReport.recordsReplayed == 1)
            #expect(g.progress.watermark == 1002)
        }
    }

    @Test("a truncated or corrupt group checkpoint is ignored and reported; the group replays from the older one and redelivers nothing acked")
    func badCheckpointIgnored() async throws {
        for damage in ["truncate", "flip"] {
            try await withTemporaryDirectory { dir in
                let options = F.options()
                let root = try openRoot(at: dir + "/root", options: options)
                let log = try root.queue("q")
                try await F.fill(log, count: 1500)
                let group = try root.group("g", on: "q")
                try await group.acknowledge(offsets: Array(0..<400))
                _ = try root.compact()
                try await group.acknowledge(offsets: Array(400..<700))
                _ = try root.compact()
                root.close()
                let path = log.directory + "/groups/g/checkpoint"
                #expect(Files.exists(path) && Files.exists(path + ".old"))
                if damage == "truncate" {
                    try ByteMutator.truncate(path, to: Files.size(path) - 3)
                } else {
                    try ByteMutator.flipBit(path, at: 12, bit: 3)
                }
                let reopened = try openRoot(at: dir + "/root", options: options)
                defer { reopened.close() }
                let g = try reopened.group("g", on: "q")
                #expect(g.openReport.ignoredCheckpoints.count == 1, "\(damage)")
                #expect(g.openReport.ignoredCheckpoints.first?.contains("checkpoint") == true)
                #expect(g.progress.watermark == 700, "\(damage)")
                #expect(try await F.claimAll(g).first == 700)
            }
        }
    }

    @Test("compaction metrics count deleted and rewritten segments")
    func metrics() async throws {
        try await withTemporaryDirectory { dir in
            let factory = TestMetrics()
            let root = try openRoot(at: dir + "/root", options: F.options { $0.metricsFactory = factory })
            defer { root.close() }
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            try await root.group("g", on: "q").acknowledge(offsets: Array(0..<1500))
            let report = try root.compact()
            let deleted = report.queues.first?.segmentsDeleted ?? 0
            #expect(deleted > 0)
            #expect(try factory.expectCounter("spool_compaction_segments_deleted_total", [("queue", "q")]).totalValue == Int64(deleted))
            #expect(try factory.expectCounter("spool_compaction_checkpoints_total", [("queue", "q")]).totalValue >= 1)
        }
    }
}

@Suite("Recovery in constant time")
struct ConstantRecoveryTests {
    typealias F = CompactionFixture

    /// Files opened by reopening a root and its queue after the root filled `count` tasks.
    static func opensAtReopen(count: Int, in dir: String) async throws -> (opens: Int, segments: Int, report: RecoveryReport) {
        let path = dir + "/root-\(count)"
        let root = try openRoot(at: path, options: F.options())
        try await F.fill(try root.queue("q"), count: count)
        root.close()
        let fs = FaultInjectingFileSystem()
        let reopened = try openRoot(at: path, options: F.options { $0.fileSystem = fs })
        defer { reopened.close() }
        let before = fs.counters.opens
        let log = try reopened.queue("q")
        return (fs.counters.opens - before, QueueFiles.bases(log.directory).count, log.recoveryReport)
    }

    @Test("opening a queue opens and scans the same few files whether it has 3 sealed segments or 30")
    func opensDoNotGrowWithSegments() async throws {
        try await withTemporaryDirectory { dir in
            let small = try await Self.opensAtReopen(count: 1000, in: dir)
            let large = try await Self.opensAtReopen(count: 10_000, in: dir)
            #expect(large.segments >= 10 * small.segments / 2 && large.segments >= 25)
            #expect(large.opens == small.opens, "\(small.opens) opens for \(small.segments) segments, \(large.opens) for \(large.segments)")
            #expect(large.report.segmentsScanned == 1 && small.report.segmentsScanned == 1)
            #expect(large.report.bytesScanned <= Int64(64 << 10))
        }
    }

    @Test("a sealed segment whose indexes are missing opens without rebuilding them, and the first read rebuilds them")
    func missingSealedIndexesRebuiltOnRead() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try openRoot(at: path, options: F.options())
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            root.close()
            let directory = QueueFiles.directory(path, "q")
            let sealed = QueueFiles.bases(directory)[1]
            unlink(QueueFiles.indexPath(directory, sealed))
            unlink(QueueFiles.timeIndexPath(directory, sealed))
            let reopened = try openRoot(at: path, options: F.options())
            defer { reopened.close() }
            let queue = try reopened.queue("q")
            #expect(queue.recoveryReport.indexesRebuilt == 0)
            #expect(!Files.exists(QueueFiles.indexPath(directory, sealed)))
            var reader = queue.reader(from: sealed + 100)
            #expect(try reader.read(max: 1).first?.value == F.payload(sealed + 100))
            #expect(Files.exists(QueueFiles.indexPath(directory, sealed)) && Files.size(QueueFiles.indexPath(directory, sealed)) > 0)
        }
    }
}

@Suite("Background compactor")
struct BackgroundCompactorTests {
    typealias F = CompactionFixture

    @Test("a root with a compaction interval deletes acked segments in the background, and close stops it")
    func backgroundPasses() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: F.options { $0.compactionIntervalMilliseconds = 20 })
            let log = try root.queue("q")
            try await F.fill(log, count: 1500)
            try await root.group("g", on: "q").acknowledge(offsets: Array(0..<1500))
            try await waitFor("the background compactor to delete the acked segments") { QueueFiles.bases(log.directory) == [1500] }
            root.close()
            // Closed: nothing runs any more, and the files stay as they are.
            let files = Files.list(log.directory).sorted()
            await pause(milliseconds: 100)
            #expect(Files.list(log.directory).sorted() == files)
        }
    }
}
