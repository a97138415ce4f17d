import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Readers: from any offset or timestamp, in batches or by count, while the writer appends.
@Suite("Reader")
struct ReaderTests {
    /// Payload sizes that vary with the offset, so batches and segments have uneven layouts.
    static func size(_ offset: Int64) -> Int { 50 + Int((offset &* 37) % 700) }

    /// Appends `count` records in appends of 1 to 6 records; record i has payload
    /// `TestPayload.make(i, size: size(i))` and timestamp `TestPayload.timestamp(i)`.
    static func fill(_ log: QueueLog, count: Int, seed: UInt64 = 7) async throws {
        var rng = SplitMix64(seed: seed)
        var next = log.committed.nextOffset
        let end = next + Int64(count)
        while next < end {
            let n = min(Int64(rng.next() % 6) + 1, end - next)
            let records = (next..<next + n).map { RecordInput(value: TestPayload.make($0, size: size($0)), timestamp: TestPayload.timestamp($0)) }
            #expect(try await log.append(batch: records) == next)
            next += n
        }
    }

    @Test("a reader starts at the first record, inside a batch, at the last record, and returns nothing past the end")
    func readerStartPositions() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            let batch = (0..<10).map { RecordInput(value: TestPayload.make(Int64($0), size: Self.size(Int64($0))), timestamp: TestPayload.timestamp(Int64($0))) }
            try await log.append(batch: batch)  // offsets 0...9 in one batch
            try await Self.fill(log, count: 15)  // 10...24

            expectRecords(try readAll(log), count: 25) { TestPayload.make($0, size: Self.size($0)) }

            var middle = log.reader(from: 5)
            let first = try #require(try middle.nextBatch())
            #expect(first.records.map(\.offset) == [5, 6, 7, 8, 9], "the records before 5 in the batch are dropped")
            #expect(first.header.baseOffset == 0)
            #expect(middle.nextOffset == 10)

            var last = log.reader(from: 24)
            #expect(try last.read(max: 10).map(\.offset) == [24])
            #expect(try last.nextBatch() == nil)

            var atEnd = log.reader(from: 25)
            #expect(try atEnd.nextBatch() == nil)
            var farPastEnd = log.reader(from: 1_000)
            #expect(try farPastEnd.read(max: 10).isEmpty)

            var negative = log.reader(from: -3)
            #expect(try negative.read(max: 1).first?.offset == 0)

            // A reader that caught up sees what is appended later, from where it stopped.
            try await Self.fill(log, count: 5)  // 25...29
            #expect(try atEnd.read(max: 100).map(\.offset) == Array(25...29))
            #expect(try last.read(max: 100).map(\.offset) == Array(25...29))
            #expect(try farPastEnd.read(max: 10).isEmpty)
        }
    }

    @Test("a reader from every offset of a multi-segment log starts exactly there")
    func readerFromEveryOffsetAcrossSegments() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.segmentBytes = 64 << 10 })
            defer { root.close() }
            let log = try root.queue("q")
            try await Self.fill(log, count: 400)
            #expect(QueueFiles.bases(QueueFiles.directory(dir + "/root", "q")).count >= 3)
            for offset in Int64(0)..<400 {
                var reader = log.reader(from: offset)
                let records = try reader.read(max: 3)
                let expected = Array(offset..<min(offset + 3, 400))
                if records.map(\.offset) != expected {
                    Issue.record("reader from \(offset) returned \(records.map(\.offset))")
                    break
                }
                #expect(records.first?.value == TestPayload.make(offset, size: Self.size(offset)))
            }
        }
    }

    @Test("read(max:) returns at most max records and the next call continues where it stopped")
    func readMaxContinues() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.segmentBytes = 64 << 10 })
            defer { root.close() }
            let log = try root.queue("q")
            try await Self.fill(log, count: 300)
            for max in [1, 4, 7, 50, 299, 1000] {
                var reader = log.reader(from: 0)
                var all: [Record] = []
                while true {
                    let chunk = try reader.read(max: max)
                    #expect(chunk.count <= max)
                    if chunk.isEmpty { break }
                    all += chunk
                }
                expectRecords(all, count: 300) { TestPayload.make($0, size: Self.size($0)) }
            }
        }
    }

    @Test("seek(toTimestamp:) finds the first record at or after a timestamp, across segments")
    func seekToTimestamp() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.segmentBytes = 64 << 10 })
            defer { root.close() }
            let log = try root.queue("q")
            try await Self.fill(log, count: 400)
            var reader = log.reader(from: 0)
            for target in Int64(0)..<400 {
                try reader.seek(toTimestamp: TestPayload.timestamp(target))
                let exact = try reader.read(max: 1).first?.offset
                try reader.seek(toTimestamp: TestPayload.timestamp(target) - 5)
                let between = try reader.read(max: 1).first?.offset
                if exact != target || between != target {
                    Issue.record("seek to the timestamp of \(target) gave \(exact.map(String.init) ?? "nothing"), just before it gave \(between.map(String.init) ?? "nothing")")
                    break
                }
            }
            try reader.seek(toTimestamp: .min)
            #expect(try reader.read(max: 1).first?.offset == 0)
            try reader.seek(toTimestamp: TestPayload.timestamp(400))
            #expect(try reader.read(max: 1).isEmpty)
            // seek(to:) clears the timestamp bound.
            try reader.seek(toTimestamp: TestPayload.timestamp(200))
            reader.seek(to: 3)
            #expect(try reader.read(max: 2).map(\.offset) == [3, 4])
        }
    }

    @Test("reading below the log's first offset throws .offsetOutOfRange naming the log start")
    func readBelowFirstOffset() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions { $0.segmentBytes = 64 << 10 }
            let root = try openRoot(at: dir + "/root", options: options)
            try await Self.fill(try root.queue("q"), count: 300)
            root.close()
            let directory = QueueFiles.directory(dir + "/root", "q")
            let bases = QueueFiles.bases(directory)
            try #require(bases.count >= 2)
            // The oldest segment goes, as retention would remove it.
            for path in [QueueFiles.logPath(directory, 0), QueueFiles.indexPath(directory, 0), QueueFiles.timeIndexPath(directory, 0)] {
                #expect(unlink(path) == 0)
            }
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let log = try reopened.queue("q")
            #expect(log.firstOffset == bases[1])
            var reader = log.reader(from: 0)
            let error = #expect(throws: SpoolError.self) { _ = try reader.nextBatch() }
            #expect(error?.code == .offsetOutOfRange)
            #expect(error?.offset == 0)
            #expect(error?.hint?.contains("\(bases[1])") == true)
            reader.seek(to: bases[1])
            expectRecords(try reader.read(max: 1000), from: bases[1], count: 300 - Int(bases[1])) { TestPayload.make($0, size: Self.size($0)) }
        }
    }

    @Test("a reader running beside the writer sees every record once, in order, and never past the committed end")
    func concurrentReaderNeverPassesCommitted() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.segmentBytes = 64 << 10; $0.durability = .never })
            defer { root.close() }
            let log = try root.queue("q")
            let total: Int64 = 3_000
            let writerDone = AtomicCounter()
            let writer = Task {
                defer { writerDone.increment() }
                try await Self.fill(log, count: Int(total), seed: 11)
            }
            let reader = Task { () throws -> (read: Int64, problems: [String]) in
                var reader = log.reader(from: 0)
                var expected: Int64 = 0
                var problems: [String] = []
                while expected < total && problems.count < 5 {
                    let finished = writerDone.value > 0  // read before the batch: nothing can follow a nil then
                    guard let batch = try reader.nextBatch() else {
                        if finished { break }
                        await pause(milliseconds: 1)
                        continue
                    }
                    let committed = log.committed.nextOffset
                    for record in batch.records {
                        if record.offset != expected { problems.append("got offset \(record.offset), expected \(expected)") }
                        if record.offset >= committed { problems.append("offset \(record.offset) is past the committed end \(committed)") }
                        if record.value != TestPayload.make(record.offset, size: Self.size(record.offset)) { problems.append("offset \(record.offset) has the wrong payload") }
                        expected = record.offset + 1
                    }
                }
                return (expected, problems)
            }
            try await writer.value
            let (read, problems) = try await reader.value
            #expect(problems.isEmpty, "\(problems)")
            #expect(read == total)
            #expect(QueueFiles.bases(QueueFiles.directory(dir + "/root", "q")).count >= 3, "segments rolled while the reader read")
        }
    }

    @Test("an overlapping segment (a sealed one renamed to a lower base) stops readers and consumers with an error naming both files, never skips offsets")
    func overlappingSegmentStopsReaderNamingBothFiles() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try openRoot(at: path, options: CompactionFixture.options())
            try await CompactionFixture.fill(try root.queue("q"), count: 1500)
            root.close()
            let directory = QueueFiles.directory(path, "q")
            let bases = QueueFiles.segments(directory).compactMap { SegmentName.parseLog($0) }
            try #require(bases.count >= 3)
            // The second segment renamed into the first one's range.
            let lower = bases[1] - 33
            let moved = QueueFiles.logPath(directory, lower)
            for suffix in [".log", ".index", ".timeindex"] {
                rename(directory + "/" + SegmentName.stem(bases[1]) + suffix, directory + "/" + SegmentName.stem(lower) + suffix)
            }
            let reopened = try openRoot(at: path, options: CompactionFixture.options())
            defer { reopened.close() }
            let log = try reopened.queue("q")
            var reader = log.reader(from: lower)
            let error = #expect(throws: SpoolError.self) { _ = try reader.read(max: 100) }
            #expect(error?.code == .corruption)
            #expect(error?.path == moved)
            #expect(error?.message.contains(QueueFiles.logPath(directory, bases[0])) == true, "\(String(describing: error))")
            // A group whose progress reached the renamed base gets the error, not the tasks after the gap.
            let group = try reopened.group("g", on: "q")
            try await group.acknowledge(offsets: (0..<lower).map { $0 })
            await #expect(throws: SpoolError.self) { _ = try await group.claim(max: 10) }
        }
    }
}
