import Glibc
import SpoolFormat

/// Read-only access to one segment file for the inspection tools (`spool dump`, `verify`,
/// `tail`): their policy over `BatchWalker`. It walks the batches from a position, reports
/// each one's CRC and offset (and goes on past a bad one), and says where and why the valid
/// data ends. It takes no lock and never writes, so it is safe on a live root (it reads
/// what the writer has written so far) and on a lone file copied from elsewhere.
///
/// Reads with pread in chunks of `chunkBytes` (never mmap: a writer may truncate the file
/// under a mapping, which would raise SIGBUS), and checks each CRC in the buffer, so a walk
/// costs one copy from the page cache plus the hardware CRC.
///
/// Not thread-safe; open one per thread.
public final class SegmentFile {
    /// One batch as found on disk.
    public struct Entry: Sendable {
        public var position: Int64
        public var header: RecordBatchHeader
        /// CRC-32C computed over the batch (compare with `header.crc`).
        public var computedCRC: UInt32
        /// The offset this batch should start at (the previous batch's next offset, or the
        /// file name's base offset); nil when unknown. A mismatch is an offset gap or overlap.
        public var expectedOffset: Int64?
        /// The decoded batch, or why it could not be decoded; nil when the walk was asked not
        /// to decode (`decode: false`: header and CRC only).
        public var batch: Result<RecordBatch, SpoolError>?

        public var crcOK: Bool { computedCRC == header.crc }
    }

    /// Where the walk ended.
    public struct End: Sendable, Equatable {
        public var position: Int64
        public var nextOffset: Int64?
        /// nil for a clean end (end of file, or zero-filled preallocated space).
        public var problem: String?
        /// Bytes after `position` up to the file's size (zero-filled space or damage).
        public var trailingBytes: Int64
    }

    /// Bytes read at a time.
    public static let chunkBytes = 4 << 20

    public let path: String
    /// The base offset in the file's name, when it is a 20-digit name.
    public let nameOffset: Int64?
    /// The file's size when opened, or at the last ``refreshSize()``.
    public private(set) var size: Int64
    private let fd: Int32
    private let fs: any FileSystem
    /// Decompression state reused from batch to batch; zstd dictionaries come from the
    /// segment's queue directory (FORMAT.md, "Zstd dictionaries").
    private let decompression: DecompressionContext

    /// - Throws: `.notFound`, `.io` naming the path; `.invalidArgument` for a directory.
    public init(path: String, fileSystem: any FileSystem = PosixFileSystem()) throws {
        self.path = path
        self.fs = fileSystem
        if fileSystem.fileType(path) == .directory {
            throw SpoolError(.invalidArgument, "is a directory, not a segment file", path: path)
        }
        fd = try fileSystem.open(path, flags: O_RDONLY, mode: 0)
        do {
            size = try fileSystem.size(fd)
        } catch {
            fileSystem.close(fd)
            throw error.with(path: path)
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        nameOffset = SegmentName.parseLog(name)
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        decompression = DecompressionContext(
            dictionaries: DictionaryStore(queueDirectory: directory, fileSystem: fileSystem).lookup)
    }

    deinit { fs.close(fd) }

    /// Reads the file's size again (a writer may have appended since).
    /// - Throws: `.io` naming the path.
    public func refreshSize() throws {
        do { size = try fs.size(fd) } catch { throw error.with(path: path) }
    }

    /// Calls `body` for each batch from `start` until the data ends or `body` returns false.
    /// A batch whose header cannot be parsed ends the walk (framing is lost after it); a batch
    /// whose CRC or records are bad is reported through `Entry` and the walk goes on.
    ///
    /// - Parameters:
    ///   - start: a batch boundary (0, or a position from an index entry or an earlier walk).
    ///   - expectedOffset: the offset of the batch at `start`; by default the name's base offset
    ///     when `start` is 0.
    ///   - limits: the bounds headers and records are decoded against.
    ///   - decode: false checks header and CRC only (verify's fast path); `Entry.batch` is nil.
    ///   - body: called with each batch in order; returning false ends the walk after it.
    /// - Returns: where the walk ended, and why when it was not the clean end of the data.
    /// - Throws: I/O errors, and what `body` throws.
    @discardableResult
    public func forEachBatch(
        from start: Int64 = 0, expectedOffset: Int64? = nil, limits: FormatLimits = .default, decode: Bool = true,
        _ body: (Entry) throws -> Bool
    ) throws -> End {
        var expected: Int64? = expectedOffset ?? (start == 0 ? nameOffset : nil)
        var walker = BatchWalker(fileSystem: fs, fd: fd, path: path, headerLimits: limits)
        walker.chunkBytes = Self.chunkBytes
        var declinedEnd: Int64? = nil
        let outcome = try walker.walk(from: start, limit: size) { batch in
            let entry = self.entry(batch, expected: expected, limits: limits, decode: decode)
            expected = batch.header.nextOffset
            if try !body(entry) { declinedEnd = batch.end }
            return declinedEnd == nil
        }
        switch outcome.stop {
        case .endOfData:
            return End(position: outcome.end, nextOffset: expected, problem: nil, trailingBytes: 0)
        case .declined:
            let end = declinedEnd ?? outcome.end
            return End(position: end, nextOffset: expected, problem: nil, trailingBytes: size - end)
        case .zeros:
            return try self.end(at: outcome.end, expected, problem: nil)
        case .runsPastEnd(let total):
            return try self.end(
                at: outcome.end, expected,
                problem: "batch of \(total) bytes runs past the end of the file (\(size) bytes)")
        default:
            return try self.end(at: outcome.end, expected, problem: outcome.stop.reason(limit: size))
        }
    }

    /// The entry for one framed batch: its CRC, and its records when asked to decode.
    private func entry(_ batch: BatchWalker.Batch, expected: Int64?, limits: FormatLimits, decode: Bool) -> Entry {
        var decoded: Result<RecordBatch, SpoolError>? = nil
        if decode {
            do {
                decoded = .success(try RecordBatchDecoder.decode(batch.bytes, limits: limits, context: decompression))
            } catch {
                decoded = .failure(
                    SpoolError.corruption(
                        error, path: path, segment: nameOffset, position: batch.position,
                        offset: batch.header.baseOffset))
            }
        }
        return Entry(
            position: batch.position, header: batch.header, computedCRC: batch.computedCRC, expectedOffset: expected,
            batch: decoded)
    }

    /// The batch header at `position`, or nil when the bytes there are not one.
    /// - Throws: I/O errors.
    public func header(at position: Int64, limits: FormatLimits = .default) throws -> RecordBatchHeader? {
        var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        let got = try bytes.withUnsafeMutableBytes { raw in
            do { return try fs.read(fd, into: raw, at: position) } catch {
                throw error.with(path: path, position: position)
            }
        }
        guard got == RecordBatchHeader.size else { return nil }
        return try? bytes.withUnsafeBytes { try RecordBatchHeader.decode($0, limits: limits) }
    }

    /// The whole batch at `position` (whose header is `header`), for a look at one batch.
    /// - Throws: I/O errors; `.corruption` when fewer bytes are there than the header says.
    public func batchBytes(at position: Int64, header: RecordBatchHeader) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: header.totalBytes)
        let got = try bytes.withUnsafeMutableBytes { raw in
            do { return try fs.read(fd, into: raw, at: position) } catch {
                throw error.with(path: path, position: position)
            }
        }
        guard got == bytes.count else {
            throw SpoolError(
                .corruption, "batch of \(header.totalBytes) bytes runs past the end of the file", path: path,
                position: position, offset: header.baseOffset)
        }
        return bytes
    }

    /// The end of the walk at `position`: a clean end when everything after is zero, or when a
    /// recycled segment's end marker stands there (its old bytes follow; FORMAT.md, "Recycled
    /// segments").
    private func end(at position: Int64, _ next: Int64?, problem: String?) throws -> End {
        var problem = problem
        if problem == nil, let base = nameOffset,
            try RecycledSpace.hasMarker(fd: fd, at: position, base: base, fileSystem: fs)
        {
            return End(position: position, nextOffset: next, problem: nil, trailingBytes: size - position)
        }
        if problem == nil, let last = try lastNonZero(from: position) {
            problem = "non-zero bytes up to position \(last) after zero-filled space at \(position)"
        }
        return End(position: position, nextOffset: next, problem: problem, trailingBytes: size - position)
    }

    /// The position just after the last non-zero byte at or after `from`; nil when all are zero.
    /// - Throws: I/O errors.
    public func lastNonZero(from: Int64) throws -> Int64? {
        try BatchWalker(fileSystem: fs, fd: fd, path: path, headerLimits: .default).lastNonZero(from: from, to: size)
    }
}
