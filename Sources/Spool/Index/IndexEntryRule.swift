import SpoolFormat

/// One entry of a segment's `.index`: the last offset of a batch (relative to the segment's
/// base) and the position where that batch starts. FORMAT.md, "Offset index (.index)".
///
/// The entry's layout, 8 bytes big-endian (relative offset, then position), is decoded and
/// encoded here only.
struct OffsetIndexEntry: Sendable, Equatable {
    var relativeOffset: UInt32
    var position: UInt32

    static let size = 8

    init(relativeOffset: UInt32, position: UInt32) {
        self.relativeOffset = relativeOffset
        self.position = position
    }

    /// The entry in `raw` at byte `at` (the caller checks that `size` bytes are there).
    init(decoding raw: UnsafeRawBufferPointer, at i: Int) {
        self.init(
            relativeOffset: raw.loadBigEndian(at: i, as: UInt32.self),
            position: raw.loadBigEndian(at: i + 4, as: UInt32.self))
    }

    func encode(into entry: UnsafeMutableRawBufferPointer) {
        entry.storeBigEndian(relativeOffset, at: 0)
        entry.storeBigEndian(position, at: 4)
    }

    /// A zero entry marks the end of the used part of a preallocated file.
    var isZero: Bool { relativeOffset == 0 && position == 0 }

    /// Appends the entry's bytes to `bytes` (a file being written whole).
    func append(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: Self.size))
        bytes.withUnsafeMutableBytes { encode(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
    }
}

/// One entry of a segment's `.timeindex`: the greatest record timestamp so far in the segment
/// and the last offset (relative) of the batch that holds it. FORMAT.md, "Time index (.timeindex)".
///
/// The entry's layout, 12 bytes big-endian (timestamp, then relative offset), is decoded and
/// encoded here only.
struct TimeIndexEntry: Sendable, Equatable {
    var timestamp: Int64
    var relativeOffset: UInt32

    static let size = 12

    init(timestamp: Int64, relativeOffset: UInt32) {
        self.timestamp = timestamp
        self.relativeOffset = relativeOffset
    }

    /// The entry in `raw` at byte `at` (the caller checks that `size` bytes are there).
    init(decoding raw: UnsafeRawBufferPointer, at i: Int) {
        self.init(
            timestamp: raw.loadBigEndian(at: i, as: Int64.self),
            relativeOffset: raw.loadBigEndian(at: i + 8, as: UInt32.self))
    }

    func encode(into entry: UnsafeMutableRawBufferPointer) {
        entry.storeBigEndian(timestamp, at: 0)
        entry.storeBigEndian(relativeOffset, at: 8)
    }

    /// A zero entry marks the end of the used part of a preallocated file.
    var isZero: Bool { timestamp == 0 && relativeOffset == 0 }

    /// Appends the entry's bytes to `bytes` (a file being written whole).
    func append(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: Self.size))
        bytes.withUnsafeMutableBytes { encode(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
    }
}

/// Where sparse index entries go, Kafka's rule (FORMAT.md, "Offset index (.index)" and "Time index";
/// Kafka's `LogSegment.append`, `LogSegment.recover` and `TimeIndex.maybeAppend`). The writer,
/// recovery, index rebuilds and `spool verify` all feed batches through this one type, so the
/// rule lives in one place.
///
/// For each batch, in log order:
/// 1. when the batch's greatest timestamp is above the greatest so far, it becomes the greatest,
///    paired with the batch's last offset;
/// 2. when more than `intervalBytes` lie between the last indexed batch's start (or the segment
///    start) and this batch's start, the offset index gets (this batch's last offset, its
///    position), and the time index gets (greatest timestamp so far, its offset) unless that
///    timestamp is not above the time index's last one.
///
/// When a segment is sealed or closed, ``closingTimeEntry()`` gives the time index its final
/// entry (the segment's greatest timestamp), as Kafka does on roll and close.
///
/// A value type; not shared between threads.
struct IndexEntryRule: Sendable {
    /// Kafka's `RecordBatch.NO_TIMESTAMP`: a time index starts below every real timestamp.
    static let noTimestamp: Int64 = -1

    let baseOffset: Int64
    let intervalBytes: Int64
    /// Start of the last indexed batch, 0 when none: the bytes since it decide the next entry.
    private(set) var lastEntryPosition: Int64 = 0
    /// The greatest record timestamp seen so far and the last offset of its batch.
    private(set) var maxTimestamp: Int64 = IndexEntryRule.noTimestamp
    private(set) var offsetOfMaxTimestamp: Int64
    /// The time index's last entry's timestamp: a new one must be above it.
    private(set) var lastTimeEntryTimestamp: Int64 = IndexEntryRule.noTimestamp

    /// A rule for a segment with no entries yet.
    init(baseOffset: Int64, intervalBytes: Int) {
        precondition(intervalBytes > 0, "indexIntervalBytes is validated by SpoolOptions")
        self.baseOffset = baseOffset
        self.intervalBytes = Int64(intervalBytes)
        offsetOfMaxTimestamp = baseOffset
    }

    /// A rule that goes on after existing entries: the last offset entry's position and the
    /// time index's last entry (Kafka resumes from `timeIndex.lastEntry()` the same way).
    /// Feed it the batches from `lastOffsetEntry.position` on.
    init(baseOffset: Int64, intervalBytes: Int, lastOffsetEntry: OffsetIndexEntry?, lastTimeEntry: TimeIndexEntry?) {
        self.init(baseOffset: baseOffset, intervalBytes: intervalBytes)
        lastEntryPosition = Int64(lastOffsetEntry?.position ?? 0)
        if let lastTimeEntry {
            maxTimestamp = lastTimeEntry.timestamp
            offsetOfMaxTimestamp = baseOffset + Int64(lastTimeEntry.relativeOffset)
            lastTimeEntryTimestamp = lastTimeEntry.timestamp
        }
    }

    /// Feeds the batch that starts at `position` and returns the entries due for it.
    /// The caller feeds batches in log order, positions strictly increasing.
    mutating func add(
        lastOffset: Int64, maxTimestamp batchMaxTimestamp: Int64, at position: Int64
    )
        -> (offset: OffsetIndexEntry?, time: TimeIndexEntry?)
    {
        precondition(position >= lastEntryPosition, "batches are fed in log order")
        if batchMaxTimestamp > maxTimestamp {
            maxTimestamp = batchMaxTimestamp
            offsetOfMaxTimestamp = lastOffset
        }
        guard position - lastEntryPosition > intervalBytes else { return (nil, nil) }
        // A batch outside the segment's u32 offset range, or a position past 4 GiB, is damage that
        // the log's own checks report; it gets no entry here.
        guard let relativeOffset = relative(lastOffset), let entryPosition = UInt32(exactly: position) else {
            return (nil, nil)
        }
        lastEntryPosition = position
        return (OffsetIndexEntry(relativeOffset: relativeOffset, position: entryPosition), nextTimeEntry())
    }

    /// Feeds a batch by its header.
    mutating func add(
        _ header: RecordBatchHeader, at position: Int64
    ) -> (offset: OffsetIndexEntry?, time: TimeIndexEntry?) {
        add(lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp, at: position)
    }

    /// The time index's final entry when its segment is sealed or closed: the segment's greatest
    /// timestamp, unless the last entry already holds it.
    mutating func closingTimeEntry() -> TimeIndexEntry? { nextTimeEntry() }

    private mutating func nextTimeEntry() -> TimeIndexEntry? {
        guard maxTimestamp > lastTimeEntryTimestamp, let relativeOffset = relative(offsetOfMaxTimestamp) else {
            return nil
        }
        lastTimeEntryTimestamp = maxTimestamp
        return TimeIndexEntry(timestamp: maxTimestamp, relativeOffset: relativeOffset)
    }

    /// `offset` relative to the segment's base, when it fits an entry's u32 (the writer rolls
    /// before it would not; a foreign or damaged segment may hold one that does not).
    private func relative(_ offset: Int64) -> UInt32? {
        guard offset >= baseOffset else { return nil }
        return UInt32(exactly: offset - baseOffset)
    }
}
