/// A decoded and fully checked batch: its header and every record, with absolute offsets and
/// timestamps. Produced by `RecordBatchDecoder.decode`. A plain value type, safe to share between
/// threads.
public struct RecordBatch: Sendable {
    /// The 61-byte header as stored (FORMAT.md, "Batch header").
    public var header: RecordBatchHeader
    /// The records in offset order; `records.count == header.recordCount`.
    public var records: [Record]
    /// Bytes of the records section before compression (equal to the stored section for
    /// codec none): with ``storedRecordsBytes``, the batch's compression ratio.
    public var recordsBytes: Int

    public init(header: RecordBatchHeader, records: [Record], recordsBytes: Int? = nil) {
        self.header = header
        self.records = records
        self.recordsBytes = recordsBytes ?? header.totalBytes - RecordBatchHeader.size
    }

    /// Bytes of the records section as stored (compressed, for lz4 and zstd).
    public var storedRecordsBytes: Int { header.totalBytes - RecordBatchHeader.size }
}
