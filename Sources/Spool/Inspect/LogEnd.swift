import SpoolFormat

/// Where a log ends, found cheaply for `spool stats` and `spool tail`: a policy over
/// ``SegmentFile``'s walk from the last segment's last offset index entry to the end of the
/// data, where the last batch whose CRC holds is the end (a torn batch can have a sound
/// header). Takes no lock.
public struct LogEnd: Sendable, Equatable {
    /// The first segment's base offset (the first offset still in the log).
    public var firstOffset: Int64
    /// The offset the next record will get.
    public var nextOffset: Int64
    /// The last segment and the position just after its last valid batch.
    public var lastSegment: String?
    public var endPosition: Int64
    /// The last valid batch's header and position, when the log holds one in its last segment.
    public var lastBatch: RecordBatchHeader?
    public var lastBatchPosition: Int64?
    /// Header of the first batch of the first segment (the oldest record's time).
    public var firstBatch: RecordBatchHeader?

    /// Headers read at most past the starting point, so a log without an index stays bounded.
    static let headersMax = 10_000_000

    /// Finds the end of `log`.
    /// - Throws: I/O errors.
    public static func find(_ log: SpoolLayout.Log, fileSystem fs: any FileSystem = PosixFileSystem()) throws -> LogEnd
    {
        let segments = log.segments.filter { $0.baseOffset != nil }
        guard let last = segments.last, let base = last.baseOffset else {
            return LogEnd(firstOffset: 0, nextOffset: 0, lastSegment: nil, endPosition: 0)
        }
        let first = segments[0]
        var result = LogEnd(
            firstOffset: first.baseOffset ?? 0, nextOffset: base, lastSegment: last.path, endPosition: 0)
        let file = try SegmentFile(path: last.path, fileSystem: fs)
        let indexes = try IndexEntries.read(segment: last.path, fileSystem: fs)
        var start = try file.seekPosition(forOffset: .max, indexes: indexes)
        if start.offset == nil { start = (0, base) }
        let walked = try soundTail(of: file, from: start.position, expectedOffset: start.offset ?? base)
        if let (at, header, _) = walked.last {
            result.lastBatch = header
            result.lastBatchPosition = at
            result.endPosition = at + Int64(header.totalBytes)
            result.nextOffset = header.nextOffset
        } else {
            result.endPosition = start.position
            result.nextOffset = start.offset ?? base
        }
        if first.path == last.path && result.lastBatchPosition == 0 {
            result.firstBatch = result.lastBatch
        } else if let firstFile = try? SegmentFile(path: first.path, fileSystem: fs) {
            result.firstBatch = try firstFile.header(at: 0)
        }
        return result
    }

    /// The last batches (at most 64) that continue the offsets from `start`, with trailing
    /// ones whose CRC fails dropped: the walk stops at the first break in the offsets.
    /// - Throws: I/O errors.
    private static func soundTail(
        of file: SegmentFile, from start: Int64, expectedOffset: Int64
    ) throws -> [(Int64, RecordBatchHeader, Bool)] {
        var walked: [(Int64, RecordBatchHeader, Bool)] = []
        var count = 0
        try file.forEachBatch(from: start, expectedOffset: expectedOffset, decode: false) { entry in
            guard entry.expectedOffset == entry.header.baseOffset, count < headersMax else { return false }
            count += 1
            walked.append((entry.position, entry.header, entry.crcOK))
            if walked.count > 64 { walked.removeFirst(32) }
            return true
        }
        while let last = walked.last, !last.2 { walked.removeLast() }
        return walked
    }
}
