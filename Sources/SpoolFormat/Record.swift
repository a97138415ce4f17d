/// A record as a reader gets it back from `RecordBatchDecoder`, with its absolute offset and
/// timestamp already computed from the batch header. A plain value type, safe to share between
/// threads.
public struct Record: Sendable, Hashable {
    /// The record's logical number in the log: `baseOffset + offsetDelta` (FORMAT.md, "Records").
    public var offset: Int64
    /// Milliseconds since the Unix epoch: `baseTimestamp + timestampDelta`, or the batch's
    /// `maxTimestamp` when the batch uses LogAppendTime (FORMAT.md, "Attributes").
    public var timestamp: Int64
    /// The key; nil when stored as length -1.
    public var key: [UInt8]?
    /// The payload; nil when stored as length -1.
    public var value: [UInt8]?
    /// The headers in stored order.
    public var headers: [RecordHeader]

    public init(offset: Int64, timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader]) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}
