import Glibc
import Logging
import SpoolFormat
import Synchronization

/// A consumer group on a queue: consumers claim tasks under a lease, then ack or nack them.
/// Each group keeps its own progress, so several groups read the same queue independently.
///
/// Progress is a low watermark plus ranges of acked offsets above it (acks may come in any
/// order), persisted in the group's own log (`<queue>/groups/<group>/`, FORMAT.md "Group log")
/// under the root's durability policy: under `.always` an ack returns only once it is synced,
/// and an acked task is never delivered again, even after SIGKILL or a power cut. A task
/// claimed but not acked before a crash is delivered again: delivery is at-least-once.
///
/// A nack or an expired lease counts an attempt; the task comes back after the retry policy's
/// backoff, and after the last attempt it moves to the dead-letter queue `<queue>.dlq` with the
/// reason and attempt count in `spool.*` headers.
///
/// Thread-safety: `Sendable`. Any number of consumers may claim, ack and nack concurrently;
/// leases keep them from getting the same task.
public final class ConsumerGroup: Sendable {
    public let name: String
    /// The queue the group consumes.
    public let queue: QueueLog
    /// The group's own log of acks and attempts.
    let log: QueueLog
    let options: GroupOptions
    /// `options.lease` in milliseconds, converted once: a `Duration` conversion per leased
    /// task showed in W4's profile.
    let leaseMs: Int64
    let clock: any SpoolClock
    let logger: Logger
    let deadLetters: @Sendable () throws -> QueueLog
    let state: Mutex<State>
    let metrics: GroupMetrics
    /// What opening the group read: checkpoint, records replayed, files ignored.
    public let openReport: OpenReport

    /// One delivery in flight.
    struct Delivery: Sendable {
        var lease: QueueTask.Lease
        var attempt: Int
        var lane: String = ""
    }

    /// A task waiting to be delivered again.
    struct Retry: Sendable, Equatable {
        var attempts: Int
        var notBefore: Int64
    }

    struct State: Sendable {
        var acked: OffsetRanges
        /// The next offset not yet read (into the lane buffers) since the group was opened.
        var cursor: Int64
        /// By offset. An ``OffsetTable``, not a `Dictionary`: hashing was W4's largest cost.
        var leases = OffsetTable<Delivery>()
        var retries: [Int64: Retry] = [:]
        var nextLeaseID: UInt64
        var random: SplitMix64
        var reader: LogReader
        /// Offsets acked but not yet durable: neither claimable nor ackable again meanwhile.
        var acking = OffsetSet()
        /// Read-ahead buffers and in-flight counts per priority lane.
        var lanes: LaneScheduler
        /// Records read but not yet looked at (the rest of the last read), from `pendingHead`.
        var pending: [Record] = []
        var pendingHead = 0
        /// Offsets the reader stepped over because they hold no task (Kafka control batches,
        /// aborted transactions): acked in memory at once, written with the next ack.
        var passedOverUnwritten: [Range<Int64>] = []

        /// Takes what the reader stepped over into the acked set.
        mutating func absorbPassedOver() {
            for range in reader.takePassedOver() {
                acked.insert(range)
                if let last = passedOverUnwritten.last, last.upperBound == range.lowerBound {
                    passedOverUnwritten[passedOverUnwritten.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    passedOverUnwritten.append(range)
                }
            }
        }

        /// Ends the lease on `offset` (ack, nack, expiry, release) and frees its lane's slot.
        mutating func endLease(_ offset: Int64) -> Delivery? {
            guard let delivery = leases.removeValue(forKey: offset) else { return nil }
            lanes.finished(delivery.lane)
            return delivery
        }

        /// Puts back a lease that `endLease` ended (an ack whose write failed).
        mutating func restoreLease(_ offset: Int64, _ delivery: Delivery) {
            leases[offset] = delivery
            lanes.started(delivery.lane)
        }
    }

    init(
        name: String, queue: QueueLog, log: QueueLog, options: GroupOptions, rootOptions: SpoolOptions,
        deadLetters: @escaping @Sendable () throws -> QueueLog
    ) throws {
        try options.validate()
        self.name = name
        self.queue = queue
        self.log = log
        self.options = options
        self.leaseMs = options.leaseMs
        self.clock = rootOptions.clock
        self.logger = rootOptions.logger
        self.deadLetters = deadLetters
        self.metrics = GroupMetrics(queue: queue.name, group: name, factory: rootOptions.metricsFactory)
        let seed =
            UInt64(bitPattern: rootOptions.clock.wallMilliseconds()) ^ UInt64(rootOptions.clock.monotonicNanoseconds())
            ^ UInt64(getpid())
        var random = SplitMix64(seed: seed)
        let (replayed, report) = try Self.replay(
            log, queueStart: queue.firstOffset, fileSystem: rootOptions.fileSystem, logger: rootOptions.logger)
        openReport = report
        let cursor = replayed.acked.watermark
        state = Mutex(
            State(
                acked: replayed.acked, cursor: cursor, retries: replayed.retries, nextLeaseID: random.next() | 1,
                random: random, reader: queue.reader(from: cursor), lanes: LaneScheduler(lanes: options.lanes)))
    }

    /// Rebuilds acks and pending retries: the newest valid checkpoint the compactor wrote,
    /// then the group log's records after it (FORMAT.md, "Group checkpoint").
    static func replay(
        _ log: QueueLog, queueStart: Int64, fileSystem: any FileSystem, logger: Logger
    ) throws -> (GroupCheckpoint, OpenReport) {
        let loaded = try GroupCheckpointStore(directory: log.directory, fileSystem: fileSystem).load()
        var report = OpenReport()
        report.ignoredCheckpoints = loaded.ignored
        for problem in loaded.ignored {
            logger.warning("group checkpoint ignored; replaying the group log", metadata: ["problem": "\(problem)"])
        }
        let start = loaded.newest ?? .empty(logOffset: 0, queueStart: queueStart)
        report.checkpointOffset = loaded.newest?.logOffset
        if start.logOffset < log.firstOffset {
            // Every checkpoint is missing or unreadable after the compactor deleted group-log
            // segments (or a segment was deleted by hand): acks below the log start are
            // unknown. Opening anyway would deliver acked tasks again without a word, so it
            // refuses until the operator restores the files or accepts the loss (`spool repair`
            // writes a checkpoint at the log start that records the decision).
            report.acksBelowLogStartLost = true
            let damaged =
                loaded.ignored.isEmpty
                ? "no checkpoint" : "damaged checkpoint: " + loaded.ignored.joined(separator: "; ")
            throw SpoolError(
                .corruption,
                "the group's acks below its log offset \(log.firstOffset) are lost (\(damaged)); tasks it acked would be delivered again",
                path: log.directory, offset: log.firstOffset,
                hint:
                    "restore the group's checkpoint or log segments from a copy; or run `spool repair` to accept that those tasks may be delivered again"
            )
        }
        var (state, records) = try GroupReplay.advance(start, log: log)
        state.tidy(queueStart: queueStart)
        report.recordsReplayed = records
        return (state, report)
    }

    /// What opening the group read to rebuild its state.
    public struct OpenReport: Sendable, Equatable {
        /// The group-log offset of the checkpoint it started from; nil when it replayed the
        /// whole group log.
        public var checkpointOffset: Int64? = nil
        /// Group records replayed after the checkpoint.
        public var recordsReplayed: Int64 = 0
        /// Checkpoint files that were truncated or corrupt, and why: ignored, the log replayed instead.
        public var ignoredCheckpoints: [String] = []
        /// Set only on the way to refusing the open (`.corruption`): no checkpoint was usable and
        /// the group log no longer starts at 0, so acks below its start are unknown. Always
        /// false in a group that opened.
        public var acksBelowLogStartLost = false
    }

    // MARK: Inspection

    /// A consistent view of the group's progress.
    public struct Progress: Sendable, Equatable {
        /// Every offset below this is acknowledged.
        public var watermark: Int64
        /// Acked offsets above the watermark (out-of-order acks).
        public var ackedAboveWatermark: Int64
        /// Tasks leased to a consumer now.
        public var inFlight: Int
        /// Tasks with at least one failed attempt, not acknowledged: ``Stats/retrying``.
        public var waitingForRetry: Int
        /// Tasks in the queue not yet acknowledged by this group.
        public var lag: Int64
    }

    /// The group's progress from its memory alone (``stats()`` adds the oldest pending age,
    /// delayed tasks and lanes). Thread-safe.
    public var progress: Progress {
        let end = queue.committed.nextOffset
        return state.withLock { s in
            Progress(
                watermark: s.acked.watermark, ackedAboveWatermark: s.acked.ackedAboveWatermark,
                inFlight: s.leases.count,
                waitingForRetry: Self.retrying(s),
                lag: StatsFigures.lag(
                    queueEnd: end, watermark: s.acked.watermark, ackedAboveWatermark: s.acked.ackedAboveWatermark))
        }
    }
}

extension ConsumerGroup {
    /// Whether the group has acknowledged `offset` (durably, or with the ack on its way to
    /// disk). The drill uses it to tell a task compaction removed (every group acked it) from a
    /// lost one. Thread-safe.
    public func isAcknowledged(_ offset: Int64) -> Bool {
        state.withLock { $0.acked.contains(offset) }
    }

    /// Compressed batches the group's reader has decompressed: each once, however many claims
    /// take tasks from it (tests check this).
    var readerBatchesDecompressed: Int { state.withLock { $0.reader.batchesDecompressed } }
}
