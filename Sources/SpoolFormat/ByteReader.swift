/// A bounds-checked cursor over untrusted bytes: every read checks `position` against `end`
/// before touching memory, and varint reads are capped at their maximum length
/// (FORMAT.md, "Varints"). It is the only way the decoders look at batch bytes.
///
/// A value type over borrowed memory: it must not outlive the buffer it reads, and it is used by
/// one thread at a time.
struct ByteReader {
    /// Why a read failed, with the position where the failing item started.
    enum Failure: Error {
        /// The item starting at `at` needs `needed` bytes past `end`.
        case truncated(at: Int, needed: Int)
        /// A varint starting at `at` has more bytes than its type allows.
        case overlong(at: Int, maxBytes: Int)
        /// A varint starting at `at` holds bits that do not fit its type.
        case overflow(at: Int)

        /// Maps to the public error: at the record level a truncation is a malformed record
        /// (its container has a fixed length), with no record it is a truncated buffer.
        func formatError(recordIndex: Int, positionBase: Int, available: Int, context: String = "") -> FormatError {
            switch self {
            case .truncated(let at, let needed):
                if recordIndex < 0 {
                    return .truncated(needed: positionBase + at + needed, available: positionBase + available)
                }
                return .malformedRecord(
                    index: recordIndex, position: positionBase + at,
                    reason: "\(needed) bytes needed but the record ends\(context)")
            case .overlong(let at, let maxBytes):
                return .malformedRecord(
                    index: recordIndex, position: positionBase + at,
                    reason: "varint longer than \(maxBytes) bytes\(context)")
            case .overflow(let at):
                return .malformedRecord(
                    index: recordIndex, position: positionBase + at,
                    reason: "varint value does not fit its type\(context)")
            }
        }
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    private(set) var end: Int

    /// A reader of `bytes[start..<end]`. The caller guarantees `0 <= start <= end <= bytes.count`.
    init(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) {
        precondition(start >= 0 && start <= end && end <= bytes.count, "ByteReader bounds")
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position == end }

    /// Narrows the readable range to the next `count` bytes (a record's body), returning the old
    /// end so it can be restored.
    mutating func limit(to count: Int) throws(Failure) -> Int {
        guard count >= 0, count <= remaining else {
            throw .truncated(at: position, needed: count)
        }
        let old = end
        end = position + count
        return old
    }

    /// Restores an end returned by `limit(to:)`.
    mutating func restore(end old: Int) {
        precondition(old >= end && old <= bytes.count, "ByteReader restore")
        end = old
    }

    mutating func readUInt8() throws(Failure) -> UInt8 {
        guard position < end else { throw .truncated(at: position, needed: 1) }
        let b = bytes.load(fromByteOffset: position, as: UInt8.self)
        position += 1
        return b
    }

    /// The next `count` bytes as a view into the buffer.
    mutating func readBytes(_ count: Int) throws(Failure) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw .truncated(at: position, needed: count) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    mutating func skip(_ count: Int) throws(Failure) {
        guard count >= 0, count <= remaining else { throw .truncated(at: position, needed: count) }
        position += count
    }

    /// Most varints in a batch are one byte (small deltas, short lengths), so that case is
    /// inlined and the loop is only entered for longer ones.
    @inline(__always)
    mutating func readVarint32() throws(Failure) -> Int32 {
        if position < end {
            let first = bytes.load(fromByteOffset: position, as: UInt8.self)
            if first < 0x80 {
                position += 1
                return Varint.unzigzag(UInt32(first))
            }
        }
        let raw = try readUnsigned(maxBytes: Varint.int32MaxBytes, lastByteMax: 0x0F)
        return Varint.unzigzag(UInt32(truncatingIfNeeded: raw))
    }

    @inline(__always)
    mutating func readVarint64() throws(Failure) -> Int64 {
        if position < end {
            let first = bytes.load(fromByteOffset: position, as: UInt8.self)
            if first < 0x80 {
                position += 1
                return Varint.unzigzag(UInt64(first))
            }
        }
        let raw = try readUnsigned(maxBytes: Varint.int64MaxBytes, lastByteMax: 0x01)
        return Varint.unzigzag(raw)
    }

    /// Unsigned LEB128 of at most `maxBytes` bytes; the last allowed byte may not exceed
    /// `lastByteMax` (the bits left in the type) and may not ask for another byte.
    private mutating func readUnsigned(maxBytes: Int, lastByteMax: UInt8) throws(Failure) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = position
        for n in 0..<maxBytes {
            guard index < end else { throw .truncated(at: start, needed: index - start + 1) }
            let b = bytes.load(fromByteOffset: index, as: UInt8.self)
            index += 1
            if n == maxBytes - 1 {
                if b & 0x80 != 0 { throw .overlong(at: start, maxBytes: maxBytes) }
                if b > lastByteMax { throw .overflow(at: start) }
            }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        position = index
        return result
    }
}
