import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Damage that cannot be a torn tail: in a sealed segment, at or below the recovery point, or
/// in the directory's contents. It is never dropped silently: open or the read fails with an
/// error naming the file, the position and the offset, unless the caller chose `.salvage`.
@Suite("Corruption")
struct CorruptionTests {
    /// Closes a log of 64 KiB segments; payload of offset i is `TestPayload.make(i, size: 900)`.
    static func writeClosedLog(_ root: String, count: Int = 200) async throws -> SpoolOptions {
        let options = testOptions { $0.segmentBytes = 64 << 10 }
        let spool = try openRoot(at: root, options: options)
        let log = try spool.queue("q")
        for offset in Int64(0)..<Int64(count) {
            try await log.append(TestPayload.make(offset, size: 900), timestamp: TestPayload.timestamp(offset))
        }
        spool.close()
        return options
    }

    static func value(_ offset: Int64) -> [UInt8] { TestPayload.make(offset, size: 900) }

    @Test("a bit flip inside a sealed segment: open succeeds without reading it, and reading that batch throws .corruption naming file, position and offset")
    func bitFlipInSealedSegment() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await Self.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let segment = QueueFiles.logPath(directory, 0)
            let damaged = try #require(try batches(in: segment).batches.dropFirst(20).first)
            try ByteMutator.flipBit(segment, at: damaged.position + 61 + 400, bit: 6)

            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let log = try root.queue("q")
            #expect(log.recoveryReport.bytesScanned < 8192, "open did not read the sealed segment")
            var reader = log.reader(from: 0)
            expectRecords(try reader.read(max: Int(damaged.baseOffset)), count: Int(damaged.baseOffset)) { Self.value($0) }
            let error = #expect(throws: SpoolError.self) { _ = try reader.nextBatch() }
            #expect(error?.code == .corruption)
            #expect(error?.path == segment)
            #expect(error?.segment == 0)
            #expect(error?.position == damaged.position)
            #expect(error?.offset == damaged.baseOffset)
            // The rest of the log still reads: the next segment, from its first offset.
            let next = QueueFiles.bases(directory)[1]
            expectRecords(try readAll(log, from: next), from: next, count: 200 - Int(next)) { Self.value($0) }
        }
    }

    @Test("a zeroed range inside a sealed segment makes the read throw .corruption at that batch")
    func zeroedRangeInSealedSegment() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await Self.writeClosedLog(dir + "/root")
            let segment = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            let damaged = try #require(try batches(in: segment).batches.dropFirst(10).first)
            try ByteMutator.zero(segment, damaged.position..<damaged.position + 4096)
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { _ = try readAll(try root.queue("q")) }
            #expect(error?.code == .corruption)
            #expect(error?.path == segment)
            #expect(error?.position == damaged.position)
        }
    }

    @Test("a segment truncated below the recovery point makes open throw .corruption naming the file and position")
    func truncatedBelowRecoveryPoint() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await Self.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let active = QueueFiles.logPath(directory, QueueFiles.bases(directory).last!)
            let cut = Files.size(active) - 100
            try ByteMutator.truncate(active, to: cut)
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { _ = try root.queue("q") }
            #expect(error?.code == .corruption)
            #expect(error?.path == active)
            #expect(error?.position == cut)
            #expect(error?.hint?.contains("salvage") == true)
        }
    }

    @Test("with corruptionPolicy .salvage, a segment truncated below the recovery point opens and keeps every whole batch")
    func truncatedBelowRecoveryPointSalvaged() async throws {
        try await withTemporaryDirectory { dir in
            var options = try await Self.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let base = QueueFiles.bases(directory).last!
            let active = QueueFiles.logPath(directory, base)
            let last = try batches(in: active).batches.last!
            try ByteMutator.truncate(active, to: last.end - 100)
            options.corruptionPolicy = .salvage
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let log = try root.queue("q")
            #expect(log.recoveryReport.nextOffset == last.baseOffset)
            #expect(log.recoveryReport.brokenFiles.count == 1)
            #expect(log.recoveryReport.bytesTruncated == Int64(last.totalBytes - 100))
            expectRecords(try readAll(log), count: Int(last.baseOffset)) { Self.value($0) }
            #expect(try await log.append([1]) == last.baseOffset)
        }
    }

    @Test("a bit flip in the last synced batch below the recovery point makes open throw .corruption naming file, position and offset")
    func bitFlipBelowRecoveryPoint() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await Self.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let active = QueueFiles.logPath(directory, QueueFiles.bases(directory).last!)
            let last = try batches(in: active).batches.last!
            try ByteMutator.flipBit(active, at: last.position + 61 + 200, bit: 2)
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { _ = try root.queue("q") }
            #expect(error?.code == .corruption)
            #expect(error?.path == active)
            #expect(error?.position == last.position)
            #expect(error?.offset == last.baseOffset)
            #expect(Files.size(active) == last.end, "nothing was cut")
        }
    }

    @Test("a recovery point naming a missing segment makes open throw .corruption naming the recovery point")
    func recoveryPointNamesMissingSegment() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await Self.writeClosedLog(dir + "/root")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let last = QueueFiles.bases(directory).last!
            for path in [QueueFiles.logPath(directory, last), QueueFiles.indexPath(directory, last), QueueFiles.timeIndexPath(directory, last)] {
                #expect(unlink(path) == 0)
            }
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { _ = try root.queue("q") }
            #expect(error?.code == .corruption)
            #expect(error?.path == directory + "/recovery-point")
            #expect(error?.segment == last)
        }
    }

    @Test("a .log whose name is not a 20-digit offset in the queue directory makes open throw .invalidArgument naming it")
    func strangeLogFileName() async throws {
        try await withTemporaryDirectory { dir in
            let options = try await Self.writeClosedLog(dir + "/root", count: 5)
            let directory = QueueFiles.directory(dir + "/root", "q")
            for name in ["backup.log", "123.log", "000000000000000000001.log", "0000000000000000000x.log"] {
                try Files.write(directory + "/" + name, [1, 2, 3])
                let root = try openRoot(at: dir + "/root", options: options)
                let error = #expect(throws: SpoolError.self) { _ = try root.queue("q") }
                #expect(error?.code == .invalidArgument, "\(name)")
                #expect(error?.path == directory + "/" + name)
                root.close()
                #expect(unlink(directory + "/" + name) == 0)
            }
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            #expect(try root.queue("q").committed.nextOffset == 5)
        }
    }
}
