/// A segment's sparse time index: entries of (i64 greatest timestamp of the batches before,
/// u32 relative offset of the batch), FORMAT.md "Time index". Every record with a timestamp
/// above an entry's timestamp lies at or after its offset, so a lookup starts there.
///
/// Thread-safety: one writer appends; concurrent readers look up (see ``MappedIndexFile``).
final class TimeIndex: @unchecked Sendable {
    static let entrySize = 12
    let file: MappedIndexFile

    init(file: MappedIndexFile) {
        precondition(file.entrySize == Self.entrySize)
        self.file = file
    }

    func timestamp(_ i: Int) -> Int64 { file.entry(i).loadBigEndian(at: 0, as: Int64.self) }
    func relativeOffset(_ i: Int) -> UInt32 { file.entry(i).loadBigEndian(at: 8, as: UInt32.self) }

    /// Loads and checks the entries: relative offsets strictly increasing and above zero,
    /// timestamps non-decreasing, offsets below `nextRelativeOffset`. False: rebuild.
    func load(nextRelativeOffset: Int64) -> Bool {
        var n = 0
        var previous: (Int64, UInt32) = (.min, 0)
        while n < file.capacity {
            let ts = timestamp(n), rel = relativeOffset(n)
            if rel == 0 && ts == 0 { break }
            if rel == 0 || rel <= previous.1 || ts < previous.0 { return false }
            if Int64(rel) >= nextRelativeOffset { break }
            previous = (ts, rel)
            n += 1
        }
        file.setCount(n, clearingUpTo: file.firstZeroEntry(from: n))
        return true
    }

    func append(timestamp: Int64, relativeOffset: UInt32) {
        let n = file.count
        guard n < file.capacity else { return }
        file.store(n) { entry in
            entry.storeBigEndian(timestamp, at: 0)
            entry.storeBigEndian(relativeOffset, at: 8)
        }
    }

    /// The relative offset to start from when looking for the first record with a timestamp
    /// of at least `target`: the last entry whose timestamp is below it, or 0.
    func lookup(_ target: Int64) -> UInt32 {
        lookupEntry(target).map(relativeOffset) ?? 0
    }

    /// The index of the last entry whose timestamp is below `target`, or nil.
    func lookupEntry(_ target: Int64) -> Int? {
        var low = 0, high = file.count
        while low < high {
            let mid = (low + high) / 2
            if timestamp(mid) < target { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : low - 1
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
        var previous: (Int64, UInt32) = (.min, 0)
        for n in 0..<file.capacity {
            let ts = timestamp(n), rel = relativeOffset(n)
            if rel == 0 || rel <= previous.1 || ts < previous.0 { return false }
            previous = (ts, rel)
        }
        file.setCount(file.capacity, clearingUpTo: 0)
        return true
    }
}
