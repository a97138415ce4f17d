/// Writes Kafka RecordBatch v2 batches (FORMAT.md, "Batch header" and "Records").
///
/// The encoder sizes the whole batch first (checking every limit before touching `out`), then
/// grows `out` once and writes the header, the records and the CRC-32C with direct stores, with
/// no per-record allocation. Stateless: calls are independent and safe from any thread; `out` is
/// the caller's to synchronise.
public enum RecordBatchEncoder {
    /// The fixed fields Spool writes (FORMAT.md, "What Spool writes in the fixed fields").
    public static let spoolPartitionLeaderEpoch: Int32 = 0
    public static let spoolProducerId: Int64 = -1
    public static let spoolProducerEpoch: Int16 = -1
    public static let spoolBaseSequence: Int32 = -1

    /// Appends one complete RecordBatch v2 (header, records, CRC-32C) holding `records` to `out`
    /// and returns its byte count.
    ///
    /// Record `i` gets offset `baseOffset + i`. `baseTimestamp` is the first record's timestamp
    /// and `maxTimestamp` the largest; producerId, producerEpoch and baseSequence are -1 and
    /// partitionLeaderEpoch is 0. With any codec but `.none` the records section is compressed
    /// (`compressionLevel` nil means the codec's default: gzip 6, zstd 3, lz4 fast; snappy has no
    /// levels). The log writer may
    /// later restamp the base offset with `patchBaseOffset`.
    ///
    /// - Throws: `.limitExceeded` when there are zero records or more than
    ///   `limits.recordsPerBatchMax`, a record body exceeds `limits.recordBytesMax`, a record has
    ///   more than `limits.headersPerRecordMax` headers, the batch exceeds
    ///   `limits.batchBytesMax`, or (compressed) the records section exceeds
    ///   `limits.decompressedBytesMax`, so that whatever is encoded can be decoded with the same
    ///   limits; `.unsupportedCodec` for a codec this build cannot handle; `.malformedRecord` when `baseOffset` is
    ///   negative or too large for the offsets to fit an Int64, or a timestamp is so far from the
    ///   first that the delta does not fit an Int64; `.decompressionFailed` if the compression
    ///   library fails. `out` is unchanged when it throws.
    @discardableResult
    public static func encode(
        _ records: [RecordInput], baseOffset: Int64, codec: CompressionCodec = .none,
        compressionLevel: Int? = nil, limits: FormatLimits = .default, into out: inout [UInt8]
    ) throws(FormatError) -> Int {
        try encode(
            records, baseOffset: baseOffset, codec: codec, level: compressionLevel, context: nil, limits: limits,
            into: &out)
    }

    /// The same as ``encode(_:baseOffset:codec:compressionLevel:limits:into:)`` with the codec,
    /// level and dictionary of `context`, reusing its compression state and scratch space: what
    /// a writer that compresses every batch calls. `context` is used by this call alone until
    /// it returns.
    ///
    /// - Throws: as the other `encode`.
    @discardableResult
    public static func encode(
        _ records: [RecordInput], baseOffset: Int64, context: CompressionContext,
        limits: FormatLimits = .default, into out: inout [UInt8]
    ) throws(FormatError) -> Int {
        try encode(
            records, baseOffset: baseOffset, codec: context.codec, level: context.level, context: context,
            limits: limits, into: &out)
    }

    private static func encode(
        _ records: [RecordInput], baseOffset: Int64, codec: CompressionCodec, level compressionLevel: Int?,
        context: CompressionContext?, limits: FormatLimits, into out: inout [UInt8]
    ) throws(FormatError) -> Int {
        guard !records.isEmpty else {
            throw .limitExceeded(
                what: "records in a batch (at least 1 is needed)", value: 0, limit: limits.recordsPerBatchMax)
        }
        guard records.count <= limits.recordsPerBatchMax, records.count <= Int(Int32.max) else {
            throw .batchTooLarge(what: "records in a batch", value: records.count, limit: limits.recordsPerBatchMax)
        }
        guard codec.isSupported else { throw .unsupportedCodec(codec) }
        let lastOffsetDelta = Int32(records.count - 1)
        guard baseOffset >= 0, baseOffset < Int64.max - Int64(lastOffsetDelta) else {
            throw .malformedRecord(
                index: -1, position: RecordBatchHeader.baseOffsetPosition,
                reason: "baseOffset \(baseOffset) leaves no room for \(records.count) offsets below Int64.max")
        }

        // Pass 1: size everything and check every limit before writing a byte.
        let baseTimestamp = records[0].timestamp
        let (sectionBytes, maxTimestamp) = try measure(records, codec: codec, limits: limits)

        var header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: spoolPartitionLeaderEpoch,
            magic: RecordBatchHeader.currentMagic, crc: 0, attributes: Int16(codec.rawValue),
            lastOffsetDelta: lastOffsetDelta, baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp,
            producerId: spoolProducerId, producerEpoch: spoolProducerEpoch, baseSequence: spoolBaseSequence,
            recordCount: Int32(records.count))

        // Pass 2: write.
        let start = out.count
        if codec == .none {
            let total = RecordBatchHeader.size + sectionBytes
            guard total - RecordBatchHeader.lengthFieldEnd <= Int(Int32.max) else {
                throw .limitExceeded(
                    what: "batch bytes", value: total, limit: Int(Int32.max) + RecordBatchHeader.lengthFieldEnd)
            }
            header.batchLength = Int32(total - RecordBatchHeader.lengthFieldEnd)
            out.append(contentsOf: repeatElement(0, count: total))
            out.withUnsafeMutableBytes { buffer in
                let batch = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + total)])
                let section = UnsafeMutableRawBufferPointer(rebasing: batch[RecordBatchHeader.size...])
                writeRecords(records, baseTimestamp: baseTimestamp, into: section)
                seal(header, batch: batch)
            }
            return total
        }

        let owned =
            context == nil ? UnsafeMutableRawBufferPointer.allocate(byteCount: sectionBytes, alignment: 16) : nil
        defer {
            owned?.deallocate()
            context?.trimScratch()
        }
        let section = owned ?? context!.scratch(count: sectionBytes)
        writeRecords(records, baseTimestamp: baseTimestamp, into: section)
        out.append(contentsOf: repeatElement(0, count: RecordBatchHeader.size))
        do throws(FormatError) {
            if let context {
                try context.compress(UnsafeRawBufferPointer(section), into: &out)
            } else {
                try BatchCompressor.compress(
                    UnsafeRawBufferPointer(section), codec: codec, level: compressionLevel, into: &out)
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
        let total = out.count - start
        guard total <= limits.batchBytesMax, total - RecordBatchHeader.lengthFieldEnd <= Int(Int32.max) else {
            out.removeSubrange(start...)
            throw .batchTooLarge(what: "batch bytes after compression", value: total, limit: limits.batchBytesMax)
        }
        header.batchLength = Int32(total - RecordBatchHeader.lengthFieldEnd)
        out.withUnsafeMutableBytes { buffer in
            seal(header, batch: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + total)]))
        }
        return total
    }

    /// Pass 1 of an encode: the records section's size before compression and the greatest
    /// timestamp, with every limit checked before a byte is written.
    /// - Throws: `.malformedRecord` for a timestamp too far from the first; `.limitExceeded`
    ///   for a record's headers or bytes; `.batchTooLarge` for the section or batch.
    private static func measure(
        _ records: [RecordInput], codec: CompressionCodec, limits: FormatLimits
    ) throws(FormatError) -> (sectionBytes: Int, maxTimestamp: Int64) {
        let baseTimestamp = records[0].timestamp
        var maxTimestamp = baseTimestamp
        var sectionBytes = 0
        let sectionLimit =
            codec != .none
            ? limits.decompressedBytesMax
            : limits.batchBytesMax < RecordBatchHeader.size ? -1 : limits.batchBytesMax - RecordBatchHeader.size
        for (index, record) in records.enumerated() {
            let (_, overflow) = record.timestamp.subtractingReportingOverflow(baseTimestamp)
            if overflow {
                throw .malformedRecord(
                    index: index, position: -1,
                    reason:
                        "timestamp \(record.timestamp) is too far from the first record's \(baseTimestamp) for an Int64 delta"
                )
            }
            maxTimestamp = max(maxTimestamp, record.timestamp)
            guard record.headers.count <= limits.headersPerRecordMax else {
                throw .limitExceeded(
                    what: "headers on record \(index)", value: record.headers.count, limit: limits.headersPerRecordMax)
            }
            let body = bodySize(record, index: index, baseTimestamp: baseTimestamp)
            guard body <= limits.recordBytesMax, body <= Int(Int32.max) else {
                throw .limitExceeded(what: "bytes of record \(index)", value: body, limit: limits.recordBytesMax)
            }
            let (sum, sumOverflow) = sectionBytes.addingReportingOverflow(Varint.encodedSize(Int32(body)) + body)
            guard !sumOverflow, sum <= sectionLimit else {
                throw codec == .none
                    ? .batchTooLarge(
                        what: "batch bytes", value: RecordBatchHeader.size &+ sum, limit: limits.batchBytesMax)
                    : .batchTooLarge(
                        what: "records section bytes before compression", value: sum, limit: limits.decompressedBytesMax
                    )
            }
            sectionBytes = sum
        }

        return (sectionBytes, maxTimestamp)
    }

    /// Overwrites bytes 0..<8 of an encoded batch with `baseOffset`, big-endian. The base offset
    /// is outside the CRC (FORMAT.md, "CRC"), so the batch stays valid: the log writer stamps
    /// offsets after producers encoded their batches.
    ///
    /// - Precondition: `batch` holds at least 8 bytes. The caller keeps `baseOffset +
    ///   lastOffsetDelta` within Int64.
    public static func patchBaseOffset(_ baseOffset: Int64, in batch: UnsafeMutableRawBufferPointer) {
        precondition(batch.count >= 8, "patchBaseOffset needs the first 8 bytes of a batch")
        batch.storeBigEndian(baseOffset, at: RecordBatchHeader.baseOffsetPosition)
    }

    // MARK: Internals

    /// Writes the header into the first 61 bytes of `batch`, then the CRC over bytes 21..<end.
    private static func seal(_ header: RecordBatchHeader, batch: UnsafeMutableRawBufferPointer) {
        header.write(to: batch)
        let covered = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.crcCoverageStart...])
        batch.storeBigEndian(CRC32C.checksum(covered), at: RecordBatchHeader.crcPosition)
    }

    /// Bytes of a record after its length varint (FORMAT.md, "Records"). Pass 1 has checked that
    /// the timestamp delta does not overflow.
    private static func bodySize(_ record: RecordInput, index: Int, baseTimestamp: Int64) -> Int {
        var size = 1  // attributes
        size += Varint.encodedSize(record.timestamp &- baseTimestamp)
        size += Varint.encodedSize(Int32(truncatingIfNeeded: index))
        size += nullableSize(record.key?.count)
        size += nullableSize(record.value?.count)
        size += Varint.encodedSize(Int32(truncatingIfNeeded: record.headers.count))
        for header in record.headers {
            size += nullableSize(header.name.utf8.count)
            size += nullableSize(header.value?.count)
        }
        return size
    }

    /// Length varint plus bytes of a nullable field; lengths beyond Int32 make the body exceed
    /// Int32.max, which pass 1 rejects, so the truncated varint size is never used.
    private static func nullableSize(_ count: Int?) -> Int {
        guard let count else { return 1 }  // -1 zigzags to 1, one byte
        return Varint.encodedSize(Int32(truncatingIfNeeded: count)) + count
    }

    /// Writes every record into `section`, which is exactly as large as pass 1 computed.
    private static func writeRecords(
        _ records: [RecordInput], baseTimestamp: Int64, into section: UnsafeMutableRawBufferPointer
    ) {
        guard let base = section.baseAddress else { return }
        var position = 0
        for (index, record) in records.enumerated() {
            let body = bodySize(record, index: index, baseTimestamp: baseTimestamp)
            let recordEnd = position + Varint.encodedSize(Int32(body)) + body
            precondition(recordEnd <= section.count, "record sizes changed between the two passes")
            position += Varint.store(UInt64(Varint.zigzag(Int32(body))), at: base + position)
            base.storeBytes(of: 0 as UInt8, toByteOffset: position, as: UInt8.self)
            position += 1
            position += Varint.store(Varint.zigzag(record.timestamp &- baseTimestamp), at: base + position)
            position += Varint.store(UInt64(Varint.zigzag(Int32(index))), at: base + position)
            position = writeNullable(record.key, at: base, position)
            position = writeNullable(record.value, at: base, position)
            position += Varint.store(UInt64(Varint.zigzag(Int32(record.headers.count))), at: base + position)
            for header in record.headers {
                position = writeString(header.name, at: base, position)
                position = writeNullable(header.value, at: base, position)
            }
            precondition(position == recordEnd, "record sizes changed between the two passes")
        }
        precondition(position == section.count, "records section size changed between the two passes")
    }

    private static func writeNullable(_ bytes: [UInt8]?, at base: UnsafeMutableRawPointer, _ position: Int) -> Int {
        guard let bytes else {
            return position + Varint.store(UInt64(Varint.zigzag(Int32(-1))), at: base + position)
        }
        var position = position + Varint.store(UInt64(Varint.zigzag(Int32(bytes.count))), at: base + position)
        bytes.withUnsafeBytes { source in
            if let from = source.baseAddress, !source.isEmpty {
                (base + position).copyMemory(from: from, byteCount: source.count)
            }
        }
        position += bytes.count
        return position
    }

    private static func writeString(_ string: String, at base: UnsafeMutableRawPointer, _ position: Int) -> Int {
        let utf8 = string.utf8
        var position = position + Varint.store(UInt64(Varint.zigzag(Int32(utf8.count))), at: base + position)
        let copied: Void? = utf8.withContiguousStorageIfAvailable { source in
            if let from = source.baseAddress, !source.isEmpty {
                (base + position).copyMemory(from: from, byteCount: source.count)
            }
        }
        if copied == nil {
            var at = position
            for byte in utf8 {
                base.storeBytes(of: byte, toByteOffset: at, as: UInt8.self)
                at += 1
            }
        }
        position += utf8.count
        return position
    }
}
