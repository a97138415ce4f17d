import Glibc

/// The seam through which the engine touches the file system. Production uses
/// ``PosixFileSystem``; tests and drills wrap it (the fault-injecting and power-cut file
/// systems of the SpoolTesting target, never shipped in this library) to inject ENOSPC, EIO,
/// lost writes and power cuts without replacing the engine.
///
/// Every method throws ``SpoolError`` with `errno` set; the engine adds the path and position.
/// Implementations must be thread-safe: the writer thread and readers call them concurrently.
public protocol FileSystem: Sendable {
    /// open(2). Returns a file descriptor.
    func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32
    func close(_ fd: Int32)
    /// pread(2), repeated until `buffer` is full or end of file. Returns the bytes read.
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int
    /// pwrite(2), repeated until every byte is written.
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws
    func fdatasync(_ fd: Int32) throws
    func fsync(_ fd: Int32) throws
    func truncate(_ fd: Int32, to length: Int64) throws
    /// The file's size in bytes (fstat).
    func size(_ fd: Int32) throws -> Int64
    func rename(_ from: String, to: String) throws
    func unlink(_ path: String) throws
    /// mkdir(2); an existing directory is not an error.
    func makeDirectory(_ path: String, mode: mode_t) throws
    /// Names in a directory, without "." and "..".
    func listDirectory(_ path: String) throws -> [String]
    /// Whether `path` exists, and whether it is a directory.
    func fileType(_ path: String) -> FileType
    /// posix_fallocate(3): gives `length` bytes from `position` real blocks, so that stores
    /// through an mmap of them cannot fault (SIGBUS) for want of space later. Throws
    /// `.diskFull` when the file system has no room.
    func allocate(_ fd: Int32, at position: Int64, length: Int64) throws
    /// This file system with paths below root `path` resolved beneath the root's directory
    /// descriptor, refusing links and escapes on the way (``PosixFileSystem``). Wrappers
    /// forward it (SpoolTesting's test file systems do), so tests and drills run confined
    /// too; the default returns `self`, resolving by path.
    /// - Throws: errno errors naming `path` when it cannot be opened as a directory.
    func confined(toRoot path: String) throws -> any FileSystem
}

extension FileSystem {
    public func confined(toRoot path: String) throws -> any FileSystem { self }

    /// posix_fallocate on the descriptor itself: allocating blocks inside the file's size
    /// changes none of its bytes, so wrappers that only journal changes need not see it.
    public func allocate(_ fd: Int32, at position: Int64, length: Int64) throws {
        guard length > 0 else { return }
        var code: Int32 = EINTR
        // Bounded: EINTR is retried at most a few times.
        for _ in 0..<8 where code == EINTR { code = posix_fallocate(fd, off_t(position), off_t(length)) }
        if code != 0 { throw SpoolError.system("posix_fallocate", errno: code).with(position: position) }
    }
}

/// What is at a path.
public enum FileType: Sendable, Equatable {
    case missing, regular, directory, other
}

extension FileSystem {
    /// Opens a directory and fsyncs it, so that a create, rename or unlink inside it is durable.
    public func syncDirectory(_ path: String) throws {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY, mode: 0)
        defer { close(fd) }
        do {
            try fsync(fd)
        } catch {
            throw error.with(path: path)
        }
    }

    /// Creates directory `path` when it is missing and makes its entry durable by fsyncing
    /// its parent (POSIX: a new directory survives a power cut only once its parent is
    /// synced). The parent is synced even when `path` already existed, because a crash
    /// between an earlier mkdir and its sync leaves a directory whose entry may still be lost.
    /// Call it before anything written inside `path` is acknowledged.
    /// - Throws: ``SpoolError`` naming the directory that could not be made or synced.
    public func makeDurableDirectory(_ path: String, mode: mode_t = 0o700) throws {
        try makeDirectory(path, mode: mode)
        try syncDirectory(parentDirectory(of: path))
    }
}

/// The directory holding `path`, as a string ("." for a bare name, "/" for a top-level
/// entry). The power-cut model matches directory syncs to entries by this same rule, so the
/// engine must name a parent exactly this way when it syncs one.
public func parentDirectory(of path: String) -> String {
    var path = Substring(path)
    while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
