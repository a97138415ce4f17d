import Glibc

/// Changes to a queue's set of segments that the compactor makes while the log is open:
/// making a rewritten segment live, and deleting segments from the front of the log.
///
/// Both follow the crash protocol of FORMAT.md, "Compaction", and both are safe while readers
/// hold the segments: a ``Segment`` is shared by reference, its descriptor stays open until the
/// last holder lets go, so a reader in the middle of a read finishes on the file it started
/// on (Linux keeps an unlinked or replaced file's data until its last descriptor closes). A
/// reader that asks again afterwards sees the new set: the rewritten segment, or
/// `.offsetOutOfRange` below the new log start.
///
/// Thread-safe against the writer and readers (the segment list changes under the log's lock);
/// the compactor makes one change at a time.
enum SegmentSwap {
    /// Makes `<base>.log.cleaned` (synced by ``SegmentRewriter``) the live segment `old`:
    /// rename to `.swap`, sync the directory, then ``CompactionLeftovers/finishSwap`` (drop the
    /// stale indexes, sync, rename over `.log`, sync), and put a new ``Segment`` in the list.
    /// A crash before the first rename leaves `.cleaned` (rolled back at open); after it,
    /// `.swap` (finished at open).
    /// - Throws: I/O errors naming the file; the log's list is unchanged unless the rename
    ///   over `.log` happened.
    static func commitRewrite(of old: Segment, in shared: LogShared) throws {
        let fs = shared.options.fileSystem
        let stem = RootLayout.path(old.directory, SegmentName.stem(old.baseOffset))
        // Readers that still hold `old` must keep reading the old file, not the new one.
        _ = try old.fd
        try fs.rename(stem + RootLayout.cleanedSuffix, to: stem + RootLayout.swapSuffix)
        try fs.syncDirectory(old.directory)
        // From here the old file's index names belong to the new file: the old segment must not
        // rebuild them.
        old.retire()
        try CompactionLeftovers.finishSwap(directory: old.directory, base: old.baseOffset, fileSystem: fs)
        let fresh = try Segment(
            directory: old.directory, baseOffset: old.baseOffset, writable: false, create: false, fileSystem: fs,
            descriptors: old.descriptors)
        shared.state.withLock { state in
            if let i = state.segments.firstIndex(where: { $0 === old }) { state.segments[i] = fresh }
        }
    }

    /// Deletes `segment`, which must be the first of the log and not its active segment:
    /// takes it out of the list (readers asking from now on get `.offsetOutOfRange` below the
    /// next segment's base, the new log start), then unlinks its index files and its `.log`
    /// (or renames the `.log` to a spare for recycling, ``SpareSegments/keep(_:)``), and syncs
    /// the directory before it returns. Each deletion is durable before the next one starts,
    /// so a power cut that loses unsynced unlinks or renames (in any order) can only bring back
    /// the front segment, never leave a segment below a gap (FORMAT.md, "Log start"). A crash
    /// part way leaves the `.log` without indexes (deleted again by the next pass) or orphan
    /// indexes (deleted at open).
    /// - Throws: `.invalidArgument` if it is not the first, or is the active segment; I/O errors.
    static func deleteFirst(_ segment: Segment, in shared: LogShared) throws {
        let removed: Bool = shared.state.withLock { state in
            guard state.segments.count > 1, state.segments.first === segment,
                segment.baseOffset != state.committed.segment
            else { return false }
            state.segments.removeFirst()
            return true
        }
        guard removed else {
            throw SpoolError(
                .invalidArgument, "only the first sealed segment of a log can be deleted", path: segment.logPath,
                segment: segment.baseOffset)
        }
        // A reader that took its list of segments just before may still read this one.
        _ = try? segment.fd
        segment.retire()
        let fs = shared.options.fileSystem
        try CompactionLeftovers.unlinkIfPresent(segment.indexPath, fs)
        try CompactionLeftovers.unlinkIfPresent(segment.timeIndexPath, fs)
        // Recycling (FORMAT.md, "Recycled segments") keeps the file as a spare instead.
        if try !shared.spares.keep(segment) {
            try CompactionLeftovers.unlinkIfPresent(segment.logPath, fs)
        }
        try fs.syncDirectory(segment.directory)
    }
}
