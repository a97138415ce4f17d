import Glibc
import SpoolFormat

/// Read-only access to one segment file for the inspection tools (`spool dump`, `verify`):
/// walks its batches from the start, decoding and checking each, and says where and why the
/// valid data ends. It takes no lock and never writes, so it is safe on a live root (it reads
/// what the writer has written so far) and on a lone file copied from elsewhere.
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
        /// The decoded batch, or why it could not be decoded.
        public var batch: Result<RecordBatch, SpoolError>
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

    public let path: String
    /// The base offset in the file's name, when it is a 20-digit name.
    public let nameOffset: Int64?
    public let size: Int64
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

    /// Calls `body` for each batch from the start until the data ends or `body` returns false.
    /// A batch whose header cannot be parsed ends the walk (framing is lost after it); a batch
    /// whose CRC or records are bad is reported through `Entry.batch` and the walk goes on.
    /// - Throws: I/O errors only.
    @discardableResult
    public func forEachBatch(limits: FormatLimits = .default, _ body: (Entry) throws -> Bool) throws -> End {
        var position: Int64 = 0
        var expected: Int64? = nameOffset
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while position < size {
            let headerBytes = try read(&buffer, at: position, count: RecordBatchHeader.size)
            if headerBytes < RecordBatchHeader.size {
                let zeros = buffer[0..<headerBytes].allSatisfy { $0 == 0 }
                return try end(at: position, expected, problem: zeros ? nil : "\(headerBytes) bytes at the end are too short for a batch header", buffer: &buffer)
            }
            let header: RecordBatchHeader
            do {
                header = try buffer.withUnsafeBytes { raw in
                    try RecordBatchHeader.decode(UnsafeRawBufferPointer(rebasing: raw[0..<RecordBatchHeader.size]), limits: limits)
                }
            } catch {
                if buffer[0..<RecordBatchHeader.lengthFieldEnd].allSatisfy({ $0 == 0 }) {
                    return try end(at: position, expected, problem: nil, buffer: &buffer)
                }
                return try end(at: position, expected, problem: "\(error)", buffer: &buffer)
            }
            let total = header.totalBytes
            if position + Int64(total) > size {
                return try end(at: position, expected, problem: "batch of \(total) bytes runs past the end of the file (\(size) bytes)", buffer: &buffer)
            }
            if buffer.count < total { buffer = [UInt8](repeating: 0, count: total) }
            _ = try read(&buffer, at: position, count: total)
            let entry = buffer.withUnsafeBytes { raw -> Entry in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<total])
                let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart...]))
                let batch: Result<RecordBatch, SpoolError>
                do {
                    batch = .success(try RecordBatchDecoder.decode(bytes, limits: limits, context: decompression))
                } catch {
                    batch = .failure(SpoolError.corruption(error, path: path, segment: nameOffset, position: position, offset: header.baseOffset))
                }
                return Entry(position: position, header: header, computedCRC: crc, expectedOffset: expected, batch: batch)
            }
            expected = header.nextOffset
            if try !body(entry) { return End(position: position + Int64(total), nextOffset: expected, problem: nil, trailingBytes: size - position - Int64(total)) }
            position += Int64(total)
        }
        return End(position: position, nextOffset: expected, problem: nil, trailingBytes: 0)
    }

    private func read(_ buffer: inout [UInt8], at position: Int64, count: Int) throws -> Int {
        if buffer.count < count { buffer = [UInt8](repeating: 0, count: count) }
        return try buffer.withUnsafeMutableBytes { raw in
            try fs.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), at: position)
        }
    }

    /// The end of the walk at `position`: a clean end when everything after is zero.
    private func end(at position: Int64, _ next: Int64?, problem: String?, buffer: inout [UInt8]) throws -> End {
        var problem = problem
        if problem == nil {
            // Zero header: the rest must be zero too, or something was written past a hole.
            var p = position
            while p < size {
                let n = try read(&buffer, at: p, count: Int(min(Int64(buffer.count), size - p)))
                if n == 0 { break }
                if let i = buffer[0..<n].firstIndex(where: { $0 != 0 }) {
                    problem = "non-zero bytes at position \(p + Int64(i)) after zero-filled space at \(position)"
                    break
                }
                p += Int64(n)
            }
        }
        return End(position: position, nextOffset: next, problem: problem, trailingBytes: size - position)
    }
}
