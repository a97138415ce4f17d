import SpoolFormat

/// Byte-level damage made in code, so every corrupt case is reproducible and reviewable
/// (never a hand-edited file). Each function returns a changed copy.
enum ByteMutator {
    static func flipBit(_ bytes: [UInt8], at position: Int, bit: Int) -> [UInt8] {
        var copy = bytes
        copy[position] ^= UInt8(1) << UInt8(bit & 7)
        return copy
    }

    static func overwrite(_ bytes: [UInt8], at position: Int, with replacement: [UInt8]) -> [UInt8] {
        var copy = bytes
        copy.replaceSubrange(position..<(position + replacement.count), with: replacement)
        return copy
    }

    static func truncate(_ bytes: [UInt8], to count: Int) -> [UInt8] {
        Array(bytes.prefix(count))
    }

    static func extend(_ bytes: [UInt8], with tail: [UInt8]) -> [UInt8] {
        bytes + tail
    }

    /// Stores `value` big-endian at `position` (a header field).
    static func setBigEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at position: Int, _ value: T) -> [UInt8] {
        var copy = bytes
        withUnsafeBytes(of: value.bigEndian) { copy.replaceSubrange(position..<(position + $0.count), with: $0) }
        return copy
    }

    /// Recomputes the CRC of the batch at the start of `bytes` over 21..<end (end from its own
    /// batchLength, clamped to the bytes present), so a mutation reaches the checks after the CRC.
    static func reseal(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= RecordBatchHeader.size else { return bytes }
        let length = bytes[8..<12].reduce(0) { Int($0) << 8 | Int($1) }
        let end = min(max(12 + Int(Int32(truncatingIfNeeded: length)), RecordBatchHeader.crcCoverageStart), bytes.count)
        let crc = bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcCoverageStart..<end]))
        }
        return setBigEndian(bytes, at: RecordBatchHeader.crcPosition, crc)
    }
}
