import Glibc
import Spool
import SpoolFormat

/// Damages real files in place, the way a crash, a bad disk or a careless operator would:
/// flip one bit, overwrite, truncate, append garbage, zero a range. Every corruption in the
/// test suites is made with these (on files the engine wrote, or on bytes in memory, below),
/// never with hand-edited fixtures. The one copy for every test target (SpoolTesting).
public enum ByteMutator {
    /// Flips bit `bit` (0 = least significant) of the byte at `position`.
    public static func flipBit(_ path: String, at position: Int64, bit: Int = 0) throws {
        precondition((0..<8).contains(bit))
        var byte = try read(path, position..<position + 1)
        precondition(byte.count == 1, "flipBit past the end of \(path)")
        byte[0] ^= UInt8(1) << UInt8(bit)
        try overwrite(path, at: position, with: byte)
    }

    /// Writes `bytes` at `position` (extending the file when it is past the end).
    public static func overwrite(_ path: String, at position: Int64, with bytes: [UInt8]) throws {
        try withFile(path, O_WRONLY) { fd in
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { raw in
                    pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(position) + off_t(done))
                }
                if n < 0 { throw SpoolError(.io, "pwrite failed", path: path, errno: errno) }
                done += n
            }
        }
    }

    /// Cuts the file to `length` bytes.
    public static func truncate(_ path: String, to length: Int64) throws {
        try withFile(path, O_WRONLY) { fd in
            if ftruncate(fd, off_t(length)) != 0 { throw SpoolError(.io, "ftruncate failed", path: path, errno: errno) }
        }
    }

    /// Appends `bytes` at the end of the file.
    public static func append(_ path: String, _ bytes: [UInt8]) throws {
        try overwrite(path, at: Files.size(path), with: bytes)
    }

    /// Overwrites `range` with zero bytes.
    public static func zero(_ path: String, _ range: Range<Int64>) throws {
        try overwrite(path, at: range.lowerBound, with: [UInt8](repeating: 0, count: Int(range.count)))
    }

    /// Sets a big-endian Int32 at `position` (a batch's length field, for instance).
    public static func setInt32(_ path: String, at position: Int64, _ value: Int32) throws {
        let v = UInt32(bitPattern: value)
        try overwrite(
            path, at: position,
            with: [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
    }

    /// The bytes of `range` (fewer at the end of the file).
    public static func read(_ path: String, _ range: Range<Int64>) throws -> [UInt8] {
        try withFile(path, O_RDONLY) { fd in
            var bytes = [UInt8](repeating: 0, count: Int(range.count))
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeMutableBytes { raw in
                    pread(fd, raw.baseAddress! + done, raw.count - done, off_t(range.lowerBound) + off_t(done))
                }
                if n < 0 { throw SpoolError(.io, "pread failed", path: path, errno: errno) }
                if n == 0 { break }
                done += n
            }
            return Array(bytes[0..<done])
        }
    }

    private static func withFile<T>(_ path: String, _ flags: Int32, _ body: (Int32) throws -> T) throws -> T {
        let fd = open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError(.io, "open failed", path: path, errno: errno) }
        defer { close(fd) }
        return try body(fd)
    }
}

// MARK: Bytes in memory

/// The same damage made to bytes in memory (the format tests' batches): each function returns
/// a changed copy.
extension ByteMutator {
    public static func flipBit(_ bytes: [UInt8], at position: Int, bit: Int) -> [UInt8] {
        var copy = bytes
        copy[position] ^= UInt8(1) << UInt8(bit & 7)
        return copy
    }

    public static func overwrite(_ bytes: [UInt8], at position: Int, with replacement: [UInt8]) -> [UInt8] {
        var copy = bytes
        copy.replaceSubrange(position..<(position + replacement.count), with: replacement)
        return copy
    }

    public static func truncate(_ bytes: [UInt8], to count: Int) -> [UInt8] {
        Array(bytes.prefix(count))
    }

    public static func extend(_ bytes: [UInt8], with tail: [UInt8]) -> [UInt8] {
        bytes + tail
    }

    /// Stores `value` big-endian at `position` (a header field).
    public static func setBigEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at position: Int, _ value: T) -> [UInt8] {
        var copy = bytes
        withUnsafeBytes(of: value.bigEndian) { copy.replaceSubrange(position..<(position + $0.count), with: $0) }
        return copy
    }

    /// Recomputes the CRC of the batch at the start of `bytes` over 21..<end (end from its own
    /// batchLength, clamped to the bytes present), so a mutation reaches the checks after the CRC.
    public static func reseal(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= RecordBatchHeader.size else { return bytes }
        let length = bytes[8..<12].reduce(0) { Int($0) << 8 | Int($1) }
        let end = min(max(12 + Int(Int32(truncatingIfNeeded: length)), RecordBatchHeader.crcCoverageStart), bytes.count)
        let crc = bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcCoverageStart..<end]))
        }
        return setBigEndian(bytes, at: RecordBatchHeader.crcPosition, crc)
    }
}
