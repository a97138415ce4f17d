import Glibc

/// Replaces a small file atomically: write `<path>.tmp`, fsync it, rename it over `path`,
/// fsync the directory (FORMAT.md, "Atomic files"). A crash at any step leaves either the old
/// file or the new one; a leftover `.tmp` is removed by the next open.
///
/// Public so that the `spool` command writes its reports the same way. Stateless; thread-safe
/// for different paths.
public enum AtomicFile {

    /// Writes `bytes` to `path` atomically.
    ///
    /// - Parameters:
    ///   - bytes: the file's whole new content.
    ///   - path: the file to replace (or create).
    ///   - directory: the directory holding `path`, fsynced after the rename.
    ///   - durable: when false, skips both fsyncs. Use it only for files whose loss or
    ///     emptiness after a power cut is harmless because an older true value remains usable
    ///     (the recovery point between seals; see DESIGN.md, "Recovery and compaction").
    ///   - mode: the new file's permissions; 0600 (the engine's files) unless given.
    ///   - fs: the file system to write through (fault injection in tests).
    /// - Throws: ``SpoolError`` naming the file.
    public static func write(
        _ bytes: [UInt8], to path: String, directory: String, durable: Bool, mode: mode_t = 0o600,
        fileSystem fs: any FileSystem = PosixFileSystem()
    ) throws {
        let temporary = path + RootLayout.temporarySuffix
        let fd = try fs.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try bytes.withUnsafeBytes { (buffer) in try fs.write(fd, from: buffer, at: 0) }
            if durable { try fs.fsync(fd) }
        } catch {
            fs.close(fd)
            throw error.with(path: temporary)
        }
        fs.close(fd)
        try fs.rename(temporary, to: path)
        if durable { try fs.syncDirectory(directory) }
    }

    /// Reads a whole small file, at most `limit` bytes; nil if it does not exist.
    static func read(_ path: String, limit: Int, fileSystem fs: any FileSystem) throws -> [UInt8]? {
        let fd: Int32
        do {
            fd = try fs.open(path, flags: O_RDONLY, mode: 0)
        } catch let error as SpoolError where error.code == .notFound {
            return nil
        }
        defer { fs.close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        let n = try bytes.withUnsafeMutableBytes { (buffer) in try fs.read(fd, into: buffer, at: 0) }
        return Array(bytes[0..<n])
    }
}
