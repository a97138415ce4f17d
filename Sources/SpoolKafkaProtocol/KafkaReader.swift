/// Reads Kafka's primitive types from a frame, bounds-checked.
///
/// Every read checks the bytes left before touching them, and every length or count is checked
/// against what is left and against `limits` before anything is allocated, so no input can make
/// it trap or allocate more than the frame's size allows. Errors carry the field and position.
/// A value type: not shared between threads, but safe to send.
public struct KafkaReader: Sendable {
    private let bytes: [UInt8]
    /// Where the next read starts, in bytes from the start of the frame.
    public private(set) var position: Int
    /// One past the last byte this reader may read (a tagged field's reader ends at its value).
    public let end: Int
    public let limits: KafkaDecodeLimits

    /// A reader of all of `bytes`, positions counted from `bytes`' first byte.
    public init(_ bytes: [UInt8], limits: KafkaDecodeLimits = .default) {
        self.init(bytes, from: 0, to: bytes.count, limits: limits)
    }

    init(_ bytes: [UInt8], from start: Int, to end: Int, limits: KafkaDecodeLimits) {
        self.bytes = bytes
        self.position = start
        self.end = end
        self.limits = limits
    }

    /// Bytes left to read.
    public var remaining: Int { end - position }

    /// An error at the current position.
    public func error(_ field: String, _ kind: KafkaProtocolError.Kind) -> KafkaProtocolError {
        KafkaProtocolError(kind: kind, field: field, position: position)
    }

    private func need(_ count: Int, _ field: String) throws(KafkaProtocolError) {
        if count > remaining { throw error(field, .truncated(needed: count, remaining: remaining)) }
    }

    private mutating func bigEndian(_ size: Int, _ field: String) throws(KafkaProtocolError) -> UInt64 {
        try need(size, field)
        var value: UInt64 = 0
        for i in position..<(position + size) { value = value << 8 | UInt64(bytes[i]) }
        position += size
        return value
    }

    public mutating func readInt8(_ field: String) throws(KafkaProtocolError) -> Int8 {
        Int8(truncatingIfNeeded: try bigEndian(1, field))
    }

    public mutating func readInt16(_ field: String) throws(KafkaProtocolError) -> Int16 {
        Int16(truncatingIfNeeded: try bigEndian(2, field))
    }

    public mutating func readUInt16(_ field: String) throws(KafkaProtocolError) -> UInt16 {
        UInt16(truncatingIfNeeded: try bigEndian(2, field))
    }

    public mutating func readInt32(_ field: String) throws(KafkaProtocolError) -> Int32 {
        Int32(truncatingIfNeeded: try bigEndian(4, field))
    }

    public mutating func readInt64(_ field: String) throws(KafkaProtocolError) -> Int64 {
        Int64(bitPattern: try bigEndian(8, field))
    }

    public mutating func readFloat64(_ field: String) throws(KafkaProtocolError) -> Double {
        Double(bitPattern: try bigEndian(8, field))
    }

    /// Kafka reads any non-zero byte as true.
    public mutating func readBool(_ field: String) throws(KafkaProtocolError) -> Bool {
        try bigEndian(1, field) != 0
    }

    public mutating func readUUID(_ field: String) throws(KafkaProtocolError) -> KafkaUUID {
        try need(16, field)
        return KafkaUUID(high: try bigEndian(8, field), low: try bigEndian(8, field))
    }

    /// An unsigned LEB128 varint of at most 5 bytes (Kafka's UNSIGNED_VARINT, up to 2^32-1).
    public mutating func readUnsignedVarint(_ field: String) throws(KafkaProtocolError) -> UInt32 {
        let start = position
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 35, by: 7) {
            try need(1, field)
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 {
                guard value <= UInt64(UInt32.max) else { break }
                return UInt32(value)
            }
        }
        throw KafkaProtocolError(kind: .invalidVarint, field: field, position: start)
    }

    /// A length prefix: int16 (strings) or int32 (bytes, arrays) when classic, unsigned varint
    /// minus one when compact. -1 means null. Anything below -1 is an error.
    private mutating func readLength(
        _ field: String, compact: Bool, classicWidth: Int
    ) throws(KafkaProtocolError) -> Int {
        let start = position
        let length: Int
        if compact {
            length = Int(try readUnsignedVarint(field)) - 1
        } else {
            length = classicWidth == 2 ? Int(try readInt16(field)) : Int(try readInt32(field))
        }
        if length < -1 { throw KafkaProtocolError(kind: .invalidLength(length), field: field, position: start) }
        return length
    }

    private mutating func take(_ count: Int, _ field: String) throws(KafkaProtocolError) -> ArraySlice<UInt8> {
        try need(count, field)
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// A string; null (length -1) is an error. Kafka caps strings at 32767 bytes in both encodings.
    public mutating func readString(_ field: String, compact: Bool) throws(KafkaProtocolError) -> String {
        guard let value = try readNullableString(field, compact: compact, nullable: false) else {
            throw error(field, .unexpectedNull)  // unreachable: nullable: false throws first
        }
        return value
    }

    /// A string that may be null where `nullable` (the field is nullable at this version).
    public mutating func readNullableString(
        _ field: String, compact: Bool, nullable: Bool
    ) throws(KafkaProtocolError) -> String? {
        let start = position
        let length = try readLength(field, compact: compact, classicWidth: 2)
        if length == -1 {
            if nullable { return nil }
            throw KafkaProtocolError(kind: .unexpectedNull, field: field, position: start)
        }
        if length > Int(Int16.max) {
            throw KafkaProtocolError(
                kind: .overLimit(length: length, limit: Int(Int16.max)), field: field, position: start)
        }
        if length > remaining {
            throw KafkaProtocolError(
                kind: .truncated(needed: length, remaining: remaining), field: field, position: start)
        }
        let slice = try take(length, field)
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw KafkaProtocolError(kind: .invalidUTF8, field: field, position: start)
        }
        return text
    }

    /// Bytes (or records); null is an error.
    public mutating func readBytes(_ field: String, compact: Bool) throws(KafkaProtocolError) -> [UInt8] {
        guard let value = try readNullableBytes(field, compact: compact, nullable: false) else {
            throw error(field, .unexpectedNull)
        }
        return value
    }

    /// Bytes that may be null where `nullable`.
    public mutating func readNullableBytes(
        _ field: String, compact: Bool, nullable: Bool
    ) throws(KafkaProtocolError) -> [UInt8]? {
        let start = position
        let length = try readLength(field, compact: compact, classicWidth: 4)
        if length == -1 {
            if nullable { return nil }
            throw KafkaProtocolError(kind: .unexpectedNull, field: field, position: start)
        }
        if length > limits.maxFrameBytes {
            throw KafkaProtocolError(
                kind: .overLimit(length: length, limit: limits.maxFrameBytes), field: field, position: start)
        }
        if length > remaining {
            throw KafkaProtocolError(
                kind: .truncated(needed: length, remaining: remaining), field: field, position: start)
        }
        return Array(try take(length, field))
    }

    /// An array's element count; null is an error. The count is checked against the limit and
    /// against the bytes left (every element of every message takes at least one byte).
    public mutating func readArrayCount(_ field: String, compact: Bool) throws(KafkaProtocolError) -> Int {
        guard let count = try readNullableArrayCount(field, compact: compact, nullable: false) else {
            throw error(field, .unexpectedNull)
        }
        return count
    }

    /// An array's element count, nil for a null array where `nullable`.
    public mutating func readNullableArrayCount(
        _ field: String, compact: Bool, nullable: Bool
    ) throws(KafkaProtocolError) -> Int? {
        let start = position
        let count = try readLength(field, compact: compact, classicWidth: 4)
        if count == -1 {
            if nullable { return nil }
            throw KafkaProtocolError(kind: .unexpectedNull, field: field, position: start)
        }
        if count > limits.maxArrayCount {
            throw KafkaProtocolError(
                kind: .overLimit(length: count, limit: limits.maxArrayCount), field: field, position: start)
        }
        if count > remaining {
            throw KafkaProtocolError(
                kind: .truncated(needed: count, remaining: remaining), field: field, position: start)
        }
        return count
    }

    /// A nullable struct's marker byte: -1 is null, anything else present (as Kafka reads it).
    public mutating func readStructPresence(_ field: String, nullable: Bool) throws(KafkaProtocolError) -> Bool {
        let start = position
        if try readInt8(field) >= 0 { return true }
        if nullable { return false }
        throw KafkaProtocolError(kind: .unexpectedNull, field: field, position: start)
    }

    /// The number of tagged fields that follow, bounded by the limit and the bytes left.
    public mutating func readTaggedFieldCount(_ field: String) throws(KafkaProtocolError) -> Int {
        let start = position
        let count = Int(try readUnsignedVarint(field))
        if count > limits.maxTaggedFields {
            throw KafkaProtocolError(
                kind: .overLimit(length: count, limit: limits.maxTaggedFields), field: field, position: start)
        }
        if count * 2 > remaining {
            throw KafkaProtocolError(
                kind: .truncated(needed: count * 2, remaining: remaining), field: field, position: start)
        }
        return count
    }

    /// One tagged field: its tag, a reader bounded to its value, and the field as raw bytes.
    /// This reader moves past the value. `previousTag` (-1 before the first) enforces strictly
    /// ascending tags and is updated.
    public mutating func readTaggedField(
        _ field: String, previousTag: inout Int64
    ) throws(KafkaProtocolError) -> (tag: UInt32, reader: KafkaReader, field: KafkaTaggedField) {
        let tagStart = position
        let tag = try readUnsignedVarint(field)
        if Int64(tag) <= previousTag {
            throw KafkaProtocolError(
                kind: .tagOutOfOrder(tag: tag, previous: UInt32(previousTag)), field: field, position: tagStart)
        }
        previousTag = Int64(tag)
        let sizeStart = position
        let size = Int(try readUnsignedVarint(field))
        if size > remaining {
            throw KafkaProtocolError(
                kind: .truncated(needed: size, remaining: remaining), field: field, position: sizeStart)
        }
        let sub = KafkaReader(bytes, from: position, to: position + size, limits: limits)
        let data = Array(bytes[position..<(position + size)])
        position += size
        return (tag, sub, KafkaTaggedField(tag: tag, data: data))
    }

    /// Throws unless every byte has been read (the end of a message or of a tagged field's value).
    public func expectEnd(_ field: String) throws(KafkaProtocolError) {
        if remaining != 0 { throw error(field, .trailingBytes(remaining)) }
    }
}
