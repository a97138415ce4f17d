import SpoolFormat

/// Checks a segment's index entries against its batches with Kafka's meaning (FORMAT.md,
/// "Offset index", "Time index"; the checks of Kafka's `DumpLogSegments`): an offset entry
/// points at the start of a batch that ends at its offset; a time entry names the last offset
/// of a batch whose greatest timestamp is the entry's, and no record at or before that offset
/// has a greater one; both files' entries strictly increase. Independent of the index interval
/// the writer used, so it accepts any sparse index Kafka would.
///
/// Feed it every batch of the segment in order with ``add(_:at:)``, then read the problems.
/// A value type; not shared between threads.
struct IndexEntryCheck {
    let base: Int64
    let indexes: IndexEntries
    private var offsetEntryAt: [Int64: Int] = [:]
    private var timeEntryAt: [Int64: Int] = [:]
    /// Offset entry i -> last offset of the batch that starts at its position.
    private var batchEnd: [Int: Int64] = [:]
    /// Time entry i -> (greatest timestamp of the batch ending at its offset, greatest so far).
    private var timesFound: [Int: (batch: Int64, soFar: Int64)] = [:]
    private var maxSoFar = IndexEntryRule.noTimestamp
    private var lastBatchStart: Int64 = -1

    init(base: Int64, indexes: IndexEntries) {
        self.base = base
        self.indexes = indexes
        for (i, e) in indexes.offsets.enumerated() where offsetEntryAt[Int64(e.position)] == nil {
            offsetEntryAt[Int64(e.position)] = i
        }
        for (i, e) in indexes.times.enumerated() where timeEntryAt[base + Int64(e.relativeOffset)] == nil {
            timeEntryAt[base + Int64(e.relativeOffset)] = i
        }
    }

    /// The greatest record timestamp of the batches fed so far.
    var greatestTimestamp: Int64 { maxSoFar }

    /// Feeds the batch that starts at `position`, in log order.
    mutating func add(_ header: RecordBatchHeader, at position: Int64) {
        lastBatchStart = position
        maxSoFar = max(maxSoFar, header.maxTimestamp)
        if let i = offsetEntryAt[position] { batchEnd[i] = header.lastOffset }
        if let i = timeEntryAt[header.lastOffset] { timesFound[i] = (header.maxTimestamp, maxSoFar) }
    }

    /// What is wrong with each offset-index entry (nil: right). `end` is where the batches end.
    func offsetProblems(end: Int64) -> [String?] {
        var previous: IndexEntries.Offset? = nil
        return indexes.offsets.enumerated().map { i, e in
            defer { previous = e }
            if let previous, e.relativeOffset <= previous.relativeOffset || e.position <= previous.position {
                return "entry \(i) is not after the entry before it"
            }
            guard let found = batchEnd[i] else {
                return Int64(e.position) >= end
                    ? "entry \(i) points at position \(e.position), past the last batch (\(end))"
                    : "entry \(i) points at position \(e.position), which is not the start of a batch"
            }
            let claimed = base + Int64(e.relativeOffset)
            return found == claimed
                ? nil
                : "entry \(i) says the batch at position \(e.position) ends at offset \(claimed), but it ends at \(found)"
        }
    }

    /// What is wrong with each time-index entry (nil: right).
    func timeProblems() -> [String?] {
        var previous: IndexEntries.Time? = nil
        return indexes.times.enumerated().map { i, t in
            defer { previous = t }
            if let previous, t.relativeOffset <= previous.relativeOffset || t.timestamp <= previous.timestamp {
                return "entry \(i) is not after the entry before it"
            }
            let offset = base + Int64(t.relativeOffset)
            guard let found = timesFound[i] else { return "entry \(i) names offset \(offset), where no batch ends" }
            if found.batch != t.timestamp {
                return
                    "entry \(i) says \(t.timestamp) ms is the greatest timestamp up to offset \(offset), but that batch's greatest is \(found.batch) ms"
            }
            if found.soFar != t.timestamp {
                return
                    "entry \(i) says \(t.timestamp) ms is the greatest timestamp up to offset \(offset), but a record before it has \(found.soFar) ms"
            }
            return nil
        }
    }
}
