import Glibc
import Spool

/// Applies a power cut to the files a killed process changed through ``PowerCutFileSystem``:
/// everything its undo journal shows as not yet durable is put back, as the disk would hold it
/// after losing power at the moment of the kill.
///
/// The model (DRILLS.md, "Power-cut model"):
/// - a write or truncate is durable once a later fdatasync/fsync of the same file returned;
///   every other one is undone, newest first, except the **last** unsynced write of each file,
///   which is torn: a random-length prefix of its new bytes (0 to all) stays, the rest reverts;
/// - a create, rename, unlink or mkdir is durable once its directory was fsynced afterwards;
///   of the others, a random prefix in time order stays (journalled file systems commit
///   metadata in order) and the rest are undone, newest first (a rename moves back and the
///   file it replaced comes back; a created file goes; an unlinked file returns; a created
///   directory goes with everything in it, synced or not).
///
/// Not thread-safe with respect to the files: run it only after the process that wrote the
/// journal is dead. Throws ``SpoolError`` when the journal cannot be read or a file cannot be
/// restored.
public enum PowerCut {
    /// What a power cut undid.
    public struct Outcome: Sendable, Equatable {
        public var records = 0
        public var writesUndone = 0
        public var truncatesUndone = 0
        public var tornWrites = 0
        public var bytesKeptByTears: Int64 = 0
        public var entriesUndone = 0
        public var entriesKept = 0
        /// Pre-images too big to keep: those changes could not be undone (not modelled).
        public var notRestorable = 0
        public init() {}
    }

    /// Which unsynced directory entries a cut keeps.
    public enum EntryLoss: Sendable {
        /// A random prefix in time order (a journalled file system; the drill's model).
        case prefixInOrder
        /// Any subset, each entry kept or lost on its own (POSIX promises no order): for tests
        /// of protocols that must not rely on the order of unsynced entries.
        case anySubset
    }

    public static func apply(
        journal path: String, random: inout some RandomNumberGenerator,
        entries: EntryLoss = .prefixInOrder
    ) throws -> Outcome {
        guard let bytes = PowerCutFileSystem.readBytes(path, from: 0, count: PowerCutFileSystem.size(of: path)) else {
            throw SpoolError(.io, "cannot read the power-cut journal", path: path)
        }
        let records = try PowerCutRecord.decodeAll(bytes, path: path)
        var outcome = Outcome()
        outcome.records = records.count
        // Durability of each record.
        var fileSyncs: [String: UInt64] = [:]
        var directorySyncs: [String: UInt64] = [:]
        for case .sync(_, let p, let directory, let covers) in records {
            if directory {
                directorySyncs[p] = max(directorySyncs[p] ?? 0, covers)
            } else {
                fileSyncs[p] = max(fileSyncs[p] ?? 0, covers)
            }
        }
        func fileDurable(_ p: String, _ s: UInt64) -> Bool { (fileSyncs[p] ?? 0) > s }
        func entryDurable(_ p: String, _ s: UInt64) -> Bool { (directorySyncs[parent(of: p)] ?? 0) > s }

        var unsyncedEntries: [UInt64] = []
        for record in records {
            switch record {
            case .create(let s, let p), .unlink(let s, let p, _), .makeDirectory(let s, let p):
                if !entryDurable(p, s) { unsyncedEntries.append(s) }
            case .rename(let s, let from, let to, _):
                if !(entryDurable(from, s) && entryDurable(to, s)) { unsyncedEntries.append(s) }
            default: break
            }
        }
        let undoneEntries: Set<UInt64>
        switch entries {
        case .prefixInOrder:
            let keep = Int.random(in: 0...unsyncedEntries.count, using: &random)
            undoneEntries = Set(unsyncedEntries[keep...])
        case .anySubset:
            undoneEntries = Set(unsyncedEntries.filter { _ in Bool.random(using: &random) })
        }
        outcome.entriesKept = unsyncedEntries.count - undoneEntries.count

        // The last unsynced write of each file (not followed by a truncate) is torn.
        var lastWrite: [String: UInt64] = [:]
        for record in records {
            switch record {
            case .write(let s, let p, _, _, _, _) where !fileDurable(p, s): lastWrite[p] = s
            case .truncate(let s, let p, _, _, _) where !fileDurable(p, s): lastWrite[p] = nil
            default: break
            }
        }
        var tears: [(path: String, position: Int64, bytes: [UInt8])] = []
        for case .write(let s, let p, let position, _, let length, _) in records where lastWrite[p] == s {
            let keepBytes = Int64.random(in: 0...length, using: &random)
            if keepBytes > 0, let now = PowerCutFileSystem.readBytes(p, from: position, count: keepBytes) {
                tears.append((p, position, now))
            }
        }

        // Undo newest first; a kept rename sends older records of its source to its target.
        let resolve = try undo(records, entries: undoneEntries, fileDurable: fileDurable, outcome: &outcome)
        for tear in tears {
            let p = resolve(tear.path)
            guard PowerCutFileSystem.size(of: p) >= 0, access(p, F_OK) == 0 else { continue }
            try restore(p, position: tear.position, bytes: tear.bytes, size: nil)
            outcome.tornWrites += 1
            outcome.bytesKeptByTears += Int64(tear.bytes.count)
        }
        return outcome
    }

    /// Undoes what the cut loses, newest record first: unsynced writes and truncates, and the
    /// directory entries in `entries`. Returns where each path's file is after the kept renames.
    /// - Throws: `.io` when a file cannot be restored.
    private static func undo(
        _ records: [PowerCutRecord], entries: Set<UInt64>, fileDurable: (String, UInt64) -> Bool, outcome: inout Outcome
    ) throws -> (String) -> String {
        var alias: [String: String] = [:]
        func resolve(_ p: String) -> String { PowerCut.resolve(p, alias) }
        for record in records.reversed() {
            switch record {
            case .write(let s, let p, let position, let oldSize, let length, let before):
                guard !fileDurable(p, s) else { continue }
                guard let before else {
                    outcome.notRestorable += 1
                    continue
                }
                try restore(
                    resolve(p), position: position, bytes: before, size: position + length > oldSize ? oldSize : nil)
                outcome.writesUndone += 1
            case .truncate(let s, let p, let oldSize, let newSize, let cut):
                guard !fileDurable(p, s) else { continue }
                guard let cut else {
                    outcome.notRestorable += 1
                    continue
                }
                try restore(resolve(p), position: newSize, bytes: newSize < oldSize ? cut : [], size: oldSize)
                outcome.truncatesUndone += 1
            case .create(let s, let p):
                guard entries.contains(s) else { continue }
                Glibc.unlink(resolve(p))
                outcome.entriesUndone += 1
            case .makeDirectory(let s, let p):
                guard entries.contains(s) else { continue }
                _ = removeTree(resolve(p))
                outcome.entriesUndone += 1
            case .unlink(let s, let p, let bytes):
                guard entries.contains(s) else { continue }
                guard let bytes else {
                    outcome.notRestorable += 1
                    continue
                }
                try create(resolve(p), bytes: bytes)
                outcome.entriesUndone += 1
            case .rename(let s, let from, let to, let replaced):
                guard entries.contains(s) else {
                    alias[from] = resolve(to)
                    continue
                }
                let current = resolve(to)
                if Glibc.rename(current, from) != 0 {
                    throw SpoolError.system("power cut: rename back to \(from)", errno: errno, path: current)
                }
                if let replaced { try create(current, bytes: replaced) }
                outcome.entriesUndone += 1
            case .sync:
                continue
            }
        }
        return { resolve($0) }
    }

    /// `p` after following the renames in `alias` (at most 64).
    private static func resolve(_ p: String, _ alias: [String: String]) -> String {
        var p = p
        for _ in 0..<64 {
            guard let next = alias[p] else { break }
            p = next
        }
        return p
    }

    /// Writes `bytes` at `position` in an existing file, after setting its size when given.
    /// A file that no longer exists (its creation was undone) is left alone.
    private static func restore(_ path: String, position: Int64, bytes: [UInt8], size: Int64?) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw SpoolError.system("power cut: open", errno: errno, path: path)
        }
        defer { Glibc.close(fd) }
        let fs = PosixFileSystem()
        if let size { try fs.truncate(fd, to: size) }
        if !bytes.isEmpty { try bytes.withUnsafeBytes { try fs.write(fd, from: $0, at: position) } }
    }

    private static func create(_ path: String, bytes: [UInt8]) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw SpoolError.system("power cut: recreate", errno: errno, path: path) }
        defer { Glibc.close(fd) }
        try bytes.withUnsafeBytes { try PosixFileSystem().write(fd, from: $0, at: 0) }
    }

    static func parent(of path: String) -> String { parentDirectory(of: path) }

    /// Removes a directory whose creation a power cut undid, with everything in it: entries
    /// made inside a directory that is itself lost are lost with it, whatever was synced in
    /// it. Bounded in depth and entries; symlinks are removed, never followed.
    /// Returns the entries removed.
    static func removeTree(_ path: String, depth: Int = 0) -> Int {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        guard info.st_mode & S_IFMT == S_IFDIR, depth < 64 else { return unlink(path) == 0 ? 1 : 0 }
        var removed = 0
        let names = (try? PosixFileSystem().listDirectory(path)) ?? []
        for name in names.prefix(1_000_000) { removed += removeTree(RootLayout.path(path, name), depth: depth + 1) }
        return removed + (rmdir(path) == 0 ? 1 : 0)
    }
}
