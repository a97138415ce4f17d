/// A record as a producer hands it to `RecordBatchEncoder`: no offset yet, because offsets are
/// assigned by the log writer when the batch is appended (see `RecordBatchEncoder.patchBaseOffset`).
/// A plain value type, safe to share between threads.
public struct RecordInput: Sendable {
    /// The record key; nil is stored as length -1 (Kafka's null key).
    public var key: [UInt8]?
    /// The payload; nil is stored as length -1 and differs from an empty payload.
    public var value: [UInt8]?
    /// Headers in the order they will be stored.
    public var headers: [RecordHeader]
    /// Milliseconds since the Unix epoch (Kafka CreateTime).
    public var timestamp: Int64

    public init(value: [UInt8]?, key: [UInt8]? = nil, headers: [RecordHeader] = [], timestamp: Int64) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
