import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// The sparse offset and time indexes: what they hold, and that they are derived data. A
/// missing, foreign or damaged index may cost a scan, never a wrong answer or a failed open.
@Suite("Indexes")
struct IndexTests {
    /// A log whose segments have the given record counts and payload sizes (one record per
    /// batch), rolled by age with a test clock so each segment holds exactly its layout.
    struct Layout {
        let root: String
        let directory: String
        let options: SpoolOptions
        let bases: [Int64]
        let sizes: [Int]  // payload size by offset
        var count: Int64 { Int64(sizes.count) }
        func value(_ offset: Int64) -> [UInt8] { TestPayload.make(offset, size: sizes[Int(offset)]) }
    }

    static func write(_ segments: [(records: Int, size: Int)], in dir: String) async throws -> Layout {
        let clock = TestClock()
        let options = testOptions { $0.clock = clock; $0.segmentMaxAgeMilliseconds = 1_000; $0.segmentBytes = 1 << 20 }
        let root = dir + "/root"
        let spool = try openRoot(at: root, options: options)
        let log = try spool.queue("q")
        var sizes: [Int] = []
        for (records, size) in segments {
            for _ in 0..<records {
                let offset = Int64(sizes.count)
                #expect(try await log.append(TestPayload.make(offset, size: size), timestamp: TestPayload.timestamp(offset)) == offset)
                sizes.append(size)
            }
            clock.advance(milliseconds: 2_000)  // the next append starts a segment
        }
        spool.close()
        let directory = QueueFiles.directory(root, "q")
        let bases = QueueFiles.bases(directory)
        var expected: [Int64] = []
        var next: Int64 = 0
        for (records, _) in segments { expected.append(next); next += Int64(records) }
        try #require(bases == expected, "one segment per layout entry")
        return Layout(root: root, directory: directory, options: options, bases: bases, sizes: sizes)
    }

    /// Offset index entries (relative offset, position) up to the first all-zero entry.
    static func offsetEntries(_ path: String) throws -> [(rel: UInt32, position: UInt32)] {
        let bytes = try Files.read(path)
        var entries: [(UInt32, UInt32)] = []
        var i = 0
        while i + 8 <= bytes.count {
            let rel = bytes[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let pos = bytes[i + 4..<i + 8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if rel == 0 && pos == 0 { break }
            entries.append((rel, pos))
            i += 8
        }
        return entries
    }

    /// Time index entries (timestamp, relative offset) up to the first all-zero entry.
    static func timeEntries(_ path: String) throws -> [(timestamp: Int64, rel: UInt32)] {
        let bytes = try Files.read(path)
        var entries: [(Int64, UInt32)] = []
        var i = 0
        while i + 12 <= bytes.count {
            let ts = Int64(bitPattern: bytes[i..<i + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            let rel = bytes[i + 8..<i + 12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if ts == 0 && rel == 0 { break }
            entries.append((ts, rel))
            i += 12
        }
        return entries
    }

    /// Every offset from `range` read back with a fresh reader: the record and the next one.
    static func expectReadsFromEveryOffset(_ log: QueueLog, _ layout: Layout, _ range: Range<Int64>,
                                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        for offset in range {
            var reader = log.reader(from: offset)
            let records = try reader.read(max: 2)
            let expected = Array(offset..<min(offset + 2, layout.count))
            if records.map(\.offset) != expected || records.first?.value != layout.value(offset) {
                Issue.record("reader from \(offset) returned \(records.map(\.offset))", sourceLocation: sourceLocation)
                return
            }
        }
    }

    @Test("index entries have Kafka's meaning: offset entries map a batch's last offset to its start, time entries hold the greatest timestamp so far")
    func indexEntriesPointAtBatches() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900), (80, 300), (30, 2000)], in: dir)
            for base in layout.bases {
                let (found, _) = try batches(in: QueueFiles.logPath(layout.directory, base))
                let starts = Dictionary(uniqueKeysWithValues: found.map { ($0.position, $0) })
                let offsets = try Self.offsetEntries(QueueFiles.indexPath(layout.directory, base))
                let times = try Self.timeEntries(QueueFiles.timeIndexPath(layout.directory, base))
                #expect(!offsets.isEmpty)
                #expect(!times.isEmpty)
                var previous: Int64 = 0
                for (i, entry) in offsets.enumerated() {
                    let batch = try #require(starts[Int64(entry.position)], "entry \(i) of segment \(base) points at a batch start")
                    #expect(batch.nextOffset - 1 == base + Int64(entry.rel), "an offset entry names the batch's last offset")
                    #expect(Int64(entry.position) - previous > 4096, "more than the interval lies between entries (Kafka's rule)")
                    previous = Int64(entry.position)
                }
                var previousTime: Int64 = .min
                for (i, time) in times.enumerated() {
                    #expect(time.timestamp > previousTime, "time entry \(i) grows")
                    previousTime = time.timestamp
                    let holder = try #require(found.first { $0.nextOffset - 1 == base + Int64(time.rel) },
                                              "time entry \(i) names the last offset of a batch")
                    #expect(holder.maxTimestamp == time.timestamp, "that batch holds the entry's timestamp")
                    let soFar = found.filter { $0.position <= holder.position }.map(\.maxTimestamp).max()
                    #expect(soFar == time.timestamp, "no record up to the entry's offset is later than it")
                }
                if base != layout.bases.last {
                    #expect(times.last?.timestamp == found.map(\.maxTimestamp).max(), "a sealed segment's time index closes with its greatest timestamp")
                }
                // No stretch of more than one interval plus one batch goes unindexed.
                let positions = [Int64(0)] + offsets.map { Int64($0.position) } + [found.last!.end]
                let largest = found.map(\.totalBytes).max()!
                for (a, b) in zip(positions, positions.dropFirst()) { #expect(b - a <= 4096 + Int64(largest)) }
            }
        }
    }

    @Test("a sealed segment whose .index files were deleted still reads correctly from every offset")
    func sealedSegmentWithoutIndex() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900), (45, 1300), (5, 100)], in: dir)
            for base in layout.bases.dropLast() {
                unlink(QueueFiles.indexPath(layout.directory, base))
                unlink(QueueFiles.timeIndexPath(layout.directory, base))
            }
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            let log = try root.queue("q")
            try Self.expectReadsFromEveryOffset(log, layout, 0..<layout.count)
            var reader = log.reader(from: 0)
            try reader.seek(toTimestamp: TestPayload.timestamp(77))
            #expect(try reader.read(max: 1).first?.offset == 77)
        }
    }

    @Test("a sealed segment whose .index belongs to another segment still reads correctly from every offset")
    func sealedSegmentWithForeignIndex() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900), (45, 1300), (5, 100)], in: dir)
            try Files.write(QueueFiles.indexPath(layout.directory, layout.bases[1]), try Files.read(QueueFiles.indexPath(layout.directory, 0)))
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            try Self.expectReadsFromEveryOffset(try root.queue("q"), layout, 0..<layout.count)
        }
    }

    @Test("seek(toTimestamp:) in a sealed segment whose .index belongs to another segment finds the right record")
    func seekByTimeWithForeignIndex() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900), (45, 1300), (5, 100)], in: dir)
            try Files.write(QueueFiles.indexPath(layout.directory, layout.bases[1]), try Files.read(QueueFiles.indexPath(layout.directory, 0)))
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            Self.expectSeeksByTime(try root.queue("q"), layout.bases[1]..<layout.bases[2])
        }
    }

    /// Seeks to the timestamp of every offset in `range` and checks it lands there.
    static func expectSeeksByTime(_ log: QueueLog, _ range: Range<Int64>, sourceLocation: SourceLocation = #_sourceLocation) {
        var reader = log.reader(from: 0)
        for target in range {
            let found: Int64?
            do {
                try reader.seek(toTimestamp: TestPayload.timestamp(target))
                found = try reader.read(max: 1).first?.offset
            } catch {
                Issue.record("seek to the timestamp of offset \(target) threw: \(error)", sourceLocation: sourceLocation)
                return
            }
            if found != target {
                Issue.record("seek to the timestamp of offset \(target) found \(found.map(String.init) ?? "nothing")", sourceLocation: sourceLocation)
                return
            }
        }
    }

    @Test("a bit flip in a middle entry of a sealed segment's .index: seek(toTimestamp:) still finds every record")
    func seekByTimeWithBitFlippedSealedIndex() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900), (45, 1300), (5, 100)], in: dir)
            let index = QueueFiles.indexPath(layout.directory, layout.bases[1])
            let entries = try Self.offsetEntries(index)
            try #require(entries.count >= 4)
            // The lowest bit of a middle entry's position: the entries stay in order, the last
            // one is untouched, but this one no longer points at a batch start.
            try ByteMutator.flipBit(index, at: Int64((entries.count / 2) * 8 + 7), bit: 0)
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            Self.expectSeeksByTime(try root.queue("q"), layout.bases[1]..<layout.bases[2])
        }
    }

    @Test("a sealed segment whose .timeindex belongs to another segment: seek(toTimestamp:) still finds every record")
    func seekByTimeWithForeignSealedTimeIndex() async throws {
        try await withTemporaryDirectory { dir in
            // Two segments of the same layout: their offset indexes have the same relative offsets.
            let layout = try await Self.write([(50, 900), (50, 900), (5, 100)], in: dir)
            try Files.write(QueueFiles.timeIndexPath(layout.directory, layout.bases[1]), try Files.read(QueueFiles.timeIndexPath(layout.directory, 0)))
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            Self.expectSeeksByTime(try root.queue("q"), layout.bases[1]..<layout.bases[2])
        }
    }

    @Test("an active segment whose .timeindex belongs to another segment: seek(toTimestamp:) still finds every record")
    func seekByTimeWithForeignActiveTimeIndex() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(50, 900), (50, 900)], in: dir)
            try Files.write(QueueFiles.timeIndexPath(layout.directory, layout.bases[1]), try Files.read(QueueFiles.timeIndexPath(layout.directory, 0)))
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            Self.expectSeeksByTime(try root.queue("q"), layout.bases[1]..<layout.count)
        }
    }

    @Test("deleting the active segment's .index files: reopen rebuilds them and reads stay correct")
    func activeSegmentIndexRebuilt() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900), (45, 1300)], in: dir)
            let active = layout.bases.last!
            let original = try Self.offsetEntries(QueueFiles.indexPath(layout.directory, active))
            #expect(!original.isEmpty)
            unlink(QueueFiles.indexPath(layout.directory, active))
            unlink(QueueFiles.timeIndexPath(layout.directory, active))
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            let log = try root.queue("q")
            try Self.expectReadsFromEveryOffset(log, layout, 0..<layout.count)
            let rebuilt = try Self.offsetEntries(QueueFiles.indexPath(layout.directory, active))
            #expect(rebuilt.map(\.rel) == original.map(\.rel))
            #expect(rebuilt.map(\.position) == original.map(\.position))
            var reader = log.reader(from: 0)
            try reader.seek(toTimestamp: TestPayload.timestamp(90))
            #expect(try reader.read(max: 1).first?.offset == 90)
        }
    }

    @Test("a missing active .index is counted in RecoveryReport.indexesRebuilt")
    func missingActiveIndexIsReported() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900)], in: dir)
            unlink(QueueFiles.indexPath(layout.directory, 0))
            unlink(QueueFiles.timeIndexPath(layout.directory, 0))
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            #expect(try root.queue("q").recoveryReport.indexesRebuilt >= 1, "the report documents missing indexes as rebuilt")
        }
    }

    @Test("an active segment whose .index belongs to another segment opens and reads correctly")
    func activeSegmentWithForeignIndex() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(60, 900), (45, 1300)], in: dir)
            try Files.write(QueueFiles.indexPath(layout.directory, layout.bases[1]), try Files.read(QueueFiles.indexPath(layout.directory, 0)))
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            let log = try root.queue("q")
            try Self.expectReadsFromEveryOffset(log, layout, 0..<layout.count)
            #expect(log.recoveryReport.indexesRebuilt >= 1)
        }
    }

    @Test("a bit flip in the active segment's .index is rebuilt from the log, not reported as corruption")
    func bitFlipInActiveIndex() async throws {
        try await withTemporaryDirectory { dir in
            let layout = try await Self.write([(45, 1300)], in: dir)
            let index = QueueFiles.indexPath(layout.directory, 0)
            let entries = try Self.offsetEntries(index)
            try #require(entries.count >= 2)
            // The lowest bit of the last entry's position: still increasing, but no longer a batch start.
            try ByteMutator.flipBit(index, at: Int64((entries.count - 1) * 8 + 7), bit: 0)
            let root = try openRoot(at: layout.root, options: layout.options)
            defer { root.close() }
            let log = try root.queue("q")
            try Self.expectReadsFromEveryOffset(log, layout, 0..<layout.count)
            #expect(log.recoveryReport.indexesRebuilt >= 1)
        }
    }

    @Test("an index a reader rebuilds lazily survives a power cut that keeps nothing unsynced, both files whole")
    func lazyRebuildIsDurable() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try openRoot(at: path, options: CompactionFixture.options())
            try await CompactionFixture.fill(try root.queue("q"), count: 1500)
            root.close()
            let directory = QueueFiles.directory(path, "q")
            let first = directory + "/" + QueueFiles.segments(directory)[0]
            let stem = String(first.dropLast(4))
            let expected = try IndexEntries.read(segment: first)
            #expect(expected.offsets.count > 2)
            unlink(stem + ".index")
            unlink(stem + ".timeindex")
            var options = CompactionFixture.options()
            options.fileSystem = try PowerCutFileSystem(journalPath: dir + "/undo")
            let reopened = try openRoot(at: path, options: options)
            _ = try readAll(try reopened.queue("q"))  // rebuilds the first segment's indexes
            reopened.close()
            var random = PowerCutTests.Fixed(value: 1)
            _ = try PowerCut.apply(journal: dir + "/undo", random: &random)
            let rebuilt = try IndexEntries.read(segment: first)
            #expect(rebuilt.offsetFileExists && rebuilt.timeFileExists, "the rebuilt index files were lost")
            #expect(rebuilt.offsets == expected.offsets && rebuilt.times.count == expected.times.count)
        }
    }

    @Test("a normally compacted root verifies clean, and verify notes the indexes a reader would rebuild")
    func compactedRootVerifiesClean() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            try await CompactionCrashTests.makeTemplate(at: path)
            let root = try openRoot(at: path, options: CompactionFixture.options())
            let report = try root.compact()
            root.close()
            #expect((report.queues.first?.segmentsRewritten ?? 0) > 0)
            let verified = try Verifier().verify(path: path)
            #expect(verified.isClean, "\(verified.problems)")
            #expect(verified.notes.contains { $0.contains("would rebuild") }, "\(verified.notes)")
        }
    }

    @Test("an index cut short by a crash (entry counts disagree) is noted as one a reader rebuilds, not reported as damage")
    func shortIndexIsNotedNotReported() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let root = try openRoot(at: path, options: CompactionFixture.options())
            try await CompactionFixture.fill(try root.queue("q"), count: 1500)
            root.close()
            let directory = QueueFiles.directory(path, "q")
            let stem = directory + "/" + String(QueueFiles.segments(directory)[0].dropLast(4))
            let size = Int64(Files.size(stem + ".timeindex"))
            try ByteMutator.truncate(stem + ".timeindex", to: size - 12)
            let verified = try Verifier().verify(path: path)
            #expect(verified.isClean, "\(verified.problems)")
            #expect(verified.notes.contains { $0.contains("would rebuild \(stem).index") }, "\(verified.notes)")
        }
    }
}
