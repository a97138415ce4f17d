import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Synchronization
import Testing

/// The read-only inspection engine (Sources/Spool/Inspect): verify, stats, group state, follow,
/// and the repair that plans from verify. Every root here is written by the engine and damaged
/// with ``ByteMutator``.
@Suite("Inspect")
struct InspectTests {
    /// A closed root with queue "q" of `count` tasks in 64 KiB segments (one append each, so one
    /// batch per task, timestamps from ``TestPayload/timestamp(_:)``), and group "g" that acked
    /// offsets 0..<`acked`.
    static func writeRoot(_ root: String, count: Int = 200, acked: Int = 0) async throws -> SpoolOptions {
        let options = testOptions { $0.segmentBytes = 64 << 10 }
        let spool = try openRoot(at: root, options: options)
        defer { spool.close() }
        let log = try spool.queue("q")
        for offset in Int64(0)..<Int64(count) {
            try await log.append(TestPayload.make(offset, size: 900), timestamp: TestPayload.timestamp(offset))
        }
        if acked > 0 {
            _ = try await spool.group("g", on: "q").acknowledge(offsets: Array(0..<Int64(acked)))
        }
        return options
    }

    static func segment(_ root: String, _ index: Int) -> String {
        let directory = QueueFiles.directory(root, "q")
        return QueueFiles.logPath(directory, QueueFiles.bases(directory)[index])
    }

    @Test("verify of a cleanly closed root with a group is clean and counts every batch and record")
    func verifyClean() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.writeRoot(dir + "/root", acked: 50)
            let report = try Verifier().verify(path: dir + "/root")
            #expect(report.problems == [])
            #expect(report.logs == 2)
            #expect(report.records == 201, "200 tasks and one group ack record")
            #expect(report.batches == 201)
            #expect(!report.writerActive)
            let deep = try Verifier(deep: true).verify(path: dir + "/root")
            #expect(deep.problems == [])
        }
    }

    @Test("a bit flip in a sealed segment is corruption naming the file, position and offset")
    func bitFlipIsCorruption() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.writeRoot(dir + "/root")
            let path = Self.segment(dir + "/root", 0)
            let damaged = try #require(try batches(in: path).batches.dropFirst(20).first)
            try ByteMutator.flipBit(path, at: damaged.position + 61 + 300, bit: 3)
            let report = try Verifier().verify(path: dir + "/root")
            #expect(report.problems.count == 1)
            let problem = try #require(report.problems.first)
            #expect(problem.kind == .corruption)
            #expect(problem.file == path)
            #expect(problem.position == damaged.position)
            #expect(problem.offset == damaged.baseOffset)
            #expect(problem.message.contains("CRC mismatch"))
        }
    }

    @Test("a torn tail past the recovery point is reported as torn tail; repair cuts it, keeps .broken, and the root opens with every task before it")
    func tornTailRepaired() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root)
            let path = Self.segment(root, QueueFiles.bases(QueueFiles.directory(root, "q")).count - 1)
            let (found, end) = try batches(in: path)
            let last = try #require(found.last)
            // Half of a copy of the last batch, with the next offset: a write cut by a crash.
            var torn = try ByteMutator.read(path, last.position..<last.end)
            torn.replaceSubrange(0..<8, with: withUnsafeBytes(of: last.nextOffset.bigEndian) { Array($0) })
            try ByteMutator.overwrite(path, at: end.position, with: Array(torn.prefix(torn.count / 2)))
            let report = try Verifier().verify(path: root)
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.kind == .tornTail)
            #expect(report.problems.first?.position == end.position)

            let dry = try Repairer(options: options).repair(path: root, dryRun: true)
            #expect(dry.actions.map(\.kind).contains(.truncate))
            #expect(Files.size(path) > end.position, "a dry run changes nothing")
            #expect(QueueFiles.brokenFiles(QueueFiles.directory(root, "q")).isEmpty)

            let done = try Repairer(options: options).repair(path: root, dryRun: false)
            #expect(done.actions.first?.kind == .truncate)
            #expect(Files.size(path) == end.position)
            let broken = QueueFiles.brokenFiles(QueueFiles.directory(root, "q"))
            #expect(broken == [QueueFiles.stem(QueueFiles.bases(QueueFiles.directory(root, "q")).last!) + ".\(end.position).broken"])
            #expect(try Verifier().verify(path: root).problems == [])
            let spool = try openRoot(at: root, options: options)
            defer { spool.close() }
            expectRecords(try readAll(try spool.queue("q")), count: 200) { TestPayload.make($0, size: 900) }
        }
    }

    @Test("an index entry pointing at the wrong batch is an index mismatch, and repair rebuilds the index")
    func indexMismatchRebuilt() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root)
            let path = Self.segment(root, 0)
            let indexPath = String(path.dropLast(4)) + ".index"
            #expect(Files.size(indexPath) >= 16)
            // Entry 1's position becomes entry 0's + 1: inside a batch.
            let first = try ByteMutator.read(indexPath, 4..<8)
            let position = (UInt32(first[0]) << 24 | UInt32(first[1]) << 16 | UInt32(first[2]) << 8 | UInt32(first[3])) + 1
            try ByteMutator.overwrite(indexPath, at: 12, with: withUnsafeBytes(of: position.bigEndian) { Array($0) })
            let report = try Verifier().verify(path: root)
            #expect(report.problems.map(\.kind) == [.indexMismatch])
            #expect(report.problems.first?.file == indexPath)
            #expect(report.problems.first?.segmentFile == path)
            let done = try Repairer(options: options).repair(path: root, dryRun: false)
            #expect(done.actions.map(\.kind) == [.rebuildIndexes])
            #expect(try Verifier().verify(path: root).problems == [])
        }
    }

    @Test("leftover .tmp, .cleaned and .swap files are reported; repair removes the .tmp, rolls back the .cleaned and finishes the .swap")
    func leftoverFiles() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root, count: 10)
            let directory = QueueFiles.directory(root, "q")
            let segment = directory + "/00000000000000000000.log"
            let live = try Files.read(segment)
            try Files.write(directory + "/recovery-point.tmp", [1, 2, 3])
            try Files.write(segment + ".cleaned", [1, 2, 3])   // an unfinished rewrite
            try Files.write(segment + ".swap", live)           // a finished rewrite (here: the same records)
            let report = try Verifier().verify(path: root)
            #expect(report.problems.map(\.kind) == [.leftoverFile, .leftoverFile, .leftoverFile])
            #expect(Set(report.problems.map(\.file)) == Set(["recovery-point.tmp", "00000000000000000000.log.cleaned", "00000000000000000000.log.swap"].map { directory + "/" + $0 }))

            let planned = try Repairer(options: options).repair(path: root, dryRun: true)
            #expect(planned.actions.map(\.kind) == [.resolveCompaction, .resolveCompaction, .removeTemporaryFile])
            #expect(Files.exists(segment + ".cleaned") && Files.exists(segment + ".swap"), "a dry run changes nothing")

            let done = try Repairer(options: options).repair(path: root, dryRun: false)
            // Finishing the swap drops the old segment's indexes, so the checks then rebuild them.
            #expect(done.actions.map(\.kind) == [.resolveCompaction, .resolveCompaction, .removeTemporaryFile, .rebuildIndexes])
            #expect(done.leftAlone.isEmpty)
            #expect(!Files.exists(directory + "/recovery-point.tmp"))
            #expect(!Files.exists(segment + ".cleaned") && !Files.exists(segment + ".swap"))
            #expect(try Files.read(segment) == live)
            #expect(try Verifier().verify(path: root).problems.isEmpty)
            let reopened = try openRoot(at: root, options: options)
            defer { reopened.close() }
            #expect(try readAll(try reopened.queue("q")).count == 10)
        }
    }

    @Test("a recovery point past the data is corruption, and repair rewrites it so the root opens")
    func recoveryPointPastData() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root)
            let bases = QueueFiles.bases(QueueFiles.directory(root, "q"))
            let path = Self.segment(root, bases.count - 1)
            let (found, _) = try batches(in: path)
            let cut = try #require(found.dropLast(2).last)
            try ByteMutator.truncate(path, to: cut.end)
            let report = try Verifier().verify(path: root)
            let problem = try #require(report.problems.first)
            #expect(problem.kind == .corruption)
            #expect(problem.message.contains("recovery point"))
            #expect(problem.position == cut.end, "where the valid data ends")
            #expect(throws: SpoolError.self) { let r = try openRoot(at: root, options: options); defer { r.close() }; _ = try r.queue("q") }
            let done = try Repairer(options: options).repair(path: root, dryRun: false)
            // The cut also left index entries past the data: they are rebuilt. The offsets the
            // recovery point had seen past the cut are lost: the log starts again past them.
            #expect(Set(done.actions.map(\.kind)) == [.rebuildIndexes, .rewriteRecoveryPoint, .skipLostOffsets])
            #expect(try Verifier().verify(path: root).problems == [])
            let spool = try openRoot(at: root, options: options)
            defer { spool.close() }
            #expect(try spool.queue("q").committed.nextOffset == 200, "offsets \(cut.nextOffset)–199 would be given out again")
        }
    }

    @Test("a recovery point inside a batch is corruption of the recovery point, never a torn tail, and repair rewrites it")
    func recoveryPointInsideBatch() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root)
            let directory = QueueFiles.directory(root, "q")
            let base = QueueFiles.bases(directory).last!
            let (found, end) = try batches(in: QueueFiles.logPath(directory, base))
            let batch = try #require(found.dropLast().last)
            try RecoveryPoint(segment: base, position: batch.position + 10, nextOffset: batch.nextOffset)
                .write(in: directory, durable: true, fileSystem: PosixFileSystem())
            let report = try Verifier().verify(path: root)
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.kind == .corruption)
            #expect(report.problems.first?.message.contains("not at a batch boundary") == true)
            let done = try Repairer(options: options).repair(path: root, dryRun: false)
            #expect(done.actions.map(\.kind) == [.rewriteRecoveryPoint])
            #expect(try RecoveryPoint.read(in: directory, fileSystem: PosixFileSystem()) == RecoveryPoint(segment: base, position: end.position, nextOffset: 200))
            #expect(try Verifier().verify(path: root).problems == [])
        }
    }

    @Test("a segment file given alone: damage with sound batches after it is corruption, damage at its end a torn tail")
    func loneFileClassification() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.writeRoot(dir + "/root")
            let lone = dir + "/" + QueueFiles.stem(0) + ".log"
            try Files.write(lone, try Files.read(Self.segment(dir + "/root", 0)))
            let (found, end) = try batches(in: lone)
            try ByteMutator.flipBit(lone, at: found[5].position + 70)
            try ByteMutator.append(lone, [1, 2, 3])
            let report = try Verifier().verify(path: lone)
            #expect(report.problems.map(\.kind) == [.corruption, .tornTail])
            #expect(report.problems.map(\.position) == [found[5].position, end.position])
        }
    }

    @Test("stats samples the last batch's codec and compression ratio: a Kafka client's zstd batch in a copied root")
    func statsCompressionRatio() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = String(#filePath).components(separatedBy: "/Tests/")[0] + "/fixtures/interop/00000000000000001000.log"
            try Files.makeDirectory(dir + "/queues")
            try Files.makeDirectory(dir + "/queues/kafka")
            let copy = dir + "/queues/kafka/00000000000000001000.log"
            try Files.write(copy, try Files.read(fixture))
            let stats = try #require(try StatsCollector().collect(path: dir).first)
            let (found, _) = try batches(in: copy)
            let last = try #require(found.last)
            #expect(stats.firstOffset == 1000 && stats.nextOffset == last.nextOffset && stats.tasks == 150)
            #expect(stats.lastCodec == "zstd")
            let bytes = try ByteMutator.read(copy, last.position..<last.end)
            let plain = try bytes.withUnsafeBytes { try BatchDecompressor.decompress(UnsafeRawBufferPointer(rebasing: $0[61...]), codec: .zstd, limit: 1 << 26) }
            #expect(stats.compressionRatio == Double(plain.count) / Double(last.totalBytes - 61))
            // A copied root without its indexes: derived data a reader rebuilds, so a note, not a problem.
            let verified = try Verifier(deep: true).verify(path: dir)
            #expect(verified.problems.isEmpty, "\(verified.problems)")
            #expect(verified.notes.contains { $0.contains("would rebuild") && $0.contains("the offset index is missing") }, "\(verified.notes)")
        }
    }

    @Test("a segment removed while verify runs (retention on a live root) is noted, not an error")
    func segmentRemovedDuringVerify() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.writeRoot(dir + "/root")
            let first = Self.segment(dir + "/root", 0)
            let report = try Verifier(fileSystem: VanishingFileSystem(vanishing: first)).verify(path: dir + "/root")
            #expect(report.problems == [])
            #expect(report.notes.contains { $0.contains("removed while it was being verified") })
        }
    }

    @Test("a missing middle segment is corruption naming the offsets it held")
    func missingSegment() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            _ = try await Self.writeRoot(root)
            let directory = QueueFiles.directory(root, "q")
            let bases = QueueFiles.bases(directory)
            try #require(bases.count >= 3)
            for path in [QueueFiles.logPath(directory, bases[1]), QueueFiles.indexPath(directory, bases[1]), QueueFiles.timeIndexPath(directory, bases[1])] {
                #expect(unlink(path) == 0)
            }
            let report = try Verifier().verify(path: root)
            #expect(report.problems.count == 1)
            let problem = try #require(report.problems.first)
            #expect(problem.kind == .corruption)
            #expect(problem.file == QueueFiles.logPath(directory, bases[2]))
            #expect(problem.offset == bases[1])
            #expect(problem.message.contains("offsets \(bases[1])–\(bases[2] - 1) are missing"))
        }
    }

    @Test("a segment of nothing but damaged batches lists at most 1000 of them and counts the rest")
    func problemsAreBounded() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = testOptions { $0.durability = .never }
            let spool = try openRoot(at: root, options: options)
            let log = try spool.queue("q")
            for i in Int64(0)..<1100 { try await log.append([UInt8(i & 0x7f) | 1], timestamp: i) }
            spool.close()
            let path = QueueFiles.logPath(QueueFiles.directory(root, "q"), 0)
            for batch in try batches(in: path).batches {
                try ByteMutator.flipBit(path, at: batch.position + 17)  // the stored CRC
            }
            let report = try Verifier().verify(path: root)
            #expect(report.problems.count == 1000)
            #expect(report.problems.allSatisfy { $0.kind == .corruption && $0.message.hasPrefix("CRC mismatch") })
            #expect(report.notes.contains { $0.contains("100 more damaged batches") })
        }
    }

    @Test("a group that acked offsets past its queue's end is reported against the queue")
    func groupAheadOfQueue() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.writeRoot(dir + "/a", count: 100, acked: 100)
            _ = try await Self.writeRoot(dir + "/b", count: 10)
            try Files.makeDirectory(QueueFiles.directory(dir + "/b", "q") + "/groups")
            try Files.copyFiles(from: QueueFiles.directory(dir + "/a", "q") + "/groups/g", to: QueueFiles.directory(dir + "/b", "q") + "/groups/g")
            let report = try Verifier().verify(path: dir + "/b")
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.kind == .corruption)
            #expect(report.problems.first?.message.contains("acknowledged offsets up to 99, but queue q ends at offset 10") == true)
        }
    }

    @Test("repair quarantines a sealed segment with no readable batch and leaves the rest readable")
    func quarantineUnreadableSegment() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root)
            let path = Self.segment(root, 0)
            try ByteMutator.overwrite(path, at: 16, with: [7])  // magic 7: nothing in it frames
            let report = try Verifier().verify(path: root)
            #expect(report.problems.first?.kind == .corruption)
            #expect(report.problems.first?.position == 0)
            let done = try Repairer(options: options).repair(path: root, dryRun: false)
            #expect(done.actions.map(\.kind) == [.quarantine])
            #expect(Files.exists(path + ".quarantined") && !Files.exists(path))
            let after = try Verifier().verify(path: root)
            #expect(after.problems == [])
            let spool = try openRoot(at: root, options: options)
            defer { spool.close() }
            let log = try spool.queue("q")
            let first = log.firstOffset
            #expect(first > 0)
            expectRecords(try readAll(log, from: first), from: first, count: 200 - Int(first)) { TestPayload.make($0, size: 900) }
        }
    }

    @Test("a live root: verify, stats and a follower work while the writer holds the lock, which repair refuses")
    func liveRoot() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root, count: 100, acked: 40)
            let spool = try openRoot(at: root, options: options)
            defer { spool.close() }
            let log = try spool.queue("q")
            let follower = try LogFollower(directory: QueueFiles.directory(root, "q"), lastRecords: 5)
            #expect(try follower.poll().map(\.offset) == Array(95..<100))
            for offset in Int64(100)..<Int64(150) {
                try await log.append(TestPayload.make(offset, size: 900), timestamp: TestPayload.timestamp(offset))
            }
            let report = try Verifier().verify(path: root)
            #expect(report.writerActive)
            #expect(report.problems == [])
            let stats = try StatsCollector().collect(path: root)
            #expect(stats.map(\.name) == ["q"])
            #expect(stats.first?.nextOffset == 150)
            #expect(stats.first?.groups.first?.lag == 110)
            // The follower crossed segment rolls and got exactly the new records.
            let next = try follower.poll()
            #expect(next.map(\.offset) == Array(100..<150))
            #expect(next.last?.value == TestPayload.make(149, size: 900))
            #expect(try follower.poll().isEmpty)
            let error = #expect(throws: SpoolError.self) { try Repairer(options: options).repair(path: root, dryRun: false) }
            #expect(error?.code == .locked)
            #expect(throws: SpoolError.self) { try Repairer(options: options).repair(path: root, dryRun: true) }
            try await log.append([1], timestamp: 1)  // the writer still writes
        }
    }

    @Test("stats: tasks, depth, lag, oldest pending time, segments and dead letters from indexes and group logs")
    func statsFigures() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root, count: 200, acked: 30)
            let spool = try openRoot(at: root, options: options)
            _ = try await spool.group("g", on: "q").acknowledge(offsets: [35, 36])
            let dlq = try spool.openQueue("q.dlq")
            try await dlq.append([1, 2, 3], timestamp: 5)
            spool.close()
            let stats = try StatsCollector().collect(path: root)
            #expect(stats.map(\.name) == ["q", "q.dlq"])
            let q = try #require(stats.first)
            #expect(q.tasks == 200)
            #expect(q.segments == QueueFiles.bases(QueueFiles.directory(root, "q")).count)
            #expect(q.groups.map(\.name) == ["g"])
            #expect(q.groups.first?.watermark == 30)
            #expect(q.groups.first?.lag == 168)
            #expect(q.depth == 168)
            #expect(q.groups.first?.oldestPendingTimestamp == TestPayload.timestamp(30))
            #expect(q.oldestTimestamp == TestPayload.timestamp(0))
            #expect(q.newestTimestamp == TestPayload.timestamp(199))
            #expect(q.deadLetters == 1)
            #expect(q.lastCodec == "none")
            let bytes = try QueueFiles.bases(QueueFiles.directory(root, "q")).reduce(Int64(0)) { sum, base in
                sum + (try batches(in: QueueFiles.logPath(QueueFiles.directory(root, "q"), base)).end.position)
            }
            #expect(q.logBytes == bytes)
            #expect(q.diskBytes >= bytes)
        }
    }

    @Test("group state read from disk matches the engine's replay: watermark, out-of-order acks and retries")
    func groupStateMatchesEngine() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await Self.writeRoot(root, count: 50, acked: 10)
            let spool = try openRoot(at: root, options: options)
            let group = try spool.group("g", on: "q")
            _ = try await group.acknowledge(offsets: [20, 21, 30])
            let progress = group.progress
            spool.close()
            let log = try #require(try SpoolLayout.logs(at: root).first { $0.kind == .group })
            let state = try GroupStateReader().read(log)
            #expect(state.watermark == progress.watermark)
            #expect(state.ackedAboveWatermark == progress.ackedAboveWatermark)
            #expect(state.ackedEnd == 31)
            #expect(state.lag(queueEnd: 50) == progress.lag)
        }
    }

    @Test("bad input: an empty file and a file of zeros hold no batches; text, a huge length field and a short header are torn tails of a lone file")
    func badFiles() async throws {
        try await withTemporaryDirectory { dir in
            let empty = dir + "/empty.log", zeros = dir + "/zeros.log", text = dir + "/notes.txt", huge = dir + "/huge.log", short = dir + "/short.log"
            try Files.write(empty, [])
            try Files.write(zeros, [UInt8](repeating: 0, count: 8192))
            try Files.write(text, Array(String(repeating: "this is not a segment\n", count: 10).utf8))
            var header = [UInt8](repeating: 0, count: 61)
            header[8] = 0x7f; header[9] = 0xff; header[10] = 0xff; header[11] = 0xff
            header[16] = 2
            try Files.write(huge, header)
            try Files.write(short, [0, 0, 0, 1, 2])
            for path in [empty, zeros] {
                let report = try Verifier().verify(path: path)
                #expect(report.problems == [], "\(path)")
                #expect(report.batches == 0)
            }
            for path in [text, huge, short] {
                let report = try Verifier().verify(path: path)
                #expect(report.problems.count == 1, "\(path)")
                #expect(report.problems.first?.kind == .tornTail)
                #expect(report.problems.first?.position == 0)
            }
            #expect(try Verifier().verify(path: huge).problems.first?.message.contains("bad batchLength 2147483647") == true)
            let missing = #expect(throws: SpoolError.self) { try Verifier().verify(path: dir + "/absent") }
            #expect(missing?.code == .notFound)
            #expect(missing?.path == dir + "/absent")
        }
    }
}

/// Removes one file the first time it is opened, as retention would between a listing and a read.
final class VanishingFileSystem: FileSystem {
    let base = PosixFileSystem()
    let path: String
    private let done = Mutex(false)

    init(vanishing path: String) { self.path = path }

    func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        if path == self.path && done.withLock({ d in defer { d = true }; return !d }) { _ = Glibc.unlink(path) }
        return try base.open(path, flags: flags, mode: mode)
    }
    func close(_ fd: Int32) { base.close(fd) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int { try base.read(fd, into: buffer, at: position) }
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws { try base.write(fd, from: buffer, at: position) }
    func fdatasync(_ fd: Int32) throws { try base.fdatasync(fd) }
    func fsync(_ fd: Int32) throws { try base.fsync(fd) }
    func truncate(_ fd: Int32, to length: Int64) throws { try base.truncate(fd, to: length) }
    func size(_ fd: Int32) throws -> Int64 { try base.size(fd) }
    func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    func unlink(_ path: String) throws { try base.unlink(path) }
    func makeDirectory(_ path: String, mode: mode_t) throws { try base.makeDirectory(path, mode: mode) }
    func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    func fileType(_ path: String) -> FileType { base.fileType(path) }
}
