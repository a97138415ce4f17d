/// Writes Kafka's primitive types. Grows an array; not shared between threads.
public struct KafkaWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// An encoding error at the current output length.
    public func error(_ field: String, _ kind: KafkaProtocolError.Kind) -> KafkaProtocolError {
        KafkaProtocolError(kind: kind, field: field, position: bytes.count)
    }

    private mutating func bigEndian(_ value: UInt64, _ size: Int) {
        for i in stride(from: size - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * i)))
        }
    }

    public mutating func writeInt8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    public mutating func writeInt16(_ value: Int16) { bigEndian(UInt64(UInt16(bitPattern: value)), 2) }
    public mutating func writeUInt16(_ value: UInt16) { bigEndian(UInt64(value), 2) }
    public mutating func writeInt32(_ value: Int32) { bigEndian(UInt64(UInt32(bitPattern: value)), 4) }
    public mutating func writeInt64(_ value: Int64) { bigEndian(UInt64(bitPattern: value), 8) }
    public mutating func writeFloat64(_ value: Double) { bigEndian(value.bitPattern, 8) }
    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func writeUUID(_ value: KafkaUUID) {
        bigEndian(value.high, 8)
        bigEndian(value.low, 8)
    }

    public mutating func writeUnsignedVarint(_ value: UInt32) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Raw bytes, no length (frames, pre-encoded values).
    public mutating func writeRaw(_ raw: [UInt8]) { bytes += raw }

    private mutating func writeLength(_ length: Int, compact: Bool, classicWidth: Int) {
        if compact {
            writeUnsignedVarint(UInt32(truncatingIfNeeded: length + 1))
        } else if classicWidth == 2 {
            writeInt16(Int16(truncatingIfNeeded: length))
        } else {
            writeInt32(Int32(truncatingIfNeeded: length))
        }
    }

    /// A string. Throws over 32767 UTF-8 bytes (Kafka's limit in both encodings).
    public mutating func writeString(_ value: String, _ field: String, compact: Bool) throws(KafkaProtocolError) {
        let utf8 = Array(value.utf8)
        if utf8.count > Int(Int16.max) { throw error(field, .overLimit(length: utf8.count, limit: Int(Int16.max))) }
        writeLength(utf8.count, compact: compact, classicWidth: 2)
        bytes += utf8
    }

    /// A string or null; null throws where the version does not allow it.
    public mutating func writeNullableString(
        _ value: String?, _ field: String, compact: Bool, nullable: Bool
    ) throws(KafkaProtocolError) {
        guard let value else {
            if !nullable { throw error(field, .unexpectedNull) }
            writeLength(-1, compact: compact, classicWidth: 2)
            return
        }
        try writeString(value, field, compact: compact)
    }

    /// Bytes or records. Throws over Int32.max bytes.
    public mutating func writeBytes(_ value: [UInt8], _ field: String, compact: Bool) throws(KafkaProtocolError) {
        if value.count > Int(Int32.max) - 1 {
            throw error(field, .overLimit(length: value.count, limit: Int(Int32.max) - 1))
        }
        writeLength(value.count, compact: compact, classicWidth: 4)
        bytes += value
    }

    public mutating func writeNullableBytes(
        _ value: [UInt8]?, _ field: String, compact: Bool, nullable: Bool
    ) throws(KafkaProtocolError) {
        guard let value else {
            if !nullable { throw error(field, .unexpectedNull) }
            writeLength(-1, compact: compact, classicWidth: 4)
            return
        }
        try writeBytes(value, field, compact: compact)
    }

    public mutating func writeArrayCount(_ count: Int, _ field: String, compact: Bool) throws(KafkaProtocolError) {
        if count > Int(Int32.max) - 1 { throw error(field, .overLimit(length: count, limit: Int(Int32.max) - 1)) }
        writeLength(count, compact: compact, classicWidth: 4)
    }

    /// A null array; throws where the version does not allow it.
    public mutating func writeNullArray(_ field: String, compact: Bool, nullable: Bool) throws(KafkaProtocolError) {
        if !nullable { throw error(field, .unexpectedNull) }
        writeLength(-1, compact: compact, classicWidth: 4)
    }

    /// A null struct (marker -1); throws where the version does not allow it.
    public mutating func writeNullStruct(_ field: String, nullable: Bool) throws(KafkaProtocolError) {
        if !nullable { throw error(field, .unexpectedNull) }
        writeInt8(-1)
    }

    /// A tagged-field section, in ascending tag order as Kafka writes it; a repeated tag throws.
    public mutating func writeTaggedFields(_ fields: [KafkaTaggedField], _ field: String) throws(KafkaProtocolError) {
        let sorted = fields.sorted { $0.tag < $1.tag }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.tag == b.tag { throw error(field, .duplicateTag(a.tag)) }
        writeUnsignedVarint(UInt32(sorted.count))
        for tagged in sorted {
            writeUnsignedVarint(tagged.tag)
            writeUnsignedVarint(UInt32(tagged.data.count))
            bytes += tagged.data
        }
    }

    /// Throws `fieldNotInVersion` unless `isDefault`: a value the version cannot carry would be lost.
    public func requireDefault(_ isDefault: Bool, _ field: String, version: Int16) throws(KafkaProtocolError) {
        if !isDefault { throw error(field, .fieldNotInVersion(version)) }
    }
}
