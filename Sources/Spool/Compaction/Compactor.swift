import Glibc
import Logging
import SpoolFormat
import Synchronization

/// Keeps a root's disk bounded (DESIGN.md, "Recovery and compaction"). One pass, per queue:
///
/// 1. brings each consumer group's state up to date from its checkpoint and the tail of its
///    log, writes a new checkpoint (``GroupCheckpointStore``), and deletes the group-log
///    segments below the older checkpoint, so opening a group replays only a short tail;
/// 2. seals the active segment when every group has acked all of it (the active segment is
///    never compacted or deleted itself);
/// 3. deletes sealed segments from the front of the log: those every group has acked, and
///    those past retention (``SpoolOptions/retentionMilliseconds``, ``SpoolOptions/retentionBytes``),
///    acked or not; the log start moves up;
/// 4. rewrites sealed segments that are mostly dead (``SpoolOptions/compactionSparseRatio``):
///    records every group acked and, with ``SpoolOptions/keyCompaction``, records superseded
///    by a later one of the same key and tombstones past ``SpoolOptions/tombstoneRetentionMilliseconds``
///    go; the others keep their offsets (``SegmentRewriter``, ``SegmentSwap``).
///
/// Reads are throttled to ``SpoolOptions/compactionBytesPerSecond``. Every change follows the
/// crash protocol of FORMAT.md, "Compaction", and a pass decides from what is on disk, so a
/// pass cut short by a crash is finished or rolled back at open and the next pass resumes.
///
/// Thread-safety: `Sendable`; passes are serialized (a second caller waits for the first).
final class Compactor: Sendable {
    typealias ProgressHandler = @Sendable (CompactionProgress) -> Void

    /// Passes a run makes at most while each still changes something.
    static let passesMax = 4
    /// How long a pass waits for the writer to seal a segment it asked to roll.
    static let rollWaitMilliseconds: Int64 = 2_000

    private let passLock = ConditionLock()
    private let stopFlag = Atomic<Bool>(false)
    /// Each group's state as of the last pass, by "queue/group": the next pass replays only
    /// what the group logged since.
    private let groupStates = Mutex<[String: GroupCheckpoint]>([:])

    /// Ends the current pass at its next batch and refuses further ones (the root is closing).
    func stop() { stopFlag.store(true, ordering: .releasing) }
    var isStopped: Bool { stopFlag.load(ordering: .acquiring) }

    /// Runs passes over `queues` (all on disk when nil) until one changes nothing, at most
    /// ``passesMax``.
    /// - Throws: errors listing the queues; a queue's own errors are in its report instead.
    func run(root: some CompactionSource, queues: [String]?, progress: ProgressHandler?) throws -> CompactionReport {
        try passLock.withLock {
            let clock = root.options.clock
            let started = clock.monotonicNanoseconds()
            var report = CompactionReport()
            let names = try queues ?? root.queueNames()
            let reserve = DiskReserve(root: root.path, options: root.options)
            defer {
                do { try reserve.ensure() } catch {
                    root.options.logger.warning(
                        "compaction reserve not made", metadata: ["file": "\(reserve.path)", "error": "\(error)"])
                }
            }
            var totals = names.map { QueueCompaction(queue: $0) }
            for pass in 1...Self.passesMax {
                var changed = false
                for (i, name) in names.enumerated() where !isStopped {
                    let result = compactQueue(root: root, name: name, reserve: reserve, progress: progress)
                    totals[i].add(result)
                    changed = changed || result.changedSomething
                }
                report.passes = pass
                if !changed || isStopped { break }
            }
            report.queues = totals
            report.stopped = isStopped
            report.seconds = Double(clock.monotonicNanoseconds() &- started) / 1e9
            return report
        }
    }

    // MARK: One queue

    private func compactQueue(
        root: some CompactionSource, name: String, reserve: DiskReserve, progress: ProgressHandler?
    ) -> QueueCompaction {
        var result = QueueCompaction(queue: name)
        let options = root.options
        do {
            let log = try root.queue(name, compression: nil)
            let acked = try refreshGroups(root: root, queue: log, reserve: reserve, result: &result)
            if !acked.groups.isEmpty && acked.watermark >= log.committed.nextOffset && log.committed.position > 0 {
                if log.rollAndWait(timeoutMilliseconds: Self.rollWaitMilliseconds) { result.rolls += 1 }
            }
            try deleteFromFront(log, acked: acked, options: options, result: &result)
            try rewriteSparse(
                log, acked: acked, options: options, reserve: reserve, progress: progress, result: &result)
            let (segments, committed) = log.shared.snapshot
            result.logStartOffset = segments.first?.baseOffset ?? 0
            result.nextOffset = committed.nextOffset
            result.segmentBytes = try Self.bytes(of: segments, committed: committed)
        } catch {
            result.error = "\(error)"
            options.logger.error("compaction of a queue stopped", metadata: ["queue": "\(name)", "error": "\(error)"])
        }
        CompactionMetrics(queue: name, factory: options.metricsFactory).record(result)
        return result
    }

    /// Brings every group of the queue up to date, checkpoints it, trims its log; returns what
    /// all of them have acked.
    private func refreshGroups(
        root: some CompactionSource, queue log: QueueLog, reserve: DiskReserve, result: inout QueueCompaction
    ) throws -> AckedByAll {
        let options = root.options
        let queueStart = log.firstOffset
        var all: [OffsetRanges] = []
        for group in try root.groupNames(of: log.name) {
            let groupLog = try root.groupLog(group, on: log.name)
            let store = GroupCheckpointStore(directory: groupLog.directory, fileSystem: options.fileSystem)
            var loaded = try store.load()
            let key = log.name + "/" + group
            // The state from the last pass, unless the group log no longer matches it (moved away to reset the group).
            let cached = groupStates.withLock { $0[key] }.flatMap { c in
                c.logOffset <= groupLog.committed.nextOffset && c.logOffset >= groupLog.firstOffset ? c : nil
            }
            var state = cached ?? loaded.newest ?? .empty(logOffset: groupLog.firstOffset, queueStart: queueStart)
            // Under a durability weaker than `.always`, only what the group log has synced is
            // checkpointed: a checkpoint past the log's durable end would hide the records a
            // power cut lets the writer reuse the offsets of.
            let durableEnd: Int64? =
                options.durability == .always
                ? nil
                : (try RecoveryPoint.read(in: groupLog.directory, fileSystem: options.fileSystem))?.nextOffset
                    ?? state.logOffset
            state = try GroupReplay.advance(state, log: groupLog, upTo: durableEnd).0
            state.tidy(queueStart: queueStart)
            if loaded.newest?.logOffset != state.logOffset || loaded.deletableBelow < state.logOffset {
                do {
                    try saveCheckpoint(state, store, reserve: reserve, logger: options.logger)
                    result.checkpointsWritten += 1
                } catch {
                    // The state stands without it (it comes from the group's durable log); only
                    // trimming the group log waits for a later pass.
                    options.logger.warning(
                        "group checkpoint not written",
                        metadata: ["group": "\(groupLog.directory)", "error": "\(error)"])
                }
                loaded = try store.load()
            }
            groupStates.withLock { $0[key] = state }
            all.append(state.acked)
            result.groupSegmentsDeleted += try trimGroupLog(groupLog, below: loaded.deletableBelow)
        }
        return AckedByAll(groups: all)
    }

    /// Saves a checkpoint; on a full disk, once more after giving back the reserve.
    private func saveCheckpoint(
        _ state: GroupCheckpoint, _ store: GroupCheckpointStore, reserve: DiskReserve, logger: Logger
    ) throws {
        do {
            try store.save(state)
        } catch let error as SpoolError where error.code == .diskFull && reserve.release() {
            logger.warning(
                "disk full writing a group checkpoint: released the compaction reserve and trying again",
                metadata: ["file": "\(error.path ?? store.directory)"])
            try store.save(state)
        }
    }

    /// Deletes the group log's sealed segments wholly below `bound` (both checkpoints cover
    /// them), sealing its active segment first when all of it is below.
    private func trimGroupLog(_ groupLog: QueueLog, below bound: Int64) throws -> Int {
        if bound >= groupLog.committed.nextOffset && groupLog.committed.position > 0 {
            _ = groupLog.rollAndWait(timeoutMilliseconds: Self.rollWaitMilliseconds)
        }
        var deleted = 0
        // Bounded: each pass deletes the first segment, and the active one is never deleted.
        while !isStopped {
            let (segments, committed) = groupLog.shared.snapshot
            guard segments.count > 1, let first = segments.first, first.baseOffset != committed.segment,
                segments[1].baseOffset <= bound
            else { break }
            try SegmentSwap.deleteFirst(first, in: groupLog.shared)
            deleted += 1
        }
        return deleted
    }

    /// Deletes sealed segments from the front: acked by every group, or past retention.
    private func deleteFromFront(
        _ log: QueueLog, acked: AckedByAll, options: SpoolOptions, result: inout QueueCompaction
    ) throws {
        let now = options.clock.wallMilliseconds()
        var (segments, committed) = log.shared.snapshot
        var total = try Self.bytes(of: segments, committed: committed)
        // Bounded: each pass deletes the first segment, and the active one is never deleted.
        while !isStopped {
            (segments, committed) = log.shared.snapshot
            guard segments.count > 1, let first = segments.first, first.baseOffset != committed.segment else { break }
            let end = segments[1].baseOffset
            let size = try first.size()
            var byAck = false
            var byRetention = false
            if !acked.groups.isEmpty && end <= acked.watermark {
                byAck = true
            } else if let limit = options.retentionBytes, total > limit {
                byRetention = true
            } else if let age = options.retentionMilliseconds {
                let newest = try first.maxTimestamp(options: options)
                // A clock that went backwards (now before the newest record) expires nothing.
                byRetention = newest == .min || (now >= newest && now - newest >= age)
            }
            guard byAck || byRetention else { break }
            try SegmentSwap.deleteFirst(first, in: log.shared)
            total -= size
            result.segmentsDeleted += 1
            result.bytesDeleted += size
            if byAck { result.segmentsDeletedAcked += 1 } else { result.segmentsDeletedRetention += 1 }
            options.logger.info(
                "segment deleted",
                metadata: [
                    "file": "\(first.logPath)", "reason": "\(byAck ? "acked by every group" : "past retention")",
                    "bytes": "\(size)",
                ])
        }
    }

    /// Rewrites sealed segments whose removable records reach the sparse ratio.
    private func rewriteSparse(
        _ log: QueueLog, acked: AckedByAll, options: SpoolOptions, reserve: DiskReserve, progress: ProgressHandler?,
        result: inout QueueCompaction
    ) throws {
        guard !acked.groups.isEmpty || options.keyCompaction else { return }
        let fs = options.fileSystem
        // The segment the recovery point names keeps its positions: recovery starts there.
        let pinned = try RecoveryPoint.read(in: log.directory, fileSystem: fs)?.segment
        var throttle = CompactionThrottle(bytesPerSecond: options.compactionBytesPerSecond, clock: options.clock)
        var keys: LatestKeys? = nil
        if options.keyCompaction {
            keys = try LatestKeys.build(log, keysMax: options.keyCompactionKeysMax) { _ in !isStopped }
            if keys == nil && !isStopped {
                options.logger.warning(
                    "key compaction skipped: more distinct keys than keyCompactionKeysMax",
                    metadata: ["queue": "\(log.name)", "keysMax": "\(options.keyCompactionKeysMax)"])
            }
        }
        let (segments, committed) = log.shared.snapshot
        var candidates: [Segment] = []
        for i in segments.indices.dropLast()
        where segments[i].baseOffset != committed.segment && segments[i].baseOffset != pinned {
            let segment = segments[i]
            if keys != nil {
                candidates.append(segment)
                continue
            }
            let span = segments[i + 1].baseOffset - segment.baseOffset
            let dead = acked.count(in: segment.baseOffset..<segments[i + 1].baseOffset)
            guard span > 0, dead > 0, Double(dead) >= options.compactionSparseRatio * Double(span) else { continue }
            let physical = try segment.summary(limits: options.limits).records
            let removable = physical - (span - dead)
            if physical > 0 && removable > 0 && Double(removable) >= options.compactionSparseRatio * Double(physical) {
                candidates.append(segment)
            }
        }
        var planned: Int64 = 0
        for segment in candidates { planned += try segment.size() }
        var done: Int64 = 0
        let now = options.clock.wallMilliseconds()
        let tombstoneAge = options.tombstoneRetentionMilliseconds
        for segment in candidates where !isStopped {
            let keep: SegmentRewriter.Keep
            if let keys {
                keep = .records { record in
                    if acked.contains(record.offset) || keys.isSuperseded(record) { return false }
                    let expiredTombstone =
                        record.key != nil && record.value == nil && now >= record.timestamp
                        && now - record.timestamp >= tombstoneAge
                    return !expiredTombstone
                }
            } else {
                keep = .offsets { !acked.contains($0) }
            }
            var outcome: SegmentRewriter.Outcome? = nil
            // At most twice: once more after giving back the reserve on a full disk.
            for attempt in 0..<2 where outcome == nil {
                do {
                    outcome = try SegmentRewriter(options: options).rewrite(segment, keep: keep) { bytes in
                        done += bytes
                        throttle.consumed(bytes) { isStopped }
                        progress?(
                            CompactionProgress(
                                queue: log.name, segment: segment.baseOffset, bytesDone: done, bytesTotal: planned))
                        return !isStopped
                    }
                } catch let error as SpoolError where error.code == .closed && isStopped {
                    break
                } catch let error as SpoolError where error.code == .diskFull && attempt == 0 && reserve.release() {
                    options.logger.warning(
                        "disk full during a rewrite: released the compaction reserve and trying again",
                        metadata: ["file": "\(error.path ?? segment.logPath)", "reserve": "\(reserve.path)"])
                }
            }
            guard let outcome else { break }
            result.bytesRead += outcome.bytesRead
            let physical = outcome.recordsKept + outcome.recordsRemoved
            guard outcome.recordsRemoved > 0,
                Double(outcome.recordsRemoved) >= options.compactionSparseRatio * Double(physical)
            else {
                try CompactionLeftovers.unlinkIfPresent(outcome.path, fs)
                continue
            }
            try SegmentSwap.commitRewrite(of: segment, in: log.shared)
            result.segmentsRewritten += 1
            result.bytesWritten += outcome.bytesWritten
            result.recordsRemoved += outcome.recordsRemoved
            options.logger.info(
                "segment compacted",
                metadata: [
                    "file": "\(segment.logPath)", "records removed": "\(outcome.recordsRemoved)",
                    "bytes": "\(outcome.bytesRead) -> \(outcome.bytesWritten)",
                ])
        }
    }

    /// Bytes of a log's data: sealed segments' files, and the active one up to its committed end.
    static func bytes(of segments: [Segment], committed: LogPosition) throws -> Int64 {
        var total: Int64 = 0
        for segment in segments {
            total += segment.baseOffset == committed.segment ? committed.position : try segment.size()
        }
        return total
    }
}
