#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Writes a `Codable` value as JSON straight into bytes, for ``JSONJobCoder``: one pass, no
/// intermediate tree, no `Data`. Foundation's `JSONEncoder` builds a tree of boxed values and
/// was most of a typed job's enqueue cost (issue 18, `perf` of `spool bench enqueue --typed`).
///
/// It writes what `JSONEncoder` with its defaults writes, for the values it handles. It gives up
/// (``JSONBytes/Unsupported``, so the coder falls back to `JSONEncoder`) on what it does not
/// mirror: `Data`, `URL` and `Decimal` (which `JSONEncoder` special-cases), non-finite floats
/// (which it refuses), a value that encodes nothing, `superEncoder`, and containers used out
/// of order (a nested container written to after its parent moved on).
///
/// Thread-safety: each encode uses its own writer; nothing is shared.
enum JSONBytesEncoder {
    /// - Throws: ``JSONBytes/Unsupported`` for what it does not mirror; the value's own errors.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = JSONByteWriter()
        try writer.writeValue(value, codingPath: [])
        guard !writer.unsupported, writer.open.isEmpty else { throw JSONBytes.Unsupported() }
        return writer.out
    }
}

enum JSONBytes {
    /// The value needs Foundation's coder: not an error for the caller, who falls back.
    struct Unsupported: Error {}
    /// Deepest nesting of arrays and objects read or written (as Foundation's limit).
    static let depthMax = 512
}

/// The bytes written so far and the stack of open containers.
final class JSONByteWriter {
    struct Open {
        var id: Int
        var closer: UInt8
        var count: Int
    }

    var out: [UInt8] = []
    var open: [Open] = []
    var nextID = 0
    var unsupported = false

    init() { out.reserveCapacity(256) }

    /// Opens `[` or `{`; returns the container's id.
    func begin(_ opener: UInt8, _ closer: UInt8) -> Int {
        guard open.count < JSONBytes.depthMax else {
            unsupported = true
            return -1
        }
        nextID += 1
        out.append(opener)
        open.append(Open(id: nextID, closer: closer, count: 0))
        return nextID
    }

    /// Closes containers down to `depth` open ones.
    func close(downTo depth: Int) {
        while open.count > depth { out.append(open.removeLast().closer) }
    }

    /// Makes container `id` the innermost open one (closing finished nested ones) and writes
    /// the comma before its next element. False (and gives up) when it was closed already.
    func element(of id: Int) -> Bool {
        guard let index = open.lastIndex(where: { $0.id == id }) else {
            unsupported = true
            return false
        }
        close(downTo: index + 1)
        if open[index].count > 0 { out.append(UInt8(ascii: ",")) }
        open[index].count += 1
        return true
    }

    func key(_ key: some CodingKey, in id: Int) -> Bool {
        guard element(of: id) else { return false }
        writeString(key.stringValue)
        out.append(UInt8(ascii: ":"))
        return true
    }

    func writeValue<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if T.self == Data.self || T.self == URL.self || T.self == Decimal.self {
            unsupported = true
            return
        }
        let depth = open.count
        let count = out.count
        try value.encode(to: JSONBytesEncoderImpl(writer: self, level: depth, codingPath: codingPath))
        if out.count == count { unsupported = true }  // encoded nothing: JSONEncoder decides
        close(downTo: depth)
    }

    func writeNull() { out += "null".utf8 }

    func writeBool(_ value: Bool) { out += (value ? "true" : "false").utf8 }

    /// Digits built on the stack and appended at once: `out` is a class property, and each
    /// access to it is an exclusivity check.
    func writeInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { digits in
            var at = digits.count
            var rest = value.magnitude
            repeat {
                at -= 1
                digits[at] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            if value < 0 {
                at -= 1
                digits[at] = UInt8(ascii: "-")
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[at...]))
        }
    }

    func writeFloat<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T) {
        guard value.isFinite else {
            unsupported = true
            return
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out += text.utf8
    }

    /// Escapes as `JSONEncoder` does (`"`, `\\`, `/` and control characters); runs of bytes
    /// that need none are appended at once.
    func writeString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            out.append(UInt8(ascii: "\""))
            var run = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard
                    byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/")
                else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<i]))
                appendEscape(byte)
                run = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
            out.append(UInt8(ascii: "\""))
        }
    }

    private func appendEscape(_ byte: UInt8) {
        switch byte {
        case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
        case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out += [
                UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                hex[Int(byte & 15)],
            ]
        default: out += [UInt8(ascii: "\\"), byte]
        }
    }
}

/// The `Encoder` a value encodes itself to: one container per value, as JSON wants.
struct JSONBytesEncoderImpl: Encoder {
    let writer: JSONByteWriter
    /// Open containers when this value began: its own container is the next one.
    let level: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// The id of the container this value opened (or opens now, with `opener`).
    private func own(_ opener: UInt8, _ closer: UInt8) -> Int {
        // asked again
        if writer.open.count > level, writer.open[level].closer == closer { return writer.open[level].id }
        guard writer.open.count == level else {
            writer.unsupported = true
            return -1
        }
        return writer.begin(opener, closer)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(
            KeyedWriter(writer: writer, id: own(UInt8(ascii: "{"), UInt8(ascii: "}")), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedWriter(writer: writer, id: own(UInt8(ascii: "["), UInt8(ascii: "]")), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleWriter(writer: writer, level: level, start: writer.out.count, codingPath: codingPath)
    }
}

private struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONByteWriter
    let id: Int
    let codingPath: [any CodingKey]

    func encodeNil(forKey key: Key) throws { if writer.key(key, in: id) { writer.writeNull() } }
    func encode(_ value: Bool, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeBool(value) } }
    func encode(_ value: String, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeString(value) } }
    func encode(_ value: Double, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeFloat(value) } }
    func encode(_ value: Float, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeFloat(value) } }
    func encode(_ value: Int, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: Int8, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: Int16, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: Int32, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: Int64, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: UInt, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: UInt8, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: UInt16, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: UInt32, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode(_ value: UInt64, forKey key: Key) throws { if writer.key(key, in: id) { writer.writeInteger(value) } }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if writer.key(key, in: id) { try writer.writeValue(value, codingPath: codingPath + [key]) }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = writer.key(key, in: id) ? writer.begin(UInt8(ascii: "{"), UInt8(ascii: "}")) : -1
        return KeyedEncodingContainer(
            KeyedWriter<NestedKey>(writer: writer, id: nested, codingPath: codingPath + [key]))
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = writer.key(key, in: id) ? writer.begin(UInt8(ascii: "["), UInt8(ascii: "]")) : -1
        return UnkeyedWriter(writer: writer, id: nested, codingPath: codingPath + [key])
    }

    func superEncoder() -> any Encoder { giveUp() }
    func superEncoder(forKey key: Key) -> any Encoder { giveUp() }

    private func giveUp() -> any Encoder {
        writer.unsupported = true
        return JSONBytesEncoderImpl(writer: JSONByteWriter(), level: 0, codingPath: codingPath)
    }
}

private final class UnkeyedWriter: UnkeyedEncodingContainer {
    let writer: JSONByteWriter
    let id: Int
    let codingPath: [any CodingKey]
    private(set) var count = 0

    init(writer: JSONByteWriter, id: Int, codingPath: [any CodingKey]) {
        self.writer = writer
        self.id = id
        self.codingPath = codingPath
    }

    private func next() -> Bool {
        count += 1
        return writer.element(of: id)
    }

    func encodeNil() throws { if next() { writer.writeNull() } }
    func encode(_ value: Bool) throws { if next() { writer.writeBool(value) } }
    func encode(_ value: String) throws { if next() { writer.writeString(value) } }
    func encode(_ value: Double) throws { if next() { writer.writeFloat(value) } }
    func encode(_ value: Float) throws { if next() { writer.writeFloat(value) } }
    func encode(_ value: Int) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: Int8) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: Int16) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: Int32) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: Int64) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: UInt) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: UInt8) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: UInt16) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: UInt32) throws { if next() { writer.writeInteger(value) } }
    func encode(_ value: UInt64) throws { if next() { writer.writeInteger(value) } }
    func encode<T: Encodable>(_ value: T) throws {
        if next() { try writer.writeValue(value, codingPath: codingPath) }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = next() ? writer.begin(UInt8(ascii: "{"), UInt8(ascii: "}")) : -1
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(writer: writer, id: nested, codingPath: codingPath))
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = next() ? writer.begin(UInt8(ascii: "["), UInt8(ascii: "]")) : -1
        return UnkeyedWriter(writer: writer, id: nested, codingPath: codingPath)
    }

    func superEncoder() -> any Encoder {
        writer.unsupported = true
        return JSONBytesEncoderImpl(writer: JSONByteWriter(), level: 0, codingPath: codingPath)
    }
}

/// A value that is one JSON scalar (or another value's encoding). Written once.
private struct SingleWriter: SingleValueEncodingContainer {
    let writer: JSONByteWriter
    let level: Int
    let start: Int
    let codingPath: [any CodingKey]

    private func ready() -> Bool {
        guard writer.open.count == level, writer.out.count == start else {
            writer.unsupported = true
            return false
        }
        return true
    }

    func encodeNil() throws { if ready() { writer.writeNull() } }
    func encode(_ value: Bool) throws { if ready() { writer.writeBool(value) } }
    func encode(_ value: String) throws { if ready() { writer.writeString(value) } }
    func encode(_ value: Double) throws { if ready() { writer.writeFloat(value) } }
    func encode(_ value: Float) throws { if ready() { writer.writeFloat(value) } }
    func encode(_ value: Int) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: Int8) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: Int16) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: Int32) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: Int64) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: UInt) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: UInt8) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: UInt16) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: UInt32) throws { if ready() { writer.writeInteger(value) } }
    func encode(_ value: UInt64) throws { if ready() { writer.writeInteger(value) } }
    func encode<T: Encodable>(_ value: T) throws {
        if ready() { try writer.writeValue(value, codingPath: codingPath) }
    }
}
