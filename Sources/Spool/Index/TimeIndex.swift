/// A segment's sparse time index: entries of (i64 greatest record timestamp so far in the
/// segment, u32 relative last offset of the batch holding it), Kafka's meaning, FORMAT.md
/// "Time index". Every record up to an entry's offset has a timestamp at most the entry's,
/// so the first record at or after a time T lies at or after the offset of the last entry at
/// or below T. ``IndexEntryRule`` decides the entries.
///
/// Thread-safety: one writer appends; concurrent readers look up (see ``MappedIndexFile``).
final class TimeIndex: @unchecked Sendable {
    static let entrySize = TimeIndexEntry.size
    let file: MappedIndexFile

    init(file: MappedIndexFile) {
        precondition(file.entrySize == Self.entrySize)
        self.file = file
    }

    func entry(_ i: Int) -> TimeIndexEntry { TimeIndexEntry(decoding: file.entry(i), at: 0) }
    func timestamp(_ i: Int) -> Int64 { entry(i).timestamp }
    func relativeOffset(_ i: Int) -> UInt32 { entry(i).relativeOffset }

    /// Loads and checks the entries: both fields strictly increasing, offsets below
    /// `nextRelativeOffset`. False: rebuild.
    func load(nextRelativeOffset: Int64) -> Bool {
        var n = 0
        var previous: (Int64, UInt32)? = nil
        while n < file.capacity {
            let ts = timestamp(n)
            let rel = relativeOffset(n)
            if rel == 0 && ts == 0 { break }
            if let previous, rel <= previous.1 || ts <= previous.0 { return false }
            if Int64(rel) >= nextRelativeOffset { break }
            previous = (ts, rel)
            n += 1
        }
        file.setCount(n, clearingUpTo: file.firstZeroEntry(from: n))
        return true
    }

    /// Appends an entry; a full index drops it (lookups then start earlier, still correct). Like
    /// Kafka's `maybeAppend`, an entry that would not be above the last one in both fields is
    /// ignored: after a failed roll the writer's rule can offer the closing entry again.
    func append(_ new: TimeIndexEntry) {
        let n = file.count
        guard n < file.capacity else { return }
        if n > 0 && (new.timestamp <= timestamp(n - 1) || new.relativeOffset <= relativeOffset(n - 1)) { return }
        file.store(n) { new.encode(into: $0) }
    }

    /// The last entry, nil when there is none.
    var lastEntry: TimeIndexEntry? {
        let n = file.count
        return n == 0 ? nil : TimeIndexEntry(timestamp: timestamp(n - 1), relativeOffset: relativeOffset(n - 1))
    }

    /// The last entry whose timestamp is at most `target` (Kafka's `TimeIndex.lookup`), or nil:
    /// the first record with a timestamp of at least `target` lies at or after its offset.
    func lastEntry(atOrBelow target: Int64) -> TimeIndexEntry? {
        var low = 0
        var high = file.count
        while low < high {
            let mid = (low + high) / 2
            if timestamp(mid) <= target { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : TimeIndexEntry(timestamp: timestamp(low - 1), relativeOffset: relativeOffset(low - 1))
    }

    /// Drops entries at or past `relativeOffset`.
    func truncate(toRelativeOffset end: Int64) {
        let n = file.count
        var keep = n
        while keep > 0 && Int64(relativeOffset(keep - 1)) >= end { keep -= 1 }
        file.setCount(keep, clearingUpTo: n)
    }
}

extension TimeIndex {
    /// Loads a sealed, trimmed time index without writing to it. False: do not use it.
    func loadReadOnly() -> Bool {
        var previous: (Int64, UInt32)? = nil
        for n in 0..<file.capacity {
            let ts = timestamp(n)
            let rel = relativeOffset(n)
            if let previous, rel <= previous.1 || ts <= previous.0 { return false }
            previous = (ts, rel)
        }
        file.setCount(file.capacity, clearingUpTo: 0)
        return true
    }
}
