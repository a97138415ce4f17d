/// One header of a record: a UTF-8 name and an optional byte value (FORMAT.md, "Headers").
///
/// Spool carries task metadata in headers named `spool.*` (FORMAT.md, "The spool.* headers").
/// A nil value is stored as length -1 and is distinct from an empty value. A plain value type,
/// safe to share between threads.
public struct RecordHeader: Sendable, Hashable {
    /// The header's name. Kafka header names are strings, so they must be valid UTF-8 on disk.
    public var name: String
    /// The header's value; nil is Kafka's null header value.
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}
