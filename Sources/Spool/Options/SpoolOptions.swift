import CoreMetrics
import Logging
import SpoolFormat

/// Everything that configures a root: durability, segment and index geometry, limits,
/// backpressure, and the seams (file system, clock, logger) through which tests inject faults.
///
/// Every value is bounded; ``validate()`` says which one is out of range and why.
public struct SpoolOptions: Sendable {
    /// When enqueue returns (see ``Durability``). Default `.always`.
    public var durability: Durability = .always
    /// A segment rolls when appending would take it past this many bytes. Default 128 MiB;
    /// 64 KiB to 1 GiB (positions in the index are u32).
    public var segmentBytes: Int = 128 << 20
    /// A segment also rolls once its first batch is older than this. Default 7 days (Kafka's).
    public var segmentMaxAgeMilliseconds: Int64 = 7 * 24 * 3600 * 1000
    /// The greatest offset a segment may hold past its base (FORMAT.md, "Rolling a segment":
    /// relative offsets fit a `u32`). Not public: only tests lower it, to reach the roll.
    var segmentRelativeOffsetMax = Int64(UInt32.max)
    /// Space ahead of the tail is zero-filled in steps of this size, so that syncs overwrite
    /// written blocks instead of growing the file. Default 1 MiB; 4 KiB to 64 MiB.
    public var preallocationStepBytes: Int = 1 << 20
    /// Segments the compactor deletes that a log keeps, each as `<base>.log.spare`, to reuse
    /// as its next segment instead of a new file (FORMAT.md, "Recycled segments"): their blocks
    /// are already written, so nothing is zero-filled ahead of the tail. Each costs its disk
    /// space until reused. 0 turns recycling off; under `.never` durability it is always off
    /// (appends there only grow the file). Default 1; 0 to 16.
    public var recycledSegmentsMax: Int = 1
    /// A batch gets index entries when more than this many log bytes lie between it and the
    /// last indexed batch (Kafka's `index.interval.bytes`). Default 4096.
    public var indexIntervalBytes: Int = SpoolOptions.defaultIndexIntervalBytes
    /// Kafka's default `index.interval.bytes`.
    public static let defaultIndexIntervalBytes = 4096
    /// The recovery point moves forward (without an extra fsync) after this many synced bytes.
    /// Bounds the bytes a restart scans. Default 1 MiB.
    public var recoveryCheckpointBytes: Int = 1 << 20
    /// Bytes accepted but not yet written, across producers. Past it, ``backpressure`` applies.
    /// Default 64 MiB.
    public var pendingBytesMax: Int = 64 << 20
    /// What enqueue does when ``pendingBytesMax`` is reached. Default `.wait`.
    public var backpressure: Backpressure = .wait
    /// Bytes one group commit gathers before it writes (one `write`, one `fdatasync`); a single
    /// larger request is written alone. Default 4 MiB.
    public var groupBytesMax: Int = 4 << 20
    /// How long a thread in ``QueueLog/appendBlocking(batch:)`` spins (yielding the CPU) before
    /// it parks, and how long the writer spins for more work before it sleeps. Covers one
    /// `fdatasync`, so that neither side pays a thread wake-up per commit. 0 disables. Default 200 µs.
    public var waitSpinMicroseconds: Int = 200
    /// How queues compress their batches, unless ``SpoolRoot/queue(_:compression:)`` says
    /// otherwise for one. Default `.none`. Group logs are never compressed.
    public var compression: Compression = .none
    /// Batch linger, for compression under single-task enqueue: the writer holds small appends
    /// (under ``lingerAppendBytesMax``) for up to this long, measured from the oldest one's
    /// arrival, to compress the tasks of concurrent producers together as one batch. No append
    /// waits longer than this for the linger. 0 (the default) turns it off; it only ever adds
    /// latency without compression, so it applies to compressed queues alone. 0...10000 µs.
    public var lingerMicroseconds: Int = 0
    /// Appends at most this many bytes (payloads, keys and headers) linger; larger ones are
    /// encoded by their producer as usual. Default 16 KiB.
    public var lingerAppendBytesMax: Int = 16 << 10
    /// Record, batch and decompression limits. A batch is also never larger than a segment.
    public var limits: FormatLimits = .default
    /// What open does with damaged data at or below the recovery point. Default `.fail`.
    public var corruptionPolicy: CorruptionPolicy = .fail
    /// Create the root directory (not its parent) when it is missing. Default true.
    public var createIfMissing: Bool = true
    public var fileSystem: any FileSystem = PosixFileSystem()
    public var clock: any SpoolClock = SystemClock()
    public var logger: Logger = Logger(label: "spool")
    /// Where metrics go (swift-metrics): enqueued, acked, nacked, dead-lettered, redelivered,
    /// group lag, records per commit, fsync, enqueue and end-to-end latency. nil (the default)
    /// records nothing; the library never uses the global `MetricsSystem`.
    public var metricsFactory: (any MetricsFactory)? = nil

    // MARK: Retention and compaction (FORMAT.md, "Log start" and "Compaction")

    /// Sealed segments whose newest record is older than this (by record timestamp and
    /// ``clock``) are deleted, whether or not every group acked them: those tasks are gone, and
    /// groups skip past them (a group that never acks therefore loses its oldest tasks to
    /// retention, and never holds more disk than retention allows). Without retention, a group
    /// that never acks keeps every segment from its watermark on. A clock behind the records expires nothing. nil (the
    /// default):
    /// no age limit. 0 deletes every sealed segment at each compaction.
    public var retentionMilliseconds: Int64? = nil
    /// While a queue's segments hold more than this many bytes, its oldest sealed segments are
    /// deleted, acked or not. The active segment is never deleted, so a queue can hold up to
    /// one segment more. nil (the default): no size limit.
    public var retentionBytes: Int64? = nil
    /// How often the root's background compactor runs; nil: never (call
    /// ``SpoolRoot/compact(queues:progress:)`` or run `spool compact`). Default 60 s; at least 10 ms.
    public var compactionIntervalMilliseconds: Int64? = 60_000
    /// The compactor reads at most this many bytes per second, so producers keep the disk and
    /// the CPU (on a 2-core machine, 100 MiB/s kept a W2 producer at about 0.8-0.9x of its rate
    /// alone; unthrottled, compaction read 240 MB/s and the producer fell to 0.3x).
    /// 0: unthrottled. Default 100 MiB/s.
    public var compactionBytesPerSecond: Int = 100 << 20
    /// A sealed segment is rewritten when at least this fraction of its records can go (acked
    /// by every group, or superseded under key compaction). 0.05...1; default 0.5.
    public var compactionSparseRatio: Double = 0.5
    /// Key compaction: of the records with the same key, only the latest is kept (acked or
    /// not), and a tombstone (a keyed record with a null value) goes after
    /// ``tombstoneRetentionMilliseconds``. Default false.
    public var keyCompaction: Bool = false
    /// How long key compaction keeps a tombstone, from its timestamp. Default 24 h.
    public var tombstoneRetentionMilliseconds: Int64 = 24 * 3600 * 1000
    /// Distinct keys a key-compaction pass tracks per queue; past it, the pass skips key
    /// compaction (and logs it) rather than grow memory. Default 1,048,576.
    public var keyCompactionKeysMax: Int = 1 << 20
    /// Bytes the compactor keeps in `<root>/compaction-reserve` and frees when a rewrite finds
    /// the disk full, so compaction can still run on a nearly full disk (deleting acked and
    /// expired segments needs no space). Set it to at least ``segmentBytes`` to be sure any
    /// rewrite fits. 0 (the default): no reserve.
    public var compactionReserveBytes: Int = 0

    public init() {}

    /// What enqueue does when the writer's pending bytes are at their bound.
    public enum Backpressure: Sendable, Equatable {
        /// Suspend until the writer catches up.
        case wait
        /// Throw ``SpoolError/Code/queueFull`` at once.
        case fail
    }

    /// What open does when the recovery scan finds damage it may not truncate.
    public enum CorruptionPolicy: Sendable, Equatable {
        /// Refuse to open, naming the file, position and offset.
        case fail
        /// Cut the log at the first damaged batch, keep the cut bytes as `.broken`, and go on.
        /// For repair tools; acknowledged tasks past the cut are lost from the log.
        case salvage
    }

    /// Checks every bound. Throws `.invalidArgument` naming the option.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw SpoolError(.invalidArgument, "option out of range: \(what)") }
        }
        try check((64 << 10...1 << 30).contains(segmentBytes), "segmentBytes must be 64 KiB...1 GiB")
        try check((4096...64 << 20).contains(preallocationStepBytes), "preallocationStepBytes must be 4 KiB...64 MiB")
        try check((0...16).contains(recycledSegmentsMax), "recycledSegmentsMax must be 0...16")
        try check((64...1 << 20).contains(indexIntervalBytes), "indexIntervalBytes must be 64 B...1 MiB")
        try check(recoveryCheckpointBytes >= 4096, "recoveryCheckpointBytes must be at least 4 KiB")
        try check(
            pendingBytesMax >= limits.batchBytesMax,
            "pendingBytesMax must hold at least one batch (limits.batchBytesMax)")
        try check((0...10_000).contains(waitSpinMicroseconds), "waitSpinMicroseconds must be 0...10000")
        try check((0...10_000).contains(lingerMicroseconds), "lingerMicroseconds must be 0...10000")
        try check((0...1 << 20).contains(lingerAppendBytesMax), "lingerAppendBytesMax must be 0...1 MiB")
        try compression.validate()
        try check(groupBytesMax >= 4096, "groupBytesMax must be at least 4 KiB")
        try check(segmentMaxAgeMilliseconds > 0, "segmentMaxAgeMilliseconds must be positive")
        try check(retentionMilliseconds.map { $0 >= 0 } ?? true, "retentionMilliseconds must be 0 or more")
        try check(retentionBytes.map { $0 >= 0 } ?? true, "retentionBytes must be 0 or more")
        try check(
            compactionIntervalMilliseconds.map { $0 >= 10 } ?? true,
            "compactionIntervalMilliseconds must be at least 10")
        try check(compactionBytesPerSecond >= 0, "compactionBytesPerSecond must be 0 (unthrottled) or more")
        try check(compactionSparseRatio >= 0.05 && compactionSparseRatio <= 1, "compactionSparseRatio must be 0.05...1")
        try check(tombstoneRetentionMilliseconds >= 0, "tombstoneRetentionMilliseconds must be 0 or more")
        try check(compactionReserveBytes >= 0, "compactionReserveBytes must be 0 or more")
        try check(keyCompactionKeysMax >= 1, "keyCompactionKeysMax must be at least 1")
        if case .interval(let ms) = durability {
            try check(ms > 0 && ms <= 60_000, "durability interval must be 1...60000 ms")
        }
    }
}
