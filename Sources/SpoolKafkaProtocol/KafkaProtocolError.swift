/// Why bytes could not be read as a Kafka message, or a message could not be written at a version.
///
/// Every decoding failure names the field (`"MetadataRequest.topics.name"`) and the byte position
/// in the frame (counted from the first byte after the 4-byte size prefix), so a server can log
/// what a client sent and answer with the protocol's error code instead of crashing.
public struct KafkaProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The field needs `needed` bytes; only `remaining` are left in the frame (or tagged field).
        case truncated(needed: Int, remaining: Int)
        /// A length or count below -1 (classic) or a null where it is not allowed.
        case invalidLength(Int)
        /// A length, count or frame size above the configured limit.
        case overLimit(length: Int, limit: Int)
        /// Null in a field or version that is not nullable.
        case unexpectedNull
        /// A string that is not valid UTF-8.
        case invalidUTF8
        /// An unsigned varint longer than 5 bytes or above UInt32.
        case invalidVarint
        /// A version this codec does not read or write for the message.
        case unsupportedVersion(Int16)
        /// An API key this codec does not know.
        case unknownAPIKey(Int16)
        /// Encoding: the same tag twice in one tagged-field section.
        case duplicateTag(UInt32)
        /// Decoding: a tag not above the one before it. Kafka writes tags in ascending order, and
        /// accepting repeats or disorder would make a decoded message re-encode differently.
        case tagOutOfOrder(tag: UInt32, previous: UInt32)
        /// Bytes left over after the message ended, or inside a known tagged field after its value.
        case trailingBytes(Int)
        /// Encoding: a non-default value in a field that the version lacks (and Kafka does not
        /// mark ignorable), so writing would silently drop it.
        case fieldNotInVersion(Int16)
    }

    public let kind: Kind
    /// The field being read or written, as `Message.field.subfield`.
    public let field: String
    /// Byte position in the frame where the field starts (decoding) or the output length (encoding).
    public let position: Int

    public init(kind: Kind, field: String, position: Int) {
        self.kind = kind
        self.field = field
        self.position = position
    }

    public var description: String {
        "\(field) at byte \(position): \(explanation)"
    }

    private var explanation: String {
        switch kind {
        case .truncated(let needed, let remaining): "needs \(needed) bytes, only \(remaining) remain (truncated frame)"
        case .invalidLength(let length): "invalid length or count \(length)"
        case .overLimit(let length, let limit): "length \(length) is over the limit of \(limit)"
        case .unexpectedNull: "null where this version does not allow it"
        case .invalidUTF8: "string is not valid UTF-8"
        case .invalidVarint: "unsigned varint is longer than 5 bytes or above 2^32-1"
        case .unsupportedVersion(let version): "version \(version) is not supported"
        case .unknownAPIKey(let key): "unknown API key \(key)"
        case .duplicateTag(let tag): "tagged field \(tag) appears twice"
        case .tagOutOfOrder(let tag, let previous): "tagged field \(tag) follows tag \(previous); tags must ascend"
        case .trailingBytes(let count): "\(count) bytes left after the message ended"
        case .fieldNotInVersion(let version): "has a non-default value but version \(version) has no such field"
        }
    }
}

/// Bounds on what a decoder accepts, so that hostile sizes fail early instead of allocating.
/// Every length is also checked against the bytes left in the frame.
public struct KafkaDecodeLimits: Equatable, Sendable {
    /// Largest frame (request or response) accepted, without its 4-byte size prefix. Kafka's
    /// default `socket.request.max.bytes` is 100 MiB.
    public var maxFrameBytes: Int
    /// Most elements in one array.
    public var maxArrayCount: Int
    /// Most tagged fields in one section.
    public var maxTaggedFields: Int

    public init(maxFrameBytes: Int = 100 << 20, maxArrayCount: Int = 1 << 20, maxTaggedFields: Int = 1024) {
        self.maxFrameBytes = maxFrameBytes
        self.maxArrayCount = maxArrayCount
        self.maxTaggedFields = maxTaggedFields
    }

    public static let `default` = KafkaDecodeLimits()
}
