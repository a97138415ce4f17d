import Glibc
import Spool
import Synchronization

/// A ``FileSystem`` for power-cut drills: it passes every call to another one, and first writes
/// an **undo record** of what the call changes to a side journal, so that after the process is
/// killed with SIGKILL, ``PowerCut/apply(journal:random:entries:)`` can put back every byte and every
/// directory entry that no completed `fdatasync`/`fsync` made durable, as a power cut would.
///
/// What it records (each record before the call it undoes, with write(2) on an O_APPEND file,
/// so a record exists whenever its change may have happened, even under SIGKILL):
/// - `write`: the bytes the write overwrites and the file's size before it;
/// - `truncate` (and `open` with O_TRUNC): the size before and the bytes cut off;
/// - `fdatasync`/`fsync` of a file: which earlier data records of that file are now durable;
/// - `open` with O_CREAT of a missing file, `rename` (with the target's old bytes), `unlink`
///   (with the file's bytes), `mkdir`: directory entries, durable only once their directory is
///   fsynced (POSIX; Linux file systems often persist more, never less);
/// - `fsync` of a directory: which earlier entries in it are durable.
///
/// Not covered (see DRILLS.md): stores through `mmap` (the index files' entries), which bypass
/// the seam, and reads (they change nothing).
///
/// It lives in SpoolTesting, not in the shipped `Spool` library: a test or a drill installs it
/// through `SpoolOptions.fileSystem` (the `spool` children of `spool drill` do so themselves,
/// see `DrillEnvironment` in SpoolCLI).
/// Thread-safe: one mutex orders the records and the calls they describe.
public final class PowerCutFileSystem: FileSystem {
    /// Bytes of one pre-image at most; a bigger one is recorded as not restorable.
    static let preImageBytesMax: Int64 = 64 << 20

    private struct State {
        var paths: [Int32: (path: String, directory: Bool)] = [:]
        var sequence: UInt64 = 0
    }

    private let base: any FileSystem
    /// The journal and the state that orders its records, shared with the copies
    /// ``confined(toRoot:)`` makes: one journal, one sequence, whichever copy a call goes through.
    private final class Shared: Sendable {
        let journal: Int32
        private let mutex = Mutex(State())
        init(journal: Int32) { self.journal = journal }
        deinit { Glibc.close(journal) }
        func withLock<R: Sendable, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
            try mutex.withLock { (state: inout State) throws(E) -> R in try body(&state) }
        }
    }
    private let state: Shared
    private var journal: Int32 { state.journal }

    /// Opens (creating or appending to) the undo journal at `journalPath`.
    /// - Throws: ``SpoolError`` when the journal cannot be opened.
    public init(wrapping base: any FileSystem = PosixFileSystem(), journalPath: String) throws {
        self.base = base
        let journal = Glibc.open(journalPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if journal < 0 { throw SpoolError.system("open the power-cut journal", errno: errno, path: journalPath) }
        state = Shared(journal: journal)
    }

    private init(wrapping base: any FileSystem, sharing shared: Shared) {
        self.base = base
        self.state = shared
    }

    /// This file system over the wrapped one confined to `path` (symlinks and escapes refused
    /// as in production), recording to the same journal.
    /// - Throws: as the wrapped file system's `confined(toRoot:)`.
    public func confined(toRoot path: String) throws -> any FileSystem {
        PowerCutFileSystem(wrapping: try base.confined(toRoot: path), sharing: state)
    }

    private func append(_ record: PowerCutRecord) throws {
        let bytes = record.encoded()
        let n = bytes.withUnsafeBytes { Glibc.write(journal, $0.baseAddress, $0.count) }
        if n != bytes.count { throw SpoolError.system("write the power-cut journal", errno: errno) }
    }

    private func nextSequence(_ s: inout State) -> UInt64 {
        s.sequence += 1
        return s.sequence
    }

    public func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        try state.withLock { s in
            let existed = base.fileType(path)
            if flags & O_CREAT != 0 && existed == .missing {
                try append(.create(sequence: nextSequence(&s), path: path))
            } else if flags & O_TRUNC != 0 && existed == .regular {
                let size = Self.size(of: path)
                try append(
                    .truncate(
                        sequence: nextSequence(&s), path: path, oldSize: size, newSize: 0,
                        cut: Self.readBytes(path, from: 0, count: size)))
            }
            let fd = try base.open(path, flags: flags, mode: mode)
            s.paths[fd] = (path, flags & O_DIRECTORY != 0 || existed == .directory)
            return fd
        }
    }

    public func close(_ fd: Int32) {
        state.withLock { _ = $0.paths.removeValue(forKey: fd) }
        base.close(fd)
    }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        try base.read(fd, into: buffer, at: position)
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws {
        try state.withLock { s in
            let path = s.paths[fd]?.path ?? ""
            let oldSize = try base.size(fd)
            let overlap = max(0, min(position + Int64(buffer.count), oldSize) - position)
            let before = try Self.read(fd, from: position, count: overlap, base: base)
            try append(
                .write(
                    sequence: nextSequence(&s), path: path, position: position, oldSize: oldSize,
                    length: Int64(buffer.count), before: before))
            try base.write(fd, from: buffer, at: position)
        }
    }

    public func fdatasync(_ fd: Int32) throws { try sync(fd) { try base.fdatasync(fd) } }

    public func fsync(_ fd: Int32) throws { try sync(fd) { try base.fsync(fd) } }

    /// Runs the sync, then records that everything recorded before it started is durable.
    private func sync(_ fd: Int32, _ call: () throws -> Void) throws {
        let (covers, entry) = state.withLock { s in (s.sequence + 1, s.paths[fd]) }
        try call()
        guard let entry else { return }
        try state.withLock { s in
            try append(
                .sync(sequence: nextSequence(&s), path: entry.path, directory: entry.directory, coversBefore: covers))
        }
    }

    public func truncate(_ fd: Int32, to length: Int64) throws {
        try state.withLock { s in
            let path = s.paths[fd]?.path ?? ""
            let oldSize = try base.size(fd)
            let cut = length < oldSize ? try Self.read(fd, from: length, count: oldSize - length, base: base) : nil
            try append(
                .truncate(sequence: nextSequence(&s), path: path, oldSize: oldSize, newSize: length, cut: cut ?? []))
            try base.truncate(fd, to: length)
        }
    }

    public func size(_ fd: Int32) throws -> Int64 { try base.size(fd) }

    public func rename(_ from: String, to: String) throws {
        try state.withLock { s in
            let old = base.fileType(to) == .regular ? Self.readBytes(to, from: 0, count: Self.size(of: to)) : nil
            try append(.rename(sequence: nextSequence(&s), from: from, to: to, replaced: old))
            try base.rename(from, to: to)
        }
    }

    public func unlink(_ path: String) throws {
        try state.withLock { s in
            let bytes = Self.readBytes(path, from: 0, count: Self.size(of: path))
            try append(.unlink(sequence: nextSequence(&s), path: path, bytes: bytes))
            try base.unlink(path)
        }
    }

    public func makeDirectory(_ path: String, mode: mode_t) throws {
        try state.withLock { s in
            if base.fileType(path) == .missing { try append(.makeDirectory(sequence: nextSequence(&s), path: path)) }
            try base.makeDirectory(path, mode: mode)
        }
    }

    public func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }

    public func fileType(_ path: String) -> FileType { base.fileType(path) }

    // MARK: pre-images

    private static func read(_ fd: Int32, from position: Int64, count: Int64, base: any FileSystem) throws -> [UInt8]? {
        guard count > 0 else { return [] }
        guard count <= preImageBytesMax else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        let n = try bytes.withUnsafeMutableBytes { try base.read(fd, into: $0, at: position) }
        return Array(bytes[0..<n])
    }

    static func size(of path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// The bytes of a file (nil when too big to keep, or unreadable).
    static func readBytes(_ path: String, from position: Int64, count: Int64) -> [UInt8]? {
        guard count <= preImageBytesMax else { return nil }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        return try? read(fd, from: position, count: count, base: PosixFileSystem())
    }
}
