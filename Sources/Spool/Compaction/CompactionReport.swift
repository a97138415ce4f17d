/// What one compaction run did, per queue (``SpoolRoot/compact(queues:progress:)``).
public struct CompactionReport: Sendable, Equatable {
    /// Wall time of the run, in seconds.
    public var seconds: Double = 0
    /// Passes made: a run repeats its pass while the last one still changed something (at most
    /// 4), since a roll or a checkpoint lets the next one delete more.
    public var passes: Int = 0
    public var queues: [QueueCompaction] = []
    /// True when ``SpoolRoot/close()`` or a stop request ended the run early; what was done stays done.
    public var stopped = false

    /// Problems that stopped the compaction of a queue (the other queues went on).
    public var problems: [String] { queues.compactMap { q in q.error.map { "\(q.queue): \($0)" } } }
}

/// What compaction did to one queue (summed over a run's passes).
public struct QueueCompaction: Sendable, Equatable {
    public var queue: String
    /// The log start after the run: records below it are gone.
    public var logStartOffset: Int64 = 0
    /// The log's next offset when the run ended.
    public var nextOffset: Int64 = 0
    /// Sealed segments deleted, and their bytes, for each reason.
    public var segmentsDeleted: Int = 0
    public var bytesDeleted: Int64 = 0
    /// Of those, deleted because every consumer group had acked them.
    public var segmentsDeletedAcked: Int = 0
    /// Of those, deleted by retention (age or bytes) with tasks some group had not acked.
    public var segmentsDeletedRetention: Int = 0
    /// Sparse segments rewritten with their live records only.
    public var segmentsRewritten: Int = 0
    /// Bytes read from segments (rewrites and key scans) and written to rewritten ones.
    public var bytesRead: Int64 = 0
    public var bytesWritten: Int64 = 0
    /// Records dropped by rewrites (acked by every group, or superseded by key).
    public var recordsRemoved: Int64 = 0
    /// Group checkpoints written, and group-log segments deleted below them.
    public var checkpointsWritten: Int = 0
    public var groupSegmentsDeleted: Int = 0
    /// Times the active segment was sealed because every group had acked all of it.
    public var rolls: Int = 0
    /// Bytes of the queue's segments when the run ended (the active one up to its data).
    public var segmentBytes: Int64 = 0
    /// Why the queue's compaction stopped early, if it did.
    public var error: String? = nil

    public init(queue: String) { self.queue = queue }

    /// Whether this pass changed anything on disk.
    var changedSomething: Bool {
        segmentsDeleted > 0 || segmentsRewritten > 0 || checkpointsWritten > 0 || groupSegmentsDeleted > 0 || rolls > 0
    }

    mutating func add(_ pass: QueueCompaction) {
        logStartOffset = pass.logStartOffset
        nextOffset = pass.nextOffset
        segmentBytes = pass.segmentBytes
        segmentsDeleted += pass.segmentsDeleted
        bytesDeleted += pass.bytesDeleted
        segmentsDeletedAcked += pass.segmentsDeletedAcked
        segmentsDeletedRetention += pass.segmentsDeletedRetention
        segmentsRewritten += pass.segmentsRewritten
        bytesRead += pass.bytesRead
        bytesWritten += pass.bytesWritten
        recordsRemoved += pass.recordsRemoved
        checkpointsWritten += pass.checkpointsWritten
        groupSegmentsDeleted += pass.groupSegmentsDeleted
        rolls += pass.rolls
        error = pass.error ?? error
    }
}

/// Where a compaction run is, for a progress bar: called after each batch it reads.
public struct CompactionProgress: Sendable, Equatable {
    public var queue: String
    /// The segment being read (its base offset).
    public var segment: Int64
    /// Bytes read so far in this queue's pass, and the bytes it plans to read.
    public var bytesDone: Int64
    public var bytesTotal: Int64
}
