import SpoolFormat

/// A consumer group's progress as its log on disk says, read without opening the root (no
/// lock, no writes): the same replay as ``ConsumerGroup`` does at open (FORMAT.md, "Group
/// log"), built on the engine's own group-record decoder and offset ranges.
public struct GroupState: Sendable, Equatable {
    /// Every offset below this is acknowledged.
    public var watermark: Int64
    /// Acknowledged offsets at or above the watermark (out-of-order acks).
    public var ackedAboveWatermark: Int64
    /// One past the highest acknowledged offset (the watermark when nothing above it is acked).
    public var ackedEnd: Int64
    /// Tasks not acknowledged with a recorded failed attempt: ``ConsumerGroup/Stats/retrying``
    /// as the group log says (a task being redelivered now counts, as in memory).
    public var waitingForRetry: Int
    /// Records replayed from the group's log (after the checkpoint, when there is one).
    public var records: Int64
    /// The group-log offset of the checkpoint the state started from; nil when none was usable.
    public var checkpointOffset: Int64? = nil
    /// Checkpoint files present but damaged, and why (the older one or the log was used).
    public var ignoredCheckpoints: [String] = []
    /// Set when the group log starts at this offset and no usable checkpoint covers what was
    /// below it: the acks recorded there are lost, and tasks they covered would come again.
    public var lostAcksBelow: Int64? = nil

    /// Tasks below `queueEnd` this group has not acknowledged.
    public func lag(queueEnd: Int64) -> Int64 {
        StatsFigures.lag(queueEnd: queueEnd, watermark: watermark, ackedAboveWatermark: ackedAboveWatermark)
    }
}

/// Replays a group's log read-only. Stops at the first damaged batch, as recovery would cut
/// there (a torn tail of the group log loses only unacknowledged progress).
///
/// Thread-safety: a value type; each call works alone.
public struct GroupStateReader: Sendable {
    public var limits: FormatLimits
    public var fileSystem: any FileSystem

    public init(limits: FormatLimits = .default, fileSystem: any FileSystem = PosixFileSystem()) {
        self.limits = limits
        self.fileSystem = fileSystem
    }

    /// Starts from the newest valid checkpoint the compactor wrote (FORMAT.md, "Group
    /// checkpoint"), as opening the group does, then replays the group log after it.
    /// - Parameters:
    ///   - log: the group's log, as ``SpoolLayout`` lists it.
    ///   - queueStart: the queue's first offset (offsets below it count as acknowledged, as
    ///     when the engine opens the group).
    ///   - throwOnLostAcks: throw when acks are lost (see below) rather than report them in
    ///     ``GroupState/lostAcksBelow``.
    /// - Throws: `.corruption` naming the file and offset when a record is not a group record,
    ///   when group-log offsets are missing between two segments, or when acks are lost (no
    ///   usable checkpoint covers the group log's start: see ``GroupState/lostAcksBelow``
    ///   for the figure without throwing, with `throwOnLostAcks` false); I/O errors.
    public func read(_ log: SpoolLayout.Log, queueStart: Int64 = 0, throwOnLostAcks: Bool = false) throws -> GroupState
    {
        let loaded = try log.directory.map { try GroupCheckpointStore(directory: $0, fileSystem: fileSystem).load() }
        let checkpoint = loaded?.newest
        var acked = checkpoint?.acked ?? OffsetRanges(watermark: queueStart)
        acked.insert(0..<max(queueStart, 0))
        var retries: [Int64: Int] = checkpoint?.retries.mapValues(\.attempts) ?? [:]
        var records: Int64 = 0
        var failure: SpoolError? = nil
        let named = log.segments.filter { $0.baseOffset != nil }
        let from = checkpoint?.logOffset ?? 0
        let logStart = named.first?.baseOffset ?? from
        var lost: Int64? = nil
        if logStart > from {
            lost = logStart
            let error = SpoolError(
                .corruption,
                "the group's acks below its log offset \(logStart) are lost: the group log starts there, and no usable checkpoint covers what was before it"
                    + (loaded?.ignored.isEmpty == false
                        ? " (damaged: \(loaded!.ignored.joined(separator: "; ")))" : " (checkpoint missing)"),
                path: log.directory ?? log.name, offset: logStart,
                hint:
                    "restore the group's checkpoint or log segments from a copy; or run `spool repair` to accept that tasks this group acked may be delivered again"
            )
            if throwOnLostAcks { throw error }
        }
        var expected: Int64? = nil
        segments: for (i, segment) in named.enumerated() {
            // all below the checkpoint
            if i + 1 < named.count, let next = named[i + 1].baseOffset, next <= from { continue }
            if let expected, let base = segment.baseOffset, base != expected {
                throw SpoolError(
                    .corruption,
                    base > expected
                        ? "group log offsets \(expected)–\(base - 1) are missing (a group-log segment was deleted): acks in them are lost"
                        : "group-log segment starts at offset \(base) but the one before ends at \(expected)",
                    path: segment.path, segment: base, position: 0, offset: expected,
                    hint:
                        "restore the missing group-log segment from a copy; or run `spool repair` to accept that tasks this group acked may be delivered again"
                )
            }
            let file = try SegmentFile(path: segment.path, fileSystem: fileSystem)
            var damaged = false
            var next = segment.baseOffset!
            let end = try file.forEachBatch(limits: limits) { entry in
                guard entry.crcOK, case .success(let batch) = entry.batch else {
                    damaged = true
                    return false
                }
                next = entry.header.nextOffset
                for record in batch.records where record.offset >= from {
                    guard let value = record.value, let decoded = GroupRecord(decoding: value) else {
                        failure = SpoolError(
                            .corruption, "a record of the group log is not a group record", path: segment.path,
                            segment: segment.baseOffset, position: entry.position, offset: record.offset,
                            hint: "the group log was written by something else; move it away to reset the group")
                        return false
                    }
                    records += 1
                    switch decoded {
                    case .ack(let ranges): for range in ranges { acked.insert(range) }
                    case .attempt(let offset, let attempts, _): retries[offset] = attempts
                    }
                }
                return true
            }
            if let failure { throw failure }
            if damaged || end.problem != nil { break segments }
            expected = next
        }
        let ackedEnd = acked.rangesEnd
        return GroupState(
            watermark: acked.watermark, ackedAboveWatermark: acked.ackedAboveWatermark, ackedEnd: ackedEnd,
            waitingForRetry: StatsFigures.retrying(
                attempts: retries.lazy.map { (offset: $0.key, failed: $0.value) },
                isAcknowledged: acked.contains),
            records: records,
            checkpointOffset: checkpoint?.logOffset, ignoredCheckpoints: loaded?.ignored ?? [], lostAcksBelow: lost)
    }
}

extension OffsetRanges {
    /// One past the highest acknowledged offset.
    var rangesEnd: Int64 { max(watermark, ranges.last?.upperBound ?? watermark) }
}
