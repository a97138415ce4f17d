import Glibc

/// The one way a segment is cut (FORMAT.md, "Recovery" and "Repair"; DESIGN.md: a torn tail
/// is truncated and kept as `.broken`). Recovery cuts a torn tail with it, repair a damaged
/// one. In order:
///
/// 1. copy the bytes from the cut on to `<stem>.<position>.broken.tmp`, `fsync` it, rename it
///    to `.broken` and sync the directory (never over an earlier cut's file);
/// 2. truncate the segment at the cut and `fsync` it.
///
/// A crash in step 1 leaves a `.tmp` (deleted at the next open) and the segment whole; after
/// it, the bytes are kept before any is cut. Stateless; thread-safe for different segments.
enum TailCutter {
    /// Copies are made this many bytes at a time (bounded memory, whatever the tail's size).
    static let copyChunkBytes = 1 << 20
    /// Names tried for a `.broken` file before giving up on a fresh one.
    static let brokenNamesMax = 10_000

    /// The file a cut of `logPath` at `position` keeps its bytes in: `<stem>.<position>.broken`,
    /// or `<stem>.<position>.<n>.broken` when an earlier cut at the same position took it.
    static func brokenPath(of logPath: String, at position: Int64, fileSystem fs: any FileSystem) -> String {
        let stem = String(logPath.dropLast(RootLayout.logSuffix.count)) + ".\(position)"
        var path = stem + RootLayout.brokenSuffix
        var copy = 1
        while fs.fileType(path) != .missing && copy < brokenNamesMax {
            path = stem + ".\(copy)" + RootLayout.brokenSuffix
            copy += 1
        }
        return path
    }

    /// Keeps bytes `[position, end)` of the segment open as `fd` in `broken`, then truncates
    /// the segment at `position`. Returns the number of bytes kept.
    /// - Throws: I/O errors naming the segment or the `.broken` file and the position.
    @discardableResult
    static func cut(
        fd: Int32, logPath: String, directory: String, at position: Int64, through end: Int64,
        keepingIn broken: String, fileSystem fs: any FileSystem
    ) throws -> Int64 {
        precondition(position >= 0, "a cut is at a position inside the segment")
        let temporary = broken + RootLayout.temporarySuffix
        let kept = try copy(
            from: fd, path: logPath, range: position..<max(end, position), to: temporary, fileSystem: fs)
        try fs.rename(temporary, to: broken)
        try fs.syncDirectory(directory)
        do {
            try fs.truncate(fd, to: position)
            try fs.fsync(fd)
        } catch {
            throw error.with(path: logPath, position: position)
        }
        return kept
    }

    /// Copies bytes `range` of `fd` into a new file `target` (0600, synced), in chunks.
    /// Returns the bytes copied (fewer when the file ends first).
    /// - Throws: I/O errors naming the source or the target.
    @discardableResult
    static func copy(
        from fd: Int32, path: String, range: Range<Int64>, to target: String, fileSystem fs: any FileSystem
    ) throws -> Int64 {
        let out = try fs.open(target, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        defer { fs.close(out) }
        var buffer = [UInt8](repeating: 0, count: Int(min(Int64(copyChunkBytes), max(Int64(range.count), 1))))
        var position = range.lowerBound
        while position < range.upperBound {
            let want = Int(min(Int64(buffer.count), range.upperBound - position))
            let got = try buffer.withUnsafeMutableBytes { raw in
                do {
                    return try fs.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
                } catch {
                    throw error.with(path: path, position: position)
                }
            }
            if got == 0 { break }
            try buffer.withUnsafeBytes { raw in
                do {
                    try fs.write(
                        out, from: UnsafeRawBufferPointer(rebasing: raw[0..<got]), at: position - range.lowerBound)
                } catch {
                    throw error.with(path: target, position: position - range.lowerBound)
                }
            }
            position += Int64(got)
        }
        do { try fs.fsync(out) } catch { throw error.with(path: target) }
        return position - range.lowerBound
    }
}
