import Glibc
import Synchronization

/// A sparse index file mapped with mmap: fixed-size big-endian entries, appended by the writer
/// and read by binary search (FORMAT.md, "Offset index (.index)" and "Time index").
///
/// The file of an active segment is sized with `ftruncate` and its blocks allocated with
/// `posix_fallocate` before it is mapped (a store to an unbacked page on a full disk would be
/// SIGBUS); its used part ends at the first all-zero entry. A sealed segment's file is
/// trimmed to its entries. Indexes are derived data: ``OffsetIndex`` and ``TimeIndex`` check
/// what they load, and the log rebuilds them from the segment when they are wrong.
///
/// Thread-safety: one writer appends; any number of readers may look up concurrently. The
/// entry count is published with release/acquire ordering after the entry's bytes are stored.
final class MappedIndexFile: @unchecked Sendable {
    let path: String
    let entrySize: Int
    let capacity: Int
    private let base: UnsafeMutableRawPointer?
    private let mappedBytes: Int
    /// -1 for a read-only file: its mapping outlives the descriptor, which is closed at once so
    /// a reader of many sealed segments does not hold two descriptors per segment.
    private let fd: Int32
    private let fs: any FileSystem
    private let published = Atomic<Int>(0)

    /// Opens or creates `path` and maps room for `capacity` entries.
    ///
    /// - Parameter writable: false maps the file read-only at its current size.
    /// - Throws: `.diskFull` when a writable file's blocks cannot be allocated; `.io` if the
    ///   file cannot be opened, sized or mapped.
    init(path: String, entrySize: Int, capacity: Int, writable: Bool, fileSystem: any FileSystem) throws {
        precondition(entrySize > 0 && capacity >= 0)
        self.path = path
        self.entrySize = entrySize
        self.fs = fileSystem
        let fd = try fileSystem.open(path, flags: writable ? (O_RDWR | O_CREAT) : O_RDONLY, mode: 0o600)
        let existing: Int64
        let entries: Int
        do {
            existing = try fileSystem.size(fd)
            if writable && existing < Int64(capacity * entrySize) {
                try fileSystem.truncate(fd, to: Int64(capacity * entrySize))
            }
            entries = writable ? max(capacity, Int(existing) / entrySize) : Int(existing) / entrySize
            // A store to a mapped page the file system cannot back kills the process with
            // SIGBUS; allocating every block first turns a full disk into `.diskFull` here.
            if writable { try fileSystem.allocate(fd, at: 0, length: Int64(entries * entrySize)) }
        } catch {
            fileSystem.close(fd)
            throw error.with(path: path)
        }
        self.capacity = entries
        mappedBytes = entries * entrySize
        if mappedBytes > 0 {
            let prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
            let p = mmap(nil, mappedBytes, prot, MAP_SHARED, fd, 0)
            if p == MAP_FAILED {
                let code = errno
                fileSystem.close(fd)
                throw SpoolError.system("mmap", errno: code, path: path)
            }
            base = p
        } else {
            base = nil
        }
        if writable {
            self.fd = fd
        } else {
            fileSystem.close(fd)
            self.fd = -1
        }
    }

    deinit {
        if let base { munmap(base, mappedBytes) }
        if fd >= 0 { fs.close(fd) }
    }

    /// Entries visible to readers.
    var count: Int { published.load(ordering: .acquiring) }

    /// Raw bytes of entry `i` (i < capacity).
    func entry(_ i: Int) -> UnsafeRawBufferPointer {
        precondition(i >= 0 && i < capacity)
        return UnsafeRawBufferPointer(start: base! + i * entrySize, count: entrySize)
    }

    /// The first all-zero entry at or after `i` (or `capacity`): the end of a used or stale run.
    func firstZeroEntry(from i: Int) -> Int {
        var n = i
        while n < capacity, entry(n).contains(where: { $0 != 0 }) { n += 1 }
        return n
    }

    /// Writes entry `i` (the writer only) and publishes count = i + 1.
    func store(_ i: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(i >= 0 && i < capacity)
        body(UnsafeMutableRawBufferPointer(start: base! + i * entrySize, count: entrySize))
        published.store(i + 1, ordering: .releasing)
    }

    /// Sets the published count (after loading or truncating) and zeroes entries from it up to
    /// `clearingUpTo`, so the used part ends at a zero entry again.
    func setCount(_ n: Int, clearingUpTo end: Int) {
        precondition(n >= 0 && n <= capacity)
        if end > n, let base {
            (base + n * entrySize).initializeMemory(
                as: UInt8.self, repeating: 0, count: (min(end, capacity) - n) * entrySize)
        }
        published.store(n, ordering: .releasing)
    }

    /// Writes dirty pages back (msync) and fsyncs the file.
    func sync() throws {
        guard fd >= 0 else { return }  // read-only: nothing to write back
        if let base, msync(base, mappedBytes, MS_SYNC) != 0 {
            throw SpoolError.system("msync", errno: errno, path: path)
        }
        do { try fs.fsync(fd) } catch { throw error.with(path: path) }
    }

    /// Cuts the file to its published entries (a sealed segment keeps no preallocated space).
    func trimToCount() throws {
        let n = count
        guard fd >= 0 else { throw SpoolError(.invalidArgument, "a read-only index cannot be trimmed", path: path) }
        do { try fs.truncate(fd, to: Int64(n * entrySize)) } catch { throw error.with(path: path) }
    }
}
