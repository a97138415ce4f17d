/// Upper bounds that every encode and decode enforces (FORMAT.md, "Limits").
///
/// Bytes on disk are untrusted: a corrupt length or a decompression bomb must not make Spool
/// allocate without bound. Each limit is checked before memory is reserved for the thing it
/// bounds. The writer and the readers of one log must use the same (or larger) limits on the read
/// side, otherwise a batch that was accepted on write is rejected on read. A plain value type,
/// safe to share between threads.
public struct FormatLimits: Sendable, Equatable {
    /// The largest encoded record body: the bytes counted by a record's `length` varint
    /// (attributes, timestamp and offset deltas, key, value and headers). Default 16 MiB, the
    /// batch limit: like Kafka, a record is bounded by its batch, so a 1 MiB value (what a
    /// default Kafka producer may send) always fits.
    public var recordBytesMax: Int
    /// The largest batch on disk, `12 + batchLength`, header included. Default 16 MiB.
    public var batchBytesMax: Int
    /// The most records in one batch. Default 1,000,000.
    public var recordsPerBatchMax: Int
    /// The largest records section after decompression. Default 64 MiB.
    public var decompressedBytesMax: Int
    /// The most headers on one record. Default 32 Mi: half the decompressed section limit, so
    /// that (a header takes at least 2 bytes) it never binds before the size limits do. Kafka
    /// does not limit header count below the batch size either.
    public var headersPerRecordMax: Int

    public init(
        recordBytesMax: Int = 16 << 20,
        batchBytesMax: Int = 16 << 20,
        recordsPerBatchMax: Int = 1_000_000,
        decompressedBytesMax: Int = 64 << 20,
        headersPerRecordMax: Int = 32 << 20
    ) {
        self.recordBytesMax = recordBytesMax
        self.batchBytesMax = batchBytesMax
        self.recordsPerBatchMax = recordsPerBatchMax
        self.decompressedBytesMax = decompressedBytesMax
        self.headersPerRecordMax = headersPerRecordMax
    }

    /// The defaults listed in FORMAT.md, "Limits".
    public static let `default` = FormatLimits()
}
