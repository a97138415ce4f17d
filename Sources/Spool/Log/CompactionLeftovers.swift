import Glibc

/// The files an interrupted compaction can leave in a queue's (or group log's) directory, and
/// what open does with each (FORMAT.md, "Compaction"):
///
/// - `<base>.log.cleaned`: a rewrite that was not finished being written and synced. It is
///   deleted: the compaction is rolled back and the live `<base>.log` is intact.
/// - `<base>.log.swap`: a rewrite that was written, synced and renamed. It is made live: the
///   segment's index files are deleted (they describe the old file; readers rebuild them
///   lazily), then `.swap` is renamed over `<base>.log`, and the directory is synced.
/// - `<base>.index` / `<base>.timeindex` with neither a `.log` nor a `.swap` beside them: left
///   by a deletion cut short; deleted.
///
/// ``plan(in:fileSystem:)`` only looks, so that `spool repair --dry-run` can show what open
/// would do; ``apply(_:in:fileSystem:)`` does it. Both are safe to call on a directory no writer
/// has open; the engine calls them when it opens a queue, before recovery.
public enum CompactionLeftovers {

    /// One thing to do about one leftover.
    public struct Action: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable, Equatable {
            /// Delete an unfinished `.cleaned` rewrite (roll back).
            case deleteCleaned
            /// Make a finished `.swap` rewrite live (finish).
            case finishSwap
            /// Delete index files whose segment is gone.
            case deleteOrphanIndex
        }

        public var kind: Kind
        /// The leftover file.
        public var path: String
        /// The segment's base offset.
        public var segment: Int64

        public var description: String {
            switch kind {
            case .deleteCleaned: return "delete \(path) (an unfinished compaction; the live segment is intact)"
            case .finishSwap:
                return "make \(path) live as segment \(segment) (a finished compaction), and drop its stale indexes"
            case .deleteOrphanIndex: return "delete \(path) (the index of a deleted segment)"
            }
        }
    }

    /// Whether `path` names a compaction leftover (`.log.cleaned` or `.log.swap`).
    public static func isLeftover(_ path: String) -> Bool {
        path.hasSuffix(RootLayout.cleanedSuffix) || path.hasSuffix(RootLayout.swapSuffix)
    }

    /// What open would do about the leftovers in `directory`, in the order it would do it.
    /// Looks only; changes nothing.
    /// - Throws: `.notFound` or `.io` when the directory cannot be listed.
    public static func plan(in directory: String, fileSystem fs: any FileSystem = PosixFileSystem()) throws -> [Action]
    {
        let names = try fs.listDirectory(directory)
        let present = Set(names)
        var actions: [Action] = []
        for name in names.sorted() {
            if let base = base(of: name, suffix: RootLayout.cleanedSuffix) {
                actions.append(Action(kind: .deleteCleaned, path: RootLayout.path(directory, name), segment: base))
            } else if let base = base(of: name, suffix: RootLayout.swapSuffix) {
                actions.append(Action(kind: .finishSwap, path: RootLayout.path(directory, name), segment: base))
            } else if let base = base(of: name, suffix: RootLayout.indexSuffix)
                ?? base(of: name, suffix: RootLayout.timeIndexSuffix)
            {
                let stem = SegmentName.stem(base)
                if !present.contains(stem + RootLayout.logSuffix) && !present.contains(stem + RootLayout.swapSuffix) {
                    actions.append(
                        Action(kind: .deleteOrphanIndex, path: RootLayout.path(directory, name), segment: base))
                }
            }
        }
        return actions
    }

    /// Carries out `actions` (from ``plan(in:fileSystem:)``) in `directory`, then syncs it.
    /// Idempotent: a crash part way leaves leftovers that the next plan finds again.
    /// - Throws: ``SpoolError`` naming the file that could not be renamed or deleted.
    public static func apply(
        _ actions: [Action], in directory: String, fileSystem fs: any FileSystem = PosixFileSystem()
    ) throws {
        guard !actions.isEmpty else { return }
        for action in actions {
            switch action.kind {
            case .deleteCleaned, .deleteOrphanIndex:
                try unlinkIfPresent(action.path, fs)
            case .finishSwap:
                try finishSwap(directory: directory, base: action.segment, fileSystem: fs)
            }
        }
        try fs.syncDirectory(directory)
    }

    /// Makes `<base>.log.swap` live: stale indexes go first (so no crash can leave old indexes
    /// beside the new file), the directory is synced, then the rename, then the directory again.
    static func finishSwap(directory: String, base: Int64, fileSystem fs: any FileSystem) throws {
        let stem = RootLayout.path(directory, SegmentName.stem(base))
        try unlinkIfPresent(stem + RootLayout.indexSuffix, fs)
        try unlinkIfPresent(stem + RootLayout.timeIndexSuffix, fs)
        try fs.syncDirectory(directory)
        try fs.rename(stem + RootLayout.swapSuffix, to: stem + RootLayout.logSuffix)
        try fs.syncDirectory(directory)
    }

    static func unlinkIfPresent(_ path: String, _ fs: any FileSystem) throws {
        do {
            try fs.unlink(path)
        } catch let error as SpoolError where error.code == .notFound {
            return
        } catch {
            throw error.with(path: path)
        }
    }

    /// The base offset in `<20 digits><suffix>`, or nil.
    static func base(of name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        guard stem.utf8.count == SegmentName.digits, stem.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(stem)
    }
}
