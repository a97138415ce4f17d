import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Synchronization
import Testing

// MARK: Seams: clock and file system

/// A clock whose wall time the test moves by hand (to roll segments by age); its monotonic
/// clock is the system's, so the engine's bounded spins still end.
final class TestClock: SpoolClock {
    static let start: Int64 = 1_700_000_000_000
    private let offset = Atomic<Int64>(0)

    func wallMilliseconds() -> Int64 { Self.start + offset.load(ordering: .acquiring) }
    func monotonicNanoseconds() -> UInt64 { SystemClock().monotonicNanoseconds() }

    func advance(milliseconds: Int64) {
        offset.add(milliseconds, ordering: .acquiringAndReleasing)
    }
}

/// A file system that forwards to another one, and can hold every `fdatasync` at a gate (a
/// disk that has not answered yet) or slow it down. Lets a test decide exactly which appends
/// share a group commit, and prove that nobody is answered before its sync returned.
final class GatedFileSystem: FileSystem {
    let base: any FileSystem
    private let closed = Atomic<Bool>(false)
    private let blocked = Atomic<Int>(0)
    private let syncs = Atomic<Int>(0)
    private let closedAt = Atomic<Int>(0)
    private let gaveUp = Atomic<Bool>(false)
    private let delayMicroseconds: UInt32

    init(wrapping base: any FileSystem = PosixFileSystem(), syncDelayMicroseconds: UInt32 = 0) {
        self.base = base
        self.delayMicroseconds = syncDelayMicroseconds
    }

    /// From now on, fdatasync waits until ``openGate()``, or at most 150 s (then ``timedOut`` is
    /// set, so that a test that forgot to open the gate fails instead of hanging).
    func closeGate() {
        closedAt.store(Int(SystemClock().monotonicNanoseconds() / 1_000_000), ordering: .releasing)
        closed.store(true, ordering: .releasing)
    }
    func openGate() { closed.store(false, ordering: .releasing) }
    /// Syncs waiting at the gate right now.
    var waitingAtGate: Int { blocked.load(ordering: .acquiring) }
    /// fdatasync calls that completed.
    var dataSyncs: Int { syncs.load(ordering: .acquiring) }
    /// Whether a sync gave up waiting for the gate to open.
    var timedOut: Bool { gaveUp.load(ordering: .acquiring) }

    /// Waits until a sync is held at the gate (bounded: throws after `seconds`).
    func waitUntilSyncIsHeld(seconds: Double = 90) async throws {
        try await waitFor("an fdatasync to reach the closed gate", seconds: seconds) { self.waitingAtGate > 0 }
    }

    func fdatasync(_ fd: Int32) throws {
        if delayMicroseconds > 0 { usleep(delayMicroseconds) }
        if closed.load(ordering: .acquiring) {
            blocked.add(1, ordering: .acquiringAndReleasing)
            while closed.load(ordering: .acquiring) {
                if Int(SystemClock().monotonicNanoseconds() / 1_000_000) - closedAt.load(ordering: .acquiring) > 150_000 {
                    gaveUp.store(true, ordering: .releasing)
                    break
                }
                usleep(200)
            }
            blocked.subtract(1, ordering: .acquiringAndReleasing)
        }
        try base.fdatasync(fd)
        syncs.add(1, ordering: .acquiringAndReleasing)
    }

    func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 { try base.open(path, flags: flags, mode: mode) }
    func close(_ fd: Int32) { base.close(fd) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        try base.read(fd, into: buffer, at: position)
    }
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws {
        try base.write(fd, from: buffer, at: position)
    }
    func fsync(_ fd: Int32) throws { try base.fsync(fd) }
    func truncate(_ fd: Int32, to length: Int64) throws { try base.truncate(fd, to: length) }
    func size(_ fd: Int32) throws -> Int64 { try base.size(fd) }
    func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    func unlink(_ path: String) throws { try base.unlink(path) }
    func makeDirectory(_ path: String, mode: mode_t) throws { try base.makeDirectory(path, mode: mode) }
    func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    func fileType(_ path: String) -> FileType { base.fileType(path) }
}

/// Polls `condition` every millisecond, suspending (never blocking a cooperative thread);
/// throws when it is still false after `seconds`. Only for waiting on something that must
/// happen, never to assert speed: the bound is generous.
func waitFor(_ what: String, seconds: Double = 90, _ condition: () -> Bool) async throws {
    let deadline = SystemClock().monotonicNanoseconds() + UInt64(seconds * 1e9)
    while !condition() {
        if SystemClock().monotonicNanoseconds() > deadline {
            throw SpoolError(.io, "timed out after \(seconds) s waiting for \(what)")
        }
        try await Task.sleep(nanoseconds: 1_000_000)
    }
}

/// A counter shared between tasks and threads.
final class AtomicCounter: Sendable {
    private let storage = Atomic<Int>(0)
    func increment() { storage.add(1, ordering: .acquiringAndReleasing) }
    var value: Int { storage.load(ordering: .acquiring) }
}

/// Values gathered from several tasks or threads.
final class Collector<T: Sendable>: Sendable {
    private let storage = Mutex<[T]>([])
    func add(_ value: T) { storage.withLock { $0.append(value) } }
    var values: [T] { storage.withLock { $0 } }
}

/// Sleeps without blocking a cooperative thread.
func pause(milliseconds: Int) async {
    try? await Task.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000)
}

// MARK: Deterministic data

/// Payloads that differ for every id and never contain a zero byte (so a zero-filled range
/// can always be told apart from data).
enum TestPayload {
    static func make(_ id: Int64, size: Int) -> [UInt8] {
        var rng = SplitMix64(seed: UInt64(bitPattern: id) &* 0x2545_F491_4F6C_DD1D &+ 1)
        var out = [UInt8]()
        out.reserveCapacity(size + 8)
        while out.count < size {
            let word = rng.next() | 0x0101_0101_0101_0101
            withUnsafeBytes(of: word) { out.append(contentsOf: $0) }
        }
        out.removeLast(out.count - size)
        return out
    }

    /// A timestamp that grows with the id.
    static func timestamp(_ id: Int64) -> Int64 { 1_600_000_000_000 + id * 10 }
}

/// Default options for tests: quiet logger, and no rolling by age (test records carry
/// timestamps from 2020, which a reopened segment's age is measured from); everything else as
/// given.
func testOptions(_ configure: (inout SpoolOptions) -> Void = { _ in }) -> SpoolOptions {
    var options = SpoolOptions()
    options.logger.logLevel = .critical
    options.segmentMaxAgeMilliseconds = 1_000 * 365 * 86_400_000
    configure(&options)
    return options
}

/// Opens a root, as `SpoolRoot.open` does. While another test spawns a child process, the
/// child briefly (from fork to exec) shares every open file description of this process, the
/// lock file's of a root just closed included, so that root still looks locked by this very
/// process for a moment: only that case is retried, for at most 2 s.
func openRoot(at path: String, options: SpoolOptions) throws -> SpoolRoot {
    let deadline = SystemClock().monotonicNanoseconds() + 2_000_000_000
    while true {
        do {
            return try SpoolRoot.open(at: path, options: options)
        } catch let error as SpoolError
            where error.code == .locked && error.message.contains("process \(getpid()),")
            && SystemClock().monotonicNanoseconds() < deadline {
            usleep(2_000)
        }
    }
}

// MARK: Reading back

/// Every record from `offset` to the committed end.
func readAll(_ log: QueueLog, from offset: Int64 = 0) throws -> [Record] {
    var reader = log.reader(from: offset)
    var out: [Record] = []
    while true {
        let records = try reader.read(max: 4096)
        if records.isEmpty { return out }
        out += records
    }
}

/// Checks that `records` are offsets `first...` in order, each with the payload `expected`
/// gives for its offset.
func expectRecords(_ records: [Record], from first: Int64 = 0, count: Int? = nil, expected: (Int64) -> [UInt8]?,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    if let count { #expect(records.count == count, "record count", sourceLocation: sourceLocation) }
    var problems = 0
    for (i, record) in records.enumerated() where problems < 5 {
        let offset = first + Int64(i)
        if record.offset != offset || record.value != expected(offset) {
            problems += 1
            Issue.record("record \(i): offset \(record.offset) (expected \(offset)), value of \(record.value?.count ?? -1) bytes (expected \(expected(offset)?.count ?? -1))",
                         sourceLocation: sourceLocation)
        }
    }
}

// MARK: Files of a queue

enum QueueFiles {
    static func directory(_ root: String, _ queue: String) -> String { root + "/queues/" + queue }

    /// `.log` file names, in offset order.
    static func segments(_ directory: String) -> [String] {
        Files.list(directory).filter { $0.hasSuffix(".log") }
    }

    static func stem(_ base: Int64) -> String {
        let text = String(base)
        return String(repeating: "0", count: 20 - text.count) + text
    }

    static func logPath(_ directory: String, _ base: Int64) -> String { directory + "/" + stem(base) + ".log" }
    static func indexPath(_ directory: String, _ base: Int64) -> String { directory + "/" + stem(base) + ".index" }
    static func timeIndexPath(_ directory: String, _ base: Int64) -> String { directory + "/" + stem(base) + ".timeindex" }

    /// The base offsets of the segments, from their names.
    static func bases(_ directory: String) -> [Int64] {
        segments(directory).compactMap { Int64($0.dropLast(4)) }
    }

    static func brokenFiles(_ directory: String) -> [String] {
        Files.list(directory).filter { $0.hasSuffix(".broken") }
    }
}

/// One batch found in a segment file.
struct BatchInfo: Equatable {
    var position: Int64
    var baseOffset: Int64
    var nextOffset: Int64
    var totalBytes: Int
    var maxTimestamp: Int64
    var end: Int64 { position + Int64(totalBytes) }
}

/// Walks the batches of a segment with the inspection API (no engine state involved).
func batches(in path: String) throws -> (batches: [BatchInfo], end: SegmentFile.End) {
    let file = try SegmentFile(path: path)
    var found: [BatchInfo] = []
    let end = try file.forEachBatch { entry in
        found.append(BatchInfo(position: entry.position, baseOffset: entry.header.baseOffset, nextOffset: entry.header.nextOffset,
                               totalBytes: entry.header.totalBytes, maxTimestamp: entry.header.maxTimestamp))
        return true
    }
    return (found, end)
}

/// The encoded size of one batch holding `records` (what one append of them adds to a segment).
func encodedSize(_ records: [RecordInput]) throws -> Int {
    var out: [UInt8] = []
    return try RecordBatchEncoder.encode(records, baseOffset: 0, into: &out)
}

// MARK: Simulated crash

/// Copies a queue's files while its root is still open (appends returned, nothing closed):
/// the new root holds exactly what a SIGKILL at that moment would leave, since the copy reads
/// the page cache. Returns the new root's path.
func crashCopy(root: String, queue: String, to newRoot: String) throws -> String {
    try Files.makeDirectory(newRoot)
    try Files.makeDirectory(newRoot + "/queues")
    try Files.copyFiles(from: QueueFiles.directory(root, queue), to: QueueFiles.directory(newRoot, queue))
    return newRoot
}

/// Checks what recovery says it cut against the files: each `.broken` file is named
/// `<stem>.<position>.broken`, holds exactly the bytes the damaged file had from `position`
/// on (up to the last non-zero byte; only zeros followed), and the sizes add up to
/// `bytesTruncated`. `before` is the damaged segment's content just before opening.
func expectBrokenFilesMatch(_ report: RecoveryReport, directory: String, segmentBase: Int64, before: [UInt8],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
    var total: Int64 = 0
    for path in report.brokenFiles {
        let name = String(path.split(separator: "/").last ?? "")
        let parts = name.split(separator: ".")
        try #require(parts.count == 3 && parts[0] == QueueFiles.stem(segmentBase) && parts[2] == "broken",
                     "broken file name \(name)", sourceLocation: sourceLocation)
        let position = try #require(Int(parts[1]), sourceLocation: sourceLocation)
        let kept = try Files.read(path)
        total += Int64(kept.count)
        #expect(position + kept.count <= before.count, "broken file longer than the data it came from", sourceLocation: sourceLocation)
        if position + kept.count <= before.count {
            #expect(Array(before[position..<position + kept.count]) == kept, "\(name) holds the cut bytes", sourceLocation: sourceLocation)
            #expect(before[(position + kept.count)...].allSatisfy { $0 == 0 }, "only zeros followed what \(name) kept",
                    sourceLocation: sourceLocation)
        }
        #expect(Files.size(directory + "/" + QueueFiles.stem(segmentBase) + ".log") == Int64(position),
                "the segment was cut at the broken file's position", sourceLocation: sourceLocation)
    }
    #expect(report.bytesTruncated == total, "bytesTruncated equals the .broken bytes", sourceLocation: sourceLocation)
    #expect(QueueFiles.brokenFiles(directory).count == report.brokenFiles.count, sourceLocation: sourceLocation)
}
