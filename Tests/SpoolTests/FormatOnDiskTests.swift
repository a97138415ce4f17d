import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// What the engine puts on disk and reads back: Kafka RecordBatch v2 segments, record fields
/// that survive a round trip, and a sweep of record sizes across batch and segment boundaries.
@Suite("On-disk format and round trips")
struct FormatOnDiskTests {
    @Test("segments hold Kafka RecordBatch v2 batches with the offsets the log assigned")
    func segmentBytesAreKafkaBatches() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            let log = try root.queue("q")
            var firsts: [Int64] = []
            for i in 0..<5 {
                let records = (0..<(i + 1)).map { j in RecordInput(value: TestPayload.make(Int64(i * 10 + j), size: 50), timestamp: TestPayload.timestamp(Int64(j))) }
                firsts.append(try await log.append(batch: records))
            }
            root.close()
            #expect(firsts == [0, 1, 3, 6, 10])

            let path = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            let bytes = try Files.read(path)
            var position = 0
            var expectedBase: Int64 = 0
            var count = 0
            while position < bytes.count {
                let batch = try bytes.withUnsafeBytes { raw in
                    try RecordBatchDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[position...]))
                }
                let h = batch.header
                #expect(h.magic == 2)
                #expect(h.baseOffset == expectedBase)
                #expect(h.partitionLeaderEpoch == 0 && h.producerId == -1 && h.producerEpoch == -1 && h.baseSequence == -1)
                #expect(h.codecBits == 0)
                #expect(batch.records.map(\.offset) == Array(h.baseOffset..<h.nextOffset))
                expectedBase = h.nextOffset
                position += h.totalBytes
                count += 1
            }
            #expect(count == 5)
            #expect(position == bytes.count, "a closed segment ends exactly after its last batch")
        }
    }

    @Test("keys, headers, null and empty values and timestamps round-trip, also after reopen")
    func recordFieldsRoundTrip() async throws {
        try await withTemporaryDirectory { dir in
            let inputs: [RecordInput] = [
                RecordInput(value: Array("plain".utf8), timestamp: 1),
                RecordInput(value: nil, key: Array("tombstone".utf8), timestamp: 2),
                RecordInput(value: [], key: [], timestamp: 3),
                RecordInput(value: [0, 1, 2, 255], key: [0], headers: [
                    RecordHeader(name: "spool.attempt", value: Array("3".utf8)),
                    RecordHeader(name: "null-header", value: nil),
                    RecordHeader(name: "empty", value: []),
                    RecordHeader(name: "ünïcödé", value: [0xff, 0x00]),
                ], timestamp: 1_764_000_000_000),
                RecordInput(value: Array("negative time".utf8), timestamp: -5),
                RecordInput(value: Array("far future".utf8), timestamp: 4_102_444_800_000),
            ]
            func check(_ records: [Record]) {
                #expect(records.count == inputs.count)
                for (record, input) in zip(records, inputs) {
                    #expect(record.key == input.key)
                    #expect(record.value == input.value)
                    #expect(record.headers == input.headers)
                    #expect(record.timestamp == input.timestamp)
                }
                #expect(records.map(\.offset) == Array(0..<Int64(inputs.count)))
            }
            let options = testOptions()
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            // Some one by one through the single-record API, the rest as one batch.
            let first = try await log.append(inputs[0].value, key: inputs[0].key, headers: inputs[0].headers, timestamp: inputs[0].timestamp)
            let second = try await log.append(inputs[1].value, key: inputs[1].key, timestamp: inputs[1].timestamp)
            let rest = try await log.append(batch: Array(inputs[2...]))
            #expect([first, second, rest] == [0, 1, 2])
            check(try readAll(log))
            root.close()

            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            check(try readAll(try reopened.queue("q")))
        }
    }

    @Test("a record without a timestamp takes the root's clock")
    func defaultTimestampComesFromTheClock() async throws {
        try await withTemporaryDirectory { dir in
            let clock = TestClock()
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.clock = clock })
            defer { root.close() }
            let log = try root.queue("q")
            try await log.append(Array("a".utf8))
            clock.advance(milliseconds: 1234)
            try await log.append(Array("b".utf8))
            let records = try readAll(log)
            #expect(records.map(\.timestamp) == [TestClock.start, TestClock.start + 1234])
        }
    }

    /// Sizes around every boundary a record can cross: varint widths (63/64, 8191/8192), the
    /// index interval (4096), the preallocation step, and up to the largest record that fits a
    /// 64 KiB segment.
    static let sweepSizes: [Int] = [0, 1, 2, 7, 63, 64, 65, 127, 128, 129, 500, 1000, 4000, 4095, 4096, 4097,
                                    8191, 8192, 8193, 16_000, 16_384, 30_000, 32_768, 50_000, 60_000, 65_000]

    @Test("records of 0 bytes to ~64 KiB round-trip across 64 KiB segments, with consecutive unique offsets, before and after reopen")
    func recordSizeSweepAcrossSegments() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions { $0.segmentBytes = 64 << 10; $0.preallocationStepBytes = 16 << 10 }
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            var sizes: [Int64: Int] = [:]
            var next: Int64 = 0
            // The largest value that fits one 64 KiB segment, found with the encoder itself.
            var largest = 65_536 - 61
            while try encodedSize([RecordInput(value: [UInt8](repeating: 1, count: largest), timestamp: 0)]) > 65_536 { largest -= 1 }
            let all = Self.sweepSizes + [largest]
            for (round, size) in (all + all.reversed()).enumerated() {
                let n = size >= 16_000 ? 1 : (round % 3) + 1
                let records = (0..<n).map { j in
                    RecordInput(value: TestPayload.make(next + Int64(j), size: size), key: j == 0 && n > 1 ? Array("k\(size)".utf8) : nil,
                                timestamp: TestPayload.timestamp(next + Int64(j)))
                }
                let offset = try await log.append(batch: records)
                #expect(offset == next, "append of \(n) × \(size) bytes")
                for j in 0..<n { sizes[next + Int64(j)] = size }
                next += Int64(n)
            }
            let tooBig = [RecordInput(value: [UInt8](repeating: 1, count: largest + 1), timestamp: 0)]
            let error = await #expect(throws: SpoolError.self) { try await log.append(batch: tooBig) }
            #expect(error?.code == .limitExceeded)

            func check(_ log: QueueLog) throws {
                let records = try readAll(log)
                expectRecords(records, count: Int(next)) { TestPayload.make($0, size: sizes[$0]!) }
                #expect(Set(records.map(\.offset)).count == records.count)
                #expect(records.map(\.timestamp) == records.map { TestPayload.timestamp($0.offset) })
            }
            try check(log)
            let directory = QueueFiles.directory(dir + "/root", "q")
            let bases = QueueFiles.bases(directory)
            #expect(bases.count >= 10, "the sweep spans many segments")
            root.close()

            // Each segment starts with the offset in its name and stays within 64 KiB.
            for base in bases {
                let (found, end) = try batches(in: QueueFiles.logPath(directory, base))
                #expect(found.first?.baseOffset == base)
                #expect(end.problem == nil)
                #expect(Files.size(QueueFiles.logPath(directory, base)) <= 64 << 10)
            }
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let again = try reopened.queue("q")
            try check(again)
            #expect(try await again.append(Array("after".utf8)) == next)
        }
    }
    @Test("a segment written by another Kafka client (kafka-python: none, lz4 and zstd batches) opens as a queue, reads back and takes appends after it")
    func foreignKafkaSegmentOpensAsAQueue() async throws {
        try await withTemporaryDirectory { dir in
            let repository = String(String(#filePath).split(separator: "/Tests/", omittingEmptySubsequences: false)[0])
            let fixture = try Files.read(repository + "/fixtures/interop/00000000000000001000.log")
            let directory = QueueFiles.directory(dir + "/root", "q")
            try Files.makeDirectory(dir + "/root")
            try Files.makeDirectory(dir + "/root/queues")
            try Files.makeDirectory(directory)
            try Files.write(QueueFiles.logPath(directory, 1000), fixture)
            // What the format module decodes from the same bytes, batch after batch.
            var expected: [Record] = []
            var position = 0
            while position < fixture.count {
                let batch = try fixture.withUnsafeBytes { try RecordBatchDecoder.decode(UnsafeRawBufferPointer(rebasing: $0[position...])) }
                expected += batch.records
                position += batch.header.totalBytes
            }
            try #require(expected.count == 150)

            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            #expect(log.recoveryReport.bytesTruncated == 0)
            #expect(log.firstOffset == 1000)
            #expect(log.committed.nextOffset == 1150)
            #expect(try readAll(log, from: 1000) == expected)
            var reader = log.reader(from: 1075)  // inside the lz4 batch
            #expect(try reader.read(max: 3) == Array(expected[75..<78]))
            #expect(try await log.append(Array("after kafka".utf8)) == 1150)
            #expect(try readAll(log, from: 1149).map(\.offset) == [1149, 1150])
        }
    }

    @Test("an append of more records than limits.recordsPerBatchMax is split into batches within the limit")
    func appendSplitByRecordCount() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.limits.recordsPerBatchMax = 10 })
            defer { root.close() }
            let log = try root.queue("q")
            let records = (0..<25).map { RecordInput(value: TestPayload.make(Int64($0), size: 30), timestamp: Int64($0)) }
            #expect(try await log.append(batch: records) == 0)
            expectRecords(try readAll(log), count: 25) { TestPayload.make($0, size: 30) }
            let (found, _) = try batches(in: QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0))
            #expect(found.count >= 3)
            #expect(found.allSatisfy { $0.nextOffset - $0.baseOffset <= 10 })
        }
    }
    // MARK: SegmentFile, the inspection walk

    @Test("SegmentFile walks a live segment to a clean end even when its zero-filled tail is shorter than a batch header")
    func inspectionOfLiveSegmentWithShortZeroTail() async throws {
        try await withTemporaryDirectory { dir in
            // Under .interval the write stays unsynced, so the idle writer does not prepare the
            // next step (it would, under .always, right after the append returns).
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.preallocationStepBytes = 4096; $0.durability = .interval(milliseconds: 60_000) })
            defer { root.close() }
            let log = try root.queue("q")
            // One batch that ends 30 bytes before the 4 KiB preallocation step.
            var size = 3000
            while try encodedSize([RecordInput(value: TestPayload.make(0, size: size), timestamp: 0)]) < 4096 - 30 { size += 1 }
            try #require(try encodedSize([RecordInput(value: TestPayload.make(0, size: size), timestamp: 0)]) == 4096 - 30)
            try await log.append(batch: [RecordInput(value: TestPayload.make(0, size: size), timestamp: 0)])
            let path = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            try #require(Files.size(path) == 4096, "the tail is zero-filled to the step")
            let (found, end) = try batches(in: path)
            #expect(found.count == 1)
            #expect(end.position == 4096 - 30)
            #expect(end.problem == nil, "zero-filled space is a clean end: \(end.problem ?? "")")
            #expect(end.trailingBytes == 30)
        }
    }

    @Test("SegmentFile reports a batch with a bad CRC, with its position and offset, and walks on to the next")
    func inspectionReportsBadCRCAndContinues() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            let log = try root.queue("q")
            for i in Int64(0)..<5 { try await log.append(TestPayload.make(i, size: 300)) }
            root.close()
            let path = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            let damaged = try batches(in: path).batches[2]
            try ByteMutator.flipBit(path, at: damaged.position + 100, bit: 1)
            var entries: [SegmentFile.Entry] = []
            let end = try SegmentFile(path: path).forEachBatch { entries.append($0); return true }
            #expect(entries.count == 5, "the walk goes on after the bad batch")
            #expect(end.problem == nil && end.trailingBytes == 0)
            #expect(entries.map(\.expectedOffset) == [0, 1, 2, 3, 4])
            for (i, entry) in entries.enumerated() {
                let bad = i == 2
                #expect((entry.computedCRC != entry.header.crc) == bad)
                if case .failure(let error) = entry.batch {
                    #expect(bad, "only batch 2 fails")
                    #expect(error.code == .corruption && error.path == path && error.position == damaged.position && error.offset == 2)
                } else {
                    #expect(!bad, "batch 2 must fail to decode")
                }
            }
        }
    }

    @Test("SegmentFile reports garbage after the last batch as a problem at its position")
    func inspectionReportsTrailingGarbage() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            let log = try root.queue("q")
            for i in Int64(0)..<3 { try await log.append(TestPayload.make(i, size: 300)) }
            root.close()
            let path = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            let size = Files.size(path)
            try ByteMutator.append(path, [UInt8](repeating: 0, count: 100) + Array("garbage".utf8))
            let (found, end) = try batches(in: path)
            #expect(found.count == 3)
            #expect(end.position == size)
            #expect(end.nextOffset == 3)
            #expect(end.problem != nil)
            #expect(end.trailingBytes == 107)
        }
    }
}
