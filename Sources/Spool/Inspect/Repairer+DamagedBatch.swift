import Glibc
import SpoolFormat

/// Damage inside a sealed segment costs only the damaged batch (FORMAT.md, "Repair"): the
/// batches after it are still framed by their lengths, so when they all pass their CRCs,
/// repair moves them into a segment of their own and leaves a recorded gap (the damaged
/// batch's offsets, kept in `.broken`) that readers skip.
extension Repairer {
    /// The intact batches after a damaged one.
    struct IntactTail {
        /// Where the damaged batch starts and where the first intact one after it starts.
        var damagedAt: Int64
        var start: Int64
        var end: Int64
        var firstOffset: Int64
        var nextOffset: Int64
    }

    /// The run of batches after the damaged batch at `position`, when the damaged batch's
    /// length frames a next batch and everything from there to the end of the data passes its
    /// CRC, follows in offset order and stays below the next segment. Nil otherwise (the
    /// segment is then cut at the damage, as for a torn tail).
    func intactTail(
        of file: SegmentFile, base: Int64, damagedAt position: Int64, in directory: String
    ) throws -> IntactTail? {
        let fs = options.fileSystem
        let followingBase = try fs.listDirectory(directory).compactMap { SegmentName.parseLog($0) }.filter { $0 > base }
            .min()
        guard let followingBase else { return nil }
        var damagedEnd: Int64? = nil
        var first: Int64? = nil
        var sound = true
        let end = try file.forEachBatch(from: position, expectedOffset: nil, limits: options.limits, decode: false) {
            entry in
            guard damagedEnd != nil else {
                damagedEnd = entry.position + Int64(entry.header.totalBytes)
                return true
            }
            let inOrder =
                first == nil ? entry.header.baseOffset > base : entry.expectedOffset == entry.header.baseOffset
            guard entry.crcOK, inOrder else {
                sound = false
                return false
            }
            if first == nil { first = entry.header.baseOffset }
            return true
        }
        guard sound, end.problem == nil, let damagedEnd, let first, let next = end.nextOffset, next <= followingBase,
            try file.lastNonZero(from: end.position) == nil
        else { return nil }
        return IntactTail(
            damagedAt: position, start: damagedEnd, end: end.position, firstOffset: first, nextOffset: next)
    }

    /// Whether the segment named `base` starts past the end of the segment before it: a last
    /// segment with nothing readable that does not continue the log is a stray file (garbage
    /// named like a segment), not a torn first batch of a real roll, whose base is always the
    /// previous segment's end.
    func isDetached(base: Int64, in directory: String) throws -> Bool {
        guard
            let previous = try options.fileSystem.listDirectory(directory).compactMap({ SegmentName.parseLog($0) })
                .filter({ $0 < base }).max()
        else { return false }
        let before = try SegmentFile(
            path: RootLayout.segmentFile(in: directory, base: previous, suffix: RootLayout.logSuffix),
            fileSystem: options.fileSystem)
        return try validEnd(of: before, base: previous).nextOffset < base
    }

    /// The offset a segment should be named for, when every batch in it passes its CRC and
    /// follows the one before, its first batch starts at another offset than its name says,
    /// and that name is free and fits between its neighbours (the segment before ends at or
    /// below it, the next one starts at or past its end). Nil otherwise.
    func misnamedBase(of file: SegmentFile, base: Int64, in directory: String) throws -> Int64? {
        var first: Int64? = nil
        var sound = true
        let end = try file.forEachBatch(from: 0, expectedOffset: nil, limits: options.limits, decode: false) { entry in
            guard entry.crcOK, first == nil || entry.expectedOffset == entry.header.baseOffset else {
                sound = false
                return false
            }
            if first == nil { first = entry.header.baseOffset }
            return true
        }
        guard sound, end.problem == nil, let first, first != base, let next = end.nextOffset else { return nil }
        let bases = try options.fileSystem.listDirectory(directory).compactMap { SegmentName.parseLog($0) }.filter {
            $0 != base
        }
        guard !bases.contains(first) else { return nil }
        if let following = bases.filter({ $0 > first }).min(), next > following { return nil }
        if let previous = bases.filter({ $0 < first }).max() {
            let before = try SegmentFile(
                path: RootLayout.segmentFile(in: directory, base: previous, suffix: RootLayout.logSuffix),
                fileSystem: options.fileSystem)
            guard try validEnd(of: before, base: previous).nextOffset <= first else { return nil }
        }
        return first
    }

    /// Keeps the damaged batch's bytes, moves the intact batches after it into
    /// `<first intact offset>.log`, and cuts the segment at the damage. Crash order: the new
    /// segment is written as `.tmp` (removed at open if a crash comes first), the bytes from
    /// the damage on are kept in `.broken`, the segment is cut (or, with nothing before the
    /// damage, removed), and only then is the new segment renamed into place: a crash part
    /// way leaves the plain cut, never two segments holding the same offsets.
    func dropDamagedBatch(
        of file: SegmentFile, base: Int64, tail: IntactTail,
        act: (RepairAction, () throws -> Void) throws -> Void
    ) throws {
        let fs = options.fileSystem
        let path = file.path
        let directory = parent(path)
        let stem = String(path.dropLast(RootLayout.logSuffix.count))
        let fresh = RootLayout.segmentFile(in: directory, base: tail.firstOffset, suffix: RootLayout.logSuffix)
        let kept =
            tail.damagedAt > 0
            ? TailCutter.brokenPath(of: path, at: tail.damagedAt, fileSystem: fs) : path + RootLayout.quarantineSuffix
        let lostFrom = tail.damagedAt > 0 ? (try validEnd(of: file, base: base).nextOffset) : base
        let count = tail.firstOffset - lostFrom
        try act(
            RepairAction(
                kind: .truncate, path: path, position: tail.damagedAt, offset: lostFrom,
                detail:
                    "drop the damaged batch at position \(tail.damagedAt) of \(path): offsets \(lostFrom)–\(tail.firstOffset - 1) (\(count) tasks) leave the log "
                    + "(bytes kept in \(kept)); the \(tail.end - tail.start) bytes of intact batches after it (offsets \(tail.firstOffset)–\(tail.nextOffset - 1)) move to \(fresh)"
            )
        ) {
            try keep(path, from: tail.start, to: tail.end, in: fresh + RootLayout.temporarySuffix)
            try keep(path, from: tail.damagedAt, to: tail.end, in: kept)
            if tail.damagedAt > 0 {
                let fd = try fs.open(path, flags: O_RDWR, mode: 0)
                defer { fs.close(fd) }
                do {
                    try fs.truncate(fd, to: tail.damagedAt)
                    try fs.fsync(fd)
                } catch { throw error.with(path: path) }
            } else {
                for suffix in [RootLayout.logSuffix, RootLayout.indexSuffix, RootLayout.timeIndexSuffix]
                where fs.fileType(stem + suffix) == .regular {
                    try fs.unlink(stem + suffix)
                }
            }
            try fs.syncDirectory(directory)
            try fs.rename(fresh + RootLayout.temporarySuffix, to: fresh)
            try fs.syncDirectory(directory)
        }
        if tail.damagedAt > 0 { try rebuild(path, act: act) }
        try rebuild(fresh, act: act)
    }
}
