import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// A queue left as a crash leaves it: a first session wrote `syncedCount` records and closed
/// (so the recovery point covers them), a second session appended more and was never closed.
/// The files were copied while the second session was still open, so the copy has the tail
/// past the recovery point, the preallocated zeros after it, and the old recovery point.
struct CrashedQueue {
    /// Geometry: one 1 MiB segment, zero-filled in 64 KiB steps, and a checkpoint interval so
    /// large that the second session never moves the recovery point.
    static let options = testOptions {
        $0.segmentBytes = 1 << 20
        $0.preallocationStepBytes = 64 << 10
        $0.recoveryCheckpointBytes = 64 << 20
    }
    /// Every record carries this header, so each batch ends with a non-zero byte.
    static let header = RecordHeader(name: "h", value: [1, 2, 3])

    let root: String
    let directory: String
    /// The only segment, 00000000000000000000.log.
    let segment: String
    /// The recovery point: position and offset.
    let syncedPosition: Int64
    let syncedOffset: Int64
    /// Where the data ended when the copy was taken.
    let writeEnd: Int64
    let nextOffset: Int64
    /// Batches past the recovery point.
    let tail: [BatchInfo]
    let sizes: [Int]

    func value(_ offset: Int64) -> [UInt8] { TestPayload.make(offset, size: sizes[Int(offset)]) }

    static func size(_ offset: Int64, rng: inout SplitMix64) -> Int { 20 + Int(rng.next() % 1500) }

    static func make(in dir: String, syncedCount: Int = 40, tailAppends: Int = 6, seed: UInt64 = 1) async throws -> CrashedQueue {
        let live = dir + "/live"
        var rng = SplitMix64(seed: seed)
        var sizes: [Int] = []
        func records(_ n: Int, rng: inout SplitMix64) -> [RecordInput] {
            (0..<n).map { _ in
                let offset = Int64(sizes.count)
                sizes.append(size(offset, rng: &rng))
                return RecordInput(value: TestPayload.make(offset, size: sizes.last!), headers: [header], timestamp: TestPayload.timestamp(offset))
            }
        }
        let first = try openRoot(at: live, options: options)
        let firstLog = try first.queue("q")
        while sizes.count < syncedCount {
            try await firstLog.append(batch: records(min(Int(rng.next() % 3) + 1, syncedCount - sizes.count), rng: &rng))
        }
        first.close()

        let second = try openRoot(at: live, options: options)
        let log = try second.queue("q")
        for i in 0..<tailAppends {
            if i == tailAppends - 1 {
                // The last batch: one record with a large payload, so a cut through its middle
                // lands in payload bytes.
                let offset = Int64(sizes.count)
                sizes.append(1500)
                try await log.append(batch: [RecordInput(value: TestPayload.make(offset, size: 1500), headers: [header], timestamp: TestPayload.timestamp(offset))])
            } else {
                try await log.append(batch: records(Int(rng.next() % 3) + 1, rng: &rng))
            }
        }
        let committed = log.committed
        let copy = try crashCopy(root: live, queue: "q", to: dir + "/crashed")
        second.close()

        let directory = QueueFiles.directory(copy, "q")
        let point = try #require(RecoveryPoint(decoding: try Files.read(directory + "/recovery-point")))
        try #require(point.segment == 0 && point.nextOffset == Int64(syncedCount), "the recovery point covers the first session only")
        let segment = QueueFiles.logPath(directory, 0)
        let tail = try batches(in: segment).batches.filter { $0.position >= point.position }
        try #require(tail.first?.position == point.position && tail.last?.end == committed.position)
        return CrashedQueue(root: copy, directory: directory, segment: segment, syncedPosition: point.position, syncedOffset: point.nextOffset,
                            writeEnd: committed.position, nextOffset: committed.nextOffset, tail: tail, sizes: sizes)
    }

    /// Copies this crashed queue to a fresh root (for one case of a sweep).
    func copy(to newRoot: String) throws -> CrashedQueue {
        _ = try crashCopy(root: root, queue: "q", to: newRoot)
        let directory = QueueFiles.directory(newRoot, "q")
        return CrashedQueue(root: newRoot, directory: directory, segment: QueueFiles.logPath(directory, 0), syncedPosition: syncedPosition,
                            syncedOffset: syncedOffset, writeEnd: writeEnd, nextOffset: nextOffset, tail: tail, sizes: sizes)
    }

    /// Opens the (damaged) copy, and checks what must hold after any damage past the recovery
    /// point: open succeeds, nothing below the recovery point is lost, every record left is
    /// the one written, the `.broken` files hold exactly what was cut, appends continue at the
    /// next offset, and a second reopen finds nothing more to cut. Returns the report.
    @discardableResult
    func recoverAndCheck(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> RecoveryReport {
        let before = try Files.read(segment)
        let root = try openRoot(at: self.root, options: Self.options)
        let log: QueueLog
        do {
            log = try root.queue("q")
        } catch {
            root.close()
            Issue.record("\(what): open threw \(error)", sourceLocation: sourceLocation)
            throw error
        }
        let report = log.recoveryReport
        #expect(report.nextOffset >= syncedOffset, "\(what): lost records below the recovery point", sourceLocation: sourceLocation)
        #expect(report.nextOffset <= nextOffset, "\(what): records appeared from nowhere", sourceLocation: sourceLocation)
        #expect(log.committed.nextOffset == report.nextOffset, sourceLocation: sourceLocation)
        let records = try readAll(log)
        expectRecords(records, count: Int(report.nextOffset), expected: { value($0) }, sourceLocation: sourceLocation)
        try expectBrokenFilesMatch(report, directory: directory, segmentBase: 0, before: before, sourceLocation: sourceLocation)
        let appended = try await log.append(batch: [RecordInput(value: Array("after \(what)".utf8), timestamp: 0)])
        #expect(appended == report.nextOffset, "\(what): appends continue at the next offset", sourceLocation: sourceLocation)
        root.close()

        let again = try openRoot(at: self.root, options: Self.options)
        defer { again.close() }
        let reopened = try again.queue("q")
        #expect(reopened.recoveryReport.bytesTruncated == 0, "\(what): the cut was durable", sourceLocation: sourceLocation)
        #expect(reopened.committed.nextOffset == report.nextOffset + 1, sourceLocation: sourceLocation)
        return report
    }
}
