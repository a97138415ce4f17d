/// Kafka's variable-length integers: zigzag-encoded, then 7 bits per byte, least significant
/// group first, high bit set on every byte but the last (FORMAT.md, "Varints").
///
/// A "varint" holds an `Int32` in at most 5 bytes and a "varlong" an `Int64` in at most 10.
/// Decoding is bounded: it never reads past the buffer, rejects a varint longer than its maximum
/// and rejects bits that do not fit the type. Non-minimal encodings that stay within the maximum
/// length (such as `0x80 0x00` for 0) are accepted, as Kafka accepts them; Spool never writes them.
/// All functions are pure and safe to call from any thread.
public enum Varint {
    /// The longest varint (Int32): 5 bytes. FORMAT.md, "Varints".
    public static let int32MaxBytes = 5
    /// The longest varlong (Int64): 10 bytes. FORMAT.md, "Varints".
    public static let int64MaxBytes = 10

    // MARK: Sizes

    /// Bytes `encode(value, into:)` writes for an Int32.
    @inlinable
    public static func encodedSize(_ value: Int32) -> Int {
        unsignedSize(UInt64(zigzag(value)))
    }

    /// Bytes `encode(value, into:)` writes for an Int64.
    @inlinable
    public static func encodedSize(_ value: Int64) -> Int {
        unsignedSize(zigzag(value))
    }

    // MARK: Encoding

    /// Appends `value` as a zigzag varint (1-5 bytes).
    public static func encode(_ value: Int32, into out: inout [UInt8]) {
        appendUnsigned(UInt64(zigzag(value)), to: &out)
    }

    /// Appends `value` as a zigzag varlong (1-10 bytes).
    public static func encode(_ value: Int64, into out: inout [UInt8]) {
        appendUnsigned(zigzag(value), to: &out)
    }

    // MARK: Decoding

    /// Reads a zigzag varint starting at `index` and advances `index` past it.
    ///
    /// - Throws: `FormatError.truncated` when the buffer ends inside the varint (or `index` is at
    ///   or past its end), and `FormatError.malformedRecord` (index -1, the varint's position)
    ///   when it is longer than 5 bytes, does not fit an Int32, or `index` is negative.
    ///   `index` is left unchanged when it throws.
    public static func decodeInt32(_ bytes: UnsafeRawBufferPointer, at index: inout Int) throws(FormatError) -> Int32 {
        var reader = try reader(bytes, at: index)
        do throws(ByteReader.Failure) {
            let value = try reader.readVarint32()
            index = reader.position
            return value
        } catch {
            throw error.formatError(recordIndex: -1, positionBase: 0, available: bytes.count)
        }
    }

    /// Reads a zigzag varlong starting at `index` and advances `index` past it.
    ///
    /// - Throws: as `decodeInt32`, with a maximum of 10 bytes and the range of Int64.
    public static func decodeInt64(_ bytes: UnsafeRawBufferPointer, at index: inout Int) throws(FormatError) -> Int64 {
        var reader = try reader(bytes, at: index)
        do throws(ByteReader.Failure) {
            let value = try reader.readVarint64()
            index = reader.position
            return value
        } catch {
            throw error.formatError(recordIndex: -1, positionBase: 0, available: bytes.count)
        }
    }

    // MARK: Internals shared with the encoder and the reader

    private static func reader(_ bytes: UnsafeRawBufferPointer, at index: Int) throws(FormatError) -> ByteReader {
        guard index >= 0 else {
            throw .malformedRecord(index: -1, position: index, reason: "varint position is negative")
        }
        guard index < bytes.count else {
            throw .truncated(needed: index + 1, available: bytes.count)
        }
        return ByteReader(bytes, from: index, to: bytes.count)
    }

    @usableFromInline
    static func zigzag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    @usableFromInline
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    static func unzigzag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    @usableFromInline
    static func unsignedSize(_ value: UInt64) -> Int {
        // 1 byte per started group of 7 significant bits, at least 1.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    /// Writes `value` as unsigned LEB128 at `pointer` and returns the bytes written. The caller
    /// guarantees `unsignedSize(value)` writable bytes.
    static func store(_ value: UInt64, at pointer: UnsafeMutableRawPointer) -> Int {
        var v = value
        var count = 0
        while v >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: count, as: UInt8.self)
            v >>= 7
            count += 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: count, as: UInt8.self)
        return count + 1
    }

    private static func appendUnsigned(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }
}
