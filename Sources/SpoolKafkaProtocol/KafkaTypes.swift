/// A Kafka UUID (topic ids, member ids in share groups): 16 bytes, written big-endian.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The all-zero UUID, Kafka's "no topic id".
    public static let zero = KafkaUUID(high: 0, low: 0)

    /// 8-4-4-4-12 lowercase hex, as `java.util.UUID.toString()`.
    public var description: String {
        let hex = Self.hex(high, 16) + Self.hex(low, 16)
        let chars = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
    }

    private static func hex(_ value: UInt64, _ digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: digits - text.count) + text
    }
}

/// A tagged field kept as bytes: its tag and its value's encoding.
public struct KafkaTaggedField: Equatable, Sendable {
    public var tag: UInt32
    public var data: [UInt8]

    public init(tag: UInt32, data: [UInt8]) {
        self.tag = tag
        self.data = data
    }
}

/// A struct of a message (nested or top level): read and written at a version of its message.
public protocol KafkaStruct: Equatable, Sendable {
    init()
    /// Reads the struct at `version`. Throws `KafkaProtocolError`; never traps on any bytes.
    init(from reader: inout KafkaReader, version: Int16) throws(KafkaProtocolError)
    /// Writes the struct at `version`. Throws when a value cannot be represented at it.
    func encode(into writer: inout KafkaWriter, version: Int16) throws(KafkaProtocolError)
}

/// A top-level message (a header or an API's request or response) and the versions it has.
public protocol KafkaVersionedMessage: KafkaStruct {
    static var versions: ClosedRange<Int16> { get }
    /// The first version that uses the flexible encoding, or nil when none does.
    static var lowestFlexibleVersion: Int16? { get }
}

/// An API's request or response body.
public protocol KafkaAPIMessage: KafkaVersionedMessage {
    static var apiKey: KafkaAPIKey { get }
}

extension KafkaVersionedMessage {
    /// Whether `version` uses the flexible encoding.
    public static func isFlexible(_ version: Int16) -> Bool {
        lowestFlexibleVersion.map { version >= $0 } ?? false
    }

    /// Reads a whole message from `bytes`: every byte must belong to it.
    /// Throws `KafkaProtocolError` (truncation, limits, trailing bytes, bad version).
    public static func decode(
        _ bytes: [UInt8], version: Int16, limits: KafkaDecodeLimits = .default
    ) throws(KafkaProtocolError) -> Self {
        var reader = KafkaReader(bytes, limits: limits)
        let message = try Self(from: &reader, version: version)
        try reader.expectEnd("\(Self.self)")
        return message
    }

    /// The message's bytes at `version`. Throws what `encode(into:version:)` throws.
    public func encoded(version: Int16) throws(KafkaProtocolError) -> [UInt8] {
        var writer = KafkaWriter()
        try encode(into: &writer, version: version)
        return writer.bytes
    }
}
