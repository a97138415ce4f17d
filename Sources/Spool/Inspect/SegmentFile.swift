import Glibc
import SpoolFormat

/// Read-only access to one segment file for the inspection tools (`spool dump`, `verify`,
/// `tail`): walks its batches from a position, checking each, and says where and why the
/// valid data ends. It takes no lock and never writes, so it is safe on a live root (it reads
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
        decompression = DecompressionContext(dictionaries: DictionaryStore(queueDirectory: directory, fileSystem: fileSystem).lookup)
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
    ///   - decode: false checks header and CRC only (verify's fast path); `Entry.batch` is nil.
    /// - Throws: I/O errors only.
    @discardableResult
    public func forEachBatch(
        from start: Int64 = 0, expectedOffset: Int64? = nil, limits: FormatLimits = .default, decode: Bool = true,
        _ body: (Entry) throws -> Bool
    ) throws -> End {
        var position = start
        var expected: Int64? = expectedOffset ?? (start == 0 ? nameOffset : nil)
        var buffer = [UInt8](repeating: 0, count: Int(min(Int64(Self.chunkBytes), max(size - start, Int64(RecordBatchHeader.size)))))
        var bufferStart = start, bufferCount = 0
        while position < size {
            if position + Int64(RecordBatchHeader.size) > bufferStart + Int64(bufferCount) {
                try fill(&buffer, &bufferStart, &bufferCount, from: position)
            }
            let available = Int(bufferStart + Int64(bufferCount) - position)
            var local = Int(position - bufferStart)
            if available < RecordBatchHeader.size {
                let zeros = buffer[local..<local + available].allSatisfy { $0 == 0 }
                return try end(at: position, expected, problem: zeros ? nil : "\(available) bytes at the end are too short for a batch header")
            }
            let header: RecordBatchHeader
            do {
                header = try buffer.withUnsafeBytes { raw in
                    try RecordBatchHeader.decode(UnsafeRawBufferPointer(rebasing: raw[local..<local + RecordBatchHeader.size]), limits: limits)
                }
            } catch {
                if buffer[local..<local + RecordBatchHeader.lengthFieldEnd].allSatisfy({ $0 == 0 }) {
                    return try end(at: position, expected, problem: nil)
                }
                return try end(at: position, expected, problem: "\(error)")
            }
            let total = header.totalBytes
            if position + Int64(total) > size {
                return try end(at: position, expected, problem: "batch of \(total) bytes runs past the end of the file (\(size) bytes)")
            }
            if position + Int64(total) > bufferStart + Int64(bufferCount) {
                if total > buffer.count { buffer = [UInt8](repeating: 0, count: total) }
                try fill(&buffer, &bufferStart, &bufferCount, from: position)
                local = 0
                if bufferCount < total {
                    return try end(at: position, expected, problem: "the file shrank while it was read")
                }
            }
            let entry = buffer.withUnsafeBytes { raw -> Entry in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[local..<local + total])
                let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart...]))
                var batch: Result<RecordBatch, SpoolError>? = nil
                if decode {
                    do {
                        batch = .success(try RecordBatchDecoder.decode(bytes, limits: limits, context: decompression))
                    } catch {
                        batch = .failure(SpoolError.corruption(error, path: path, segment: nameOffset, position: position, offset: header.baseOffset))
                    }
                }
                return Entry(position: position, header: header, computedCRC: crc, expectedOffset: expected, batch: batch)
            }
            expected = header.nextOffset
            if try !body(entry) { return End(position: position + Int64(total), nextOffset: expected, problem: nil, trailingBytes: size - position - Int64(total)) }
            position += Int64(total)
        }
        return End(position: position, nextOffset: expected, problem: nil, trailingBytes: 0)
    }

    /// The batch header at `position`, or nil when the bytes there are not one.
    /// - Throws: I/O errors.
    public func header(at position: Int64, limits: FormatLimits = .default) throws -> RecordBatchHeader? {
        var bytes = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        let got = try bytes.withUnsafeMutableBytes { raw in
            do { return try fs.read(fd, into: raw, at: position) } catch { throw error.with(path: path, position: position) }
        }
        guard got == RecordBatchHeader.size else { return nil }
        return try? bytes.withUnsafeBytes { try RecordBatchHeader.decode($0, limits: limits) }
    }

    /// The whole batch at `position` (whose header is `header`), for a look at one batch.
    /// - Throws: I/O errors; `.corruption` when fewer bytes are there than the header says.
    public func batchBytes(at position: Int64, header: RecordBatchHeader) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: header.totalBytes)
        let got = try bytes.withUnsafeMutableBytes { raw in
            do { return try fs.read(fd, into: raw, at: position) } catch { throw error.with(path: path, position: position) }
        }
        guard got == bytes.count else {
            throw SpoolError(.corruption, "batch of \(header.totalBytes) bytes runs past the end of the file", path: path, position: position, offset: header.baseOffset)
        }
        return bytes
    }

    private func fill(_ buffer: inout [UInt8], _ bufferStart: inout Int64, _ bufferCount: inout Int, from position: Int64) throws {
        let want = Int(min(Int64(buffer.count), size - position))
        let got = try buffer.withUnsafeMutableBytes { raw in
            do {
                return try fs.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
            } catch {
                throw error.with(path: path, position: position)
            }
        }
        bufferStart = position
        bufferCount = got
    }

    /// The end of the walk at `position`: a clean end when everything after is zero, or when a
    /// recycled segment's end marker stands there (its old bytes follow; FORMAT.md, "Recycled
    /// segments").
    private func end(at position: Int64, _ next: Int64?, problem: String?) throws -> End {
        var problem = problem
        if problem == nil, let base = nameOffset, try RecycledSpace.hasMarker(fd: fd, at: position, base: base, fileSystem: fs) {
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
        var buffer = [UInt8](repeating: 0, count: Int(min(Int64(1 << 20), max(size - from, 1))))
        var position = from
        var last: Int64? = nil
        while position < size {
            let want = Int(min(Int64(buffer.count), size - position))
            let got = try buffer.withUnsafeMutableBytes { raw in
                try fs.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
            }
            if got == 0 { break }
            if let i = buffer[0..<got].lastIndex(where: { $0 != 0 }) { last = position + Int64(i) + 1 }
            position += Int64(got)
        }
        return last
    }
}
