import Glibc

/// Headroom for the compactor on a nearly full disk: a file of zeros,
/// `<root>/compaction-reserve`, of ``SpoolOptions/compactionReserveBytes``. When a rewrite
/// finds the disk full, the compactor deletes the file, so the space it held takes the rewrite
/// (deletions of acked and expired segments need no space and run first), and makes it again
/// once a pass ends. Writers never use it: they fail with `.diskFull` naming their file.
///
/// Not thread-safe: used by the compactor's serialized passes.
struct DiskReserve {
    static let fileName = "compaction-reserve"
    static let chunkBytes = 1 << 20

    let path: String
    let bytes: Int
    let fileSystem: any FileSystem

    init(root: String, options: SpoolOptions) {
        path = RootLayout.path(root, Self.fileName)
        bytes = options.compactionReserveBytes
        fileSystem = options.fileSystem
    }

    /// Makes the file `bytes` long (zeros written, so the blocks are really taken), when it is
    /// shorter. On a full disk it keeps what it could write.
    /// - Throws: I/O errors other than a full disk, naming the file.
    func ensure() throws {
        guard bytes > 0 else { return }
        let fd = try fileSystem.open(path, flags: O_WRONLY | O_CREAT, mode: 0o600)
        defer { fileSystem.close(fd) }
        var size = try fileSystem.size(fd)
        guard size < Int64(bytes) else { return }
        let zeros = [UInt8](repeating: 0, count: Self.chunkBytes)
        do {
            // Bounded: each round writes up to a chunk until the size is reached.
            while size < Int64(bytes) {
                let n = Int(min(Int64(zeros.count), Int64(bytes) - size))
                try zeros.withUnsafeBytes {
                    try fileSystem.write(fd, from: UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: size)
                }
                size += Int64(n)
            }
            try fileSystem.fsync(fd)
        } catch let error as SpoolError where error.code == .diskFull {
            try? fileSystem.truncate(fd, to: size)
        } catch {
            throw error.with(path: path)
        }
    }

    /// Deletes the file, giving its space back. Returns whether there was one.
    func release() -> Bool {
        guard fileSystem.fileType(path) == .regular else { return false }
        return (try? fileSystem.unlink(path)) != nil
    }
}
