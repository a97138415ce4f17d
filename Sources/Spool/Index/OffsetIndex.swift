import Glibc

/// A segment's sparse offset index: entries of (u32 last offset of a batch relative to the
/// segment's base, u32 byte position where that batch starts), Kafka's meaning, FORMAT.md
/// "Offset index". ``IndexEntryRule`` decides which batches get one.
///
/// Thread-safety: one writer appends; concurrent readers look up (see ``MappedIndexFile``).
final class OffsetIndex: @unchecked Sendable {
    static let entrySize = OffsetIndexEntry.size
    let file: MappedIndexFile

    init(file: MappedIndexFile) {
        precondition(file.entrySize == Self.entrySize)
        self.file = file
    }

    func entry(_ i: Int) -> OffsetIndexEntry { OffsetIndexEntry(decoding: file.entry(i), at: 0) }
    func relativeOffset(_ i: Int) -> UInt32 { entry(i).relativeOffset }
    func position(_ i: Int) -> UInt32 { entry(i).position }

    /// Loads the entries already in the file and checks them: each strictly after the previous in
    /// both fields, positions above zero and below `validEnd`. Returns false when the file is
    /// inconsistent and must be rebuilt. Entries at or past `validEnd` are dropped.
    func load(validEnd: Int64) -> Bool {
        var n = 0
        var previous: (UInt32, UInt32) = (0, 0)
        while n < file.capacity {
            let rel = relativeOffset(n)
            let pos = position(n)
            if rel == 0 && pos == 0 { break }
            if pos == 0 || rel <= previous.0 || pos <= previous.1 { return false }
            if Int64(pos) >= validEnd { break }
            previous = (rel, pos)
            n += 1
        }
        // Non-zero entries past the used part are left from a longer tail: clear them.
        file.setCount(n, clearingUpTo: file.firstZeroEntry(from: n))
        return true
    }

    /// Appends an entry. A full index drops the entry (a lookup then scans a little further,
    /// which stays correct), and so does one not above the last entry in both fields (the
    /// index stays ordered whatever a failed write left in it).
    func append(_ new: OffsetIndexEntry) {
        let n = file.count
        guard n < file.capacity else { return }
        if n > 0 && (new.relativeOffset <= relativeOffset(n - 1) || new.position <= position(n - 1)) { return }
        file.store(n) { new.encode(into: $0) }
    }

    /// The last entry, nil when there is none.
    var lastEntry: OffsetIndexEntry? {
        let n = file.count
        return n == 0 ? nil : OffsetIndexEntry(relativeOffset: relativeOffset(n - 1), position: position(n - 1))
    }

    /// The last entry whose relative offset is ≤ `target`, or (0, 0): where to start scanning
    /// (Kafka's `OffsetIndex.lookup`). The batch at its position ends at or before `target`, so
    /// `target` lies in it or after it.
    func lookup(_ target: UInt32) -> (relativeOffset: UInt32, position: UInt32) {
        var low = 0
        var high = file.count  // invariant: entries < low are ≤ target, entries ≥ high are > target
        while low < high {
            let mid = (low + high) / 2
            if relativeOffset(mid) <= target { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? (0, 0) : (relativeOffset(low - 1), position(low - 1))
    }

    /// Drops entries at or past byte `position` (after a torn tail is cut).
    func truncate(toPosition end: Int64) {
        let n = file.count
        var keep = n
        while keep > 0 && Int64(position(keep - 1)) >= end { keep -= 1 }
        file.setCount(keep, clearingUpTo: n)
    }

    var lastPosition: Int64 { file.count == 0 ? 0 : Int64(position(file.count - 1)) }
}

extension OffsetIndex {
    /// Loads a sealed, trimmed index without writing to it: every entry must be valid and in
    /// order, with positions below `validEnd`. False means it must not be used.
    func loadReadOnly(validEnd: Int64) -> Bool {
        var previous: (UInt32, UInt32) = (0, 0)
        for n in 0..<file.capacity {
            let rel = relativeOffset(n)
            let pos = position(n)
            if pos == 0 || rel <= previous.0 || pos <= previous.1 || Int64(pos) >= validEnd { return false }
            previous = (rel, pos)
        }
        file.setCount(file.capacity, clearingUpTo: 0)
        return true
    }
}

extension OffsetIndex {
    /// Reads an index file with pread (before it is mapped) and returns its last entry whose
    /// position is at most `position`, among the leading entries that are in order. Nil when
    /// the file is missing or has no such entry.
    static func lastEntry(
        atOrBelow position: Int64, path: String, fileSystem fs: any FileSystem
    ) throws -> OffsetIndexEntry? {
        guard fs.fileType(path) == .regular else { return nil }
        let fd = try fs.open(path, flags: O_RDONLY, mode: 0)
        defer { fs.close(fd) }
        let size = Int(min(try fs.size(fd), 64 << 20))
        var bytes = [UInt8](repeating: 0, count: size)
        let got = try bytes.withUnsafeMutableBytes { try fs.read(fd, into: $0, at: 0) }
        var best: (UInt32, UInt32)? = nil
        bytes.withUnsafeBytes { raw in
            var previous: (UInt32, UInt32) = (0, 0)
            var i = 0
            while i + entrySize <= got {
                let entry = OffsetIndexEntry(decoding: raw, at: i)
                let rel = entry.relativeOffset
                let pos = entry.position
                if pos == 0 || rel <= previous.0 || pos <= previous.1 || Int64(pos) > position { break }
                best = (rel, pos)
                previous = (rel, pos)
                i += entrySize
            }
        }
        return best.map { OffsetIndexEntry(relativeOffset: $0.0, position: $0.1) }
    }
}
