#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads a `Codable` value from JSON bytes, for ``JSONJobCoder``: parses the bytes into a small
/// tree in one pass, then hands it to the value's `init(from:)`. Foundation's `JSONDecoder` was
/// most of a typed job's handling cost (issue 18, `perf` of `spool bench drain --typed`).
///
/// Any error (bad JSON, a type mismatch, a missing key) and what it does not mirror (`Data`,
/// `URL`, `Decimal`, which `JSONDecoder` special-cases; invalid UTF-8) throw, and the coder
/// then decodes with `JSONDecoder`, whose result or error is the answer: this decoder only
/// ever succeeds where `JSONDecoder` would, with the same value.
///
/// Thread-safety: each decode works alone; nothing is shared.
enum JSONBytesDecoder {
    /// - Throws: any error: the caller falls back to `JSONDecoder`.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let value = try bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONBytesParser(bytes: buffer)
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.at == buffer.count else { throw JSONBytes.Unsupported() }
            return value
        }
        return try JSONBytesDecoderImpl(value: value, codingPath: []).decodeValue(T.self)
    }
}

/// A parsed JSON value. Numbers keep their text's integer value when it has one. Not `indirect`:
/// arrays already hold nested values out of line, and boxing every scalar cost an allocation each.
enum JSONTree {
    case null
    case bool(Bool)
    case string(String)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)
    case array([JSONTree])
    case object(keys: [String], values: [JSONTree])
}

/// A recursive-descent JSON parser (RFC 8259), nesting bounded by ``JSONBytes/depthMax``.
struct JSONBytesParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 {
            at += 1
        }
    }

    mutating func value(depth: Int) throws -> JSONTree {
        guard depth < JSONBytes.depthMax else { throw JSONBytes.Unsupported() }
        skipSpace()
        guard at < bytes.count else { throw JSONBytes.Unsupported() }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count else { throw JSONBytes.Unsupported() }
        for i in 0..<count where bytes[at + i] != word.utf8Start[i] { throw JSONBytes.Unsupported() }
        at += count
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else { throw JSONBytes.Unsupported() }
        at += 1
    }

    private mutating func peek(_ byte: UInt8) -> Bool {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    private mutating func object(depth: Int) throws -> JSONTree {
        at += 1
        var keys: [String] = []
        var values: [JSONTree] = []
        if peek(UInt8(ascii: "}")) { return .object(keys: keys, values: values) }
        repeat {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw JSONBytes.Unsupported() }
            keys.append(try string())
            try expect(UInt8(ascii: ":"))
            values.append(try value(depth: depth + 1))
        } while peek(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
        return .object(keys: keys, values: values)
    }

    private mutating func array(depth: Int) throws -> JSONTree {
        at += 1
        var values: [JSONTree] = []
        if peek(UInt8(ascii: "]")) { return .array(values) }
        repeat {
            values.append(try value(depth: depth + 1))
        } while peek(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
        return .array(values)
    }

    /// A string at `at` (its opening quote): UTF-8 checked, escapes decoded.
    private mutating func string() throws -> String {
        at += 1
        let start = at
        var ascii = true
        while at < bytes.count, bytes[at] != UInt8(ascii: "\""), bytes[at] != UInt8(ascii: "\\"), bytes[at] >= 0x20 {
            ascii = ascii && bytes[at] < 0x80
            at += 1
        }
        guard at < bytes.count else { throw JSONBytes.Unsupported() }
        if bytes[at] == UInt8(ascii: "\"") {
            defer { at += 1 }
            let utf8 = UnsafeBufferPointer(rebasing: bytes[start..<at])
            // ASCII is valid UTF-8: the standard library's ASCII path, not the generic validator.
            return ascii ? String(decoding: utf8, as: UTF8.self) : try text(utf8)
        }
        var out = Array(bytes[start..<at])
        while at < bytes.count {
            let byte = bytes[at]
            at += 1
            switch byte {
            case UInt8(ascii: "\""): return try out.withUnsafeBufferPointer(text)
            case UInt8(ascii: "\\"): try escape(into: &out)
            case 0..<0x20: throw JSONBytes.Unsupported()
            default: out.append(byte)
            }
        }
        throw JSONBytes.Unsupported()
    }

    private func text(_ utf8: UnsafeBufferPointer<UInt8>) throws -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else { throw JSONBytes.Unsupported() }
        return text
    }

    private mutating func escape(into out: inout [UInt8]) throws {
        guard at < bytes.count else { throw JSONBytes.Unsupported() }
        let byte = bytes[at]
        at += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                try literal("\\u")
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw JSONBytes.Unsupported() }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw JSONBytes.Unsupported() }
            out += String(Character(unicode)).utf8
        default: throw JSONBytes.Unsupported()
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard at + 4 <= bytes.count else { throw JSONBytes.Unsupported() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Character(Unicode.Scalar(bytes[at])).hexDigitValue else { throw JSONBytes.Unsupported() }
            value = value << 4 | UInt32(digit)
            at += 1
        }
        return value
    }

    /// A number as RFC 8259 spells it; integers without fraction or exponent stay exact.
    private mutating func number() throws -> JSONTree {
        let start = at
        var integral = true
        while at < bytes.count {
            let byte = bytes[at]
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") {
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                || byte == UInt8(ascii: "+")
            {
                integral = false
            } else {
                break
            }
            at += 1
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
        guard Self.isNumber(text.utf8) else { throw JSONBytes.Unsupported() }
        if integral {
            if let value = Int64(text) { return .integer(value) }
            if let value = UInt64(text) { return .unsigned(value) }
        }
        guard let value = Double(text), value.isFinite else { throw JSONBytes.Unsupported() }
        return .number(value)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    static func isNumber(_ text: String.UTF8View) -> Bool {
        var i = text.startIndex
        func digits() -> Int {
            var n = 0
            while i < text.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[i]) {
                n += 1
                i = text.index(after: i)
            }
            return n
        }
        func take(_ byte: UInt8) -> Bool {
            guard i < text.endIndex, text[i] == byte else { return false }
            i = text.index(after: i)
            return true
        }
        _ = take(UInt8(ascii: "-"))
        if take(UInt8(ascii: "0")) {} else if digits() == 0 { return false }
        if take(UInt8(ascii: ".")), digits() == 0 { return false }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            if digits() == 0 { return false }
        }
        return i == text.endIndex
    }
}

/// The `Decoder` a value decodes itself from: a node of the parsed tree.
struct JSONBytesDecoderImpl: Decoder {
    let value: JSONTree
    /// The path to the container holding this value, and its key there: the full path is
    /// built only when asked for (errors), not for every value decoded.
    let parentPath: [any CodingKey]
    let key: (any CodingKey)?
    var codingPath: [any CodingKey] { key.map { parentPath + [$0] } ?? parentPath }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONTree, codingPath: [any CodingKey], key: (any CodingKey)? = nil) {
        self.value = value
        parentPath = codingPath
        self.key = key
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == Data.self || T.self == URL.self || T.self == Decimal.self { throw JSONBytes.Unsupported() }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let keys, let values) = value else { throw mismatch([String: Int].self) }
        return KeyedDecodingContainer(KeyedReader<Key>(keys: keys, values: values, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let values) = value else { throw mismatch([Int].self) }
        return UnkeyedReader(values: values, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleReader(decoder: self) }

    func mismatch(_ type: Any.Type) -> DecodingError {
        DecodingError.typeMismatch(
            type, .init(codingPath: codingPath, debugDescription: "expected \(type), found \(value)"))
    }

    func bool() throws -> Bool {
        guard case .bool(let value) = value else { throw mismatch(Bool.self) }
        return value
    }

    func string() throws -> String {
        guard case .string(let value) = value else { throw mismatch(String.self) }
        return value
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        switch value {
        case .integer(let value): if let exact = T(exactly: value) { return exact }
        case .unsigned(let value): if let exact = T(exactly: value) { return exact }
        default: break
        }
        throw mismatch(T.self)
    }

    func float<T: BinaryFloatingPoint>(_ type: T.Type) throws -> T {
        switch value {
        case .integer(let value): return T(value)
        case .unsigned(let value): return T(value)
        case .number(let value):
            guard T(value).isFinite else { throw mismatch(T.self) }
            return T(value)
        default: throw mismatch(T.self)
        }
    }
}

private struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let keys: [String]
    let values: [JSONTree]
    let codingPath: [any CodingKey]
    /// Key → index of its (last) value, for objects too large to search key by key.
    private let index: [String: Int]?

    init(keys: [String], values: [JSONTree], codingPath: [any CodingKey]) {
        self.keys = keys
        self.values = values
        self.codingPath = codingPath
        index =
            keys.count > 16
            ? Dictionary(keys.enumerated().map { ($1, $0) }, uniquingKeysWith: { _, last in last }) : nil
    }

    var allKeys: [Key] { keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { position(key.stringValue) != nil }

    private func position(_ name: String) -> Int? { index.map { $0[name] } ?? keys.lastIndex(of: name) }

    private func node(_ key: Key) throws -> JSONBytesDecoderImpl {
        let name = key.stringValue
        guard let index = position(name) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no key \"\(name)\""))
        }
        return JSONBytesDecoderImpl(value: values[index], codingPath: codingPath, key: key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try node(key).value { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try node(key).bool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try node(key).string() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try node(key).float(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try node(key).float(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try node(key).integer(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try node(key).integer(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try node(key).integer(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try node(key).integer(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try node(key).integer(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try node(key).integer(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try node(key).integer(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try node(key).integer(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try node(key).integer(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try node(key).integer(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try node(key).decodeValue(type) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try node(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try node(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { throw JSONBytes.Unsupported() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw JSONBytes.Unsupported() }
}

private struct UnkeyedReader: UnkeyedDecodingContainer {
    let values: [JSONTree]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(values: [JSONTree], codingPath: [any CodingKey]) {
        self.values = values
        self.codingPath = codingPath
    }

    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    private mutating func next() throws -> JSONBytesDecoderImpl {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "unkeyed container is at its end"))
        }
        defer { currentIndex += 1 }
        return JSONBytesDecoderImpl(value: values[currentIndex], codingPath: codingPath)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = values[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().bool() }
    mutating func decode(_ type: String.Type) throws -> String { try next().string() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().float(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().float(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().integer(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { throw JSONBytes.Unsupported() }
}

private struct SingleReader: SingleValueDecodingContainer {
    let decoder: JSONBytesDecoderImpl
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        if case .null = decoder.value { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool() }
    func decode(_ type: String.Type) throws -> String { try decoder.string() }
    func decode(_ type: Double.Type) throws -> Double { try decoder.float(type) }
    func decode(_ type: Float.Type) throws -> Float { try decoder.float(type) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
}
