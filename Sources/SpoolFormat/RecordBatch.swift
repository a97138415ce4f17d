/// A decoded and fully checked batch: its header and every record, with absolute offsets and
/// timestamps. Produced by `RecordBatchDecoder.decode`. A plain value type, safe to share between
/// threads.
public struct RecordBatch: Sendable {
    /// The 61-byte header as stored (FORMAT.md, "Batch header").
    public var header: RecordBatchHeader
    /// The records in offset order; `records.count == header.recordCount`.
    public var records: [Record]

    public init(header: RecordBatchHeader, records: [Record]) {
        self.header = header
        self.records = records
    }
}
