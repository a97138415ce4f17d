import SpoolFormat

/// A consumer group's progress as its log on disk says, read without opening the root (no
/// lock, no writes): the same replay as ``ConsumerGroup`` does at open (FORMAT.md, "Group
/// log"), built on the engine's ``GroupRecord`` and ``OffsetRanges``.
public struct GroupState: Sendable, Equatable {
    /// Every offset below this is acknowledged.
    public var watermark: Int64
    /// Acknowledged offsets at or above the watermark (out-of-order acks).
    public var ackedAboveWatermark: Int64
    /// One past the highest acknowledged offset (the watermark when nothing above it is acked).
    public var ackedEnd: Int64
    /// Tasks with a recorded failed attempt that are not acknowledged (waiting for a retry).
    public var waitingForRetry: Int
    /// Records replayed from the group's log.
    public var records: Int64

    /// Tasks below `queueEnd` this group has not acknowledged.
    public func lag(queueEnd: Int64) -> Int64 { max(0, queueEnd - watermark - ackedAboveWatermark) }
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

    /// - Parameter queueStart: the queue's first offset (offsets below it count as acknowledged,
    ///   as when the engine opens the group).
    /// - Throws: `.corruption` naming the file and offset when a record is not a group record;
    ///   I/O errors.
    public func read(_ log: SpoolLayout.Log, queueStart: Int64 = 0) throws -> GroupState {
        var acked = OffsetRanges(watermark: queueStart)
        var retries: [Int64: Int] = [:]
        var records: Int64 = 0
        var failure: SpoolError? = nil
        segments: for segment in log.segments where segment.baseOffset != nil {
            let file = try SegmentFile(path: segment.path, fileSystem: fileSystem)
            var damaged = false
            let end = try file.forEachBatch(limits: limits) { entry in
                guard entry.crcOK, case .success(let batch) = entry.batch else { damaged = true; return false }
                for record in batch.records {
                    guard let value = record.value, let decoded = GroupRecord(decoding: value) else {
                        failure = SpoolError(.corruption, "a record of the group log is not a group record", path: segment.path,
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
        }
        let ackedEnd = acked.rangesEnd
        return GroupState(watermark: acked.watermark, ackedAboveWatermark: acked.ackedAboveWatermark, ackedEnd: ackedEnd,
                          waitingForRetry: retries.keys.filter { !acked.contains($0) }.count, records: records)
    }
}

extension OffsetRanges {
    /// One past the highest acknowledged offset.
    var rangesEnd: Int64 { max(watermark, ranges.last?.upperBound ?? watermark) }
}
