import Glibc

/// The seam through which the engine touches the file system. Production uses
/// ``PosixFileSystem``; tests and drills wrap it (``FaultInjectingFileSystem``) to inject
/// ENOSPC, EIO and lost writes without replacing the engine.
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
}
