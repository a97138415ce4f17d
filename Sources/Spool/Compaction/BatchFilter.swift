import SpoolFormat

/// Rewrites one batch keeping only some of its records, the way Kafka's log cleaner does
/// (FORMAT.md, "Compaction"): the header keeps its base offset, last offset delta, timestamps
/// and producer fields, so offsets and the time index's promises do not move; only the record
/// count, the batch length and the CRC change. Each kept record's bytes are copied unchanged
/// (its offset and timestamp deltas are relative to the unchanged header). A compressed records
/// section is decompressed, filtered and compressed again with the same codec.
///
/// Pure functions over bytes; thread-safe.
enum BatchFilter {
    /// The records section of `batch` (a whole, CRC-checked batch), decompressed when its
    /// codec compresses it.
    /// - Throws: `FormatError` for an unknown codec or a section that does not decompress.
    static func section(
        of batch: UnsafeRawBufferPointer, header: RecordBatchHeader, limits: FormatLimits
    ) throws -> [UInt8] {
        let codec = try header.codec()
        let raw = UnsafeRawBufferPointer(rebasing: batch[RecordBatchHeader.size..<header.totalBytes])
        return codec == .none
            ? Array(raw) : try BatchDecompressor.decompress(raw, codec: codec, limit: limits.decompressedBytesMax)
    }

    /// The offset of each record of a records section, from its length, attributes, timestamp
    /// delta and offset delta only (no key, value or header is copied): enough to decide what
    /// to keep when only offsets matter.
    /// - Throws: `FormatError.malformedRecord` when a record runs past the section, or when the
    ///   section does not hold exactly `recordCount` records.
    static func recordOffsets(_ section: [UInt8], header: RecordBatchHeader) throws -> [Int64] {
        var offsets: [Int64] = []
        offsets.reserveCapacity(Int(header.recordCount))
        try section.withUnsafeBytes { raw in
            var at = 0
            for index in 0..<Int(header.recordCount) {
                let start = at
                do {
                    let length = try Varint.decodeInt32(raw, at: &at)
                    let end = at + Int(length)
                    guard length > 0, end <= raw.count else {
                        throw FormatError.malformedRecord(
                            index: index, position: start,
                            reason: "record length \(length) runs past the records section")
                    }
                    at += 1  // attributes
                    _ = try Varint.decodeInt64(raw, at: &at)  // timestamp delta
                    let delta = try Varint.decodeInt32(raw, at: &at)
                    guard at <= end, delta >= 0, delta <= header.lastOffsetDelta else {
                        throw FormatError.malformedRecord(
                            index: index, position: start, reason: "offset delta \(delta) outside the batch")
                    }
                    offsets.append(header.baseOffset + Int64(delta))
                    at = end
                } catch let error as FormatError {
                    throw error
                }
            }
            guard at == raw.count else {
                throw FormatError.malformedRecord(
                    index: Int(header.recordCount), position: at, reason: "bytes after the last record")
            }
        }
        return offsets
    }

    /// `batch` (a whole, CRC-checked batch) with only the records whose `keep` flag is set, at
    /// least one; `section` is its records section, decompressed (``section(of:header:limits:)``).
    /// - Throws: `FormatError` when the records section cannot be walked or recompressed.
    static func filter(
        _ batch: UnsafeRawBufferPointer, header: RecordBatchHeader, section: [UInt8], keep: [Bool]
    ) throws -> [UInt8] {
        precondition(keep.count == Int(header.recordCount) && keep.contains(true))
        let codec = try header.codec()
        let kept = try keptRecords(section, keep: keep)
        var out = Array(batch[0..<RecordBatchHeader.size])
        try compress(kept, codec: codec, into: &out)
        out.withUnsafeMutableBytes { bytes in
            bytes.storeBigEndian(
                Int32(bytes.count - RecordBatchHeader.lengthFieldEnd), at: RecordBatchHeader.batchLengthPosition)
            bytes.storeBigEndian(Int32(keep.lazy.filter { $0 }.count), at: RecordBatchHeader.recordCountPosition)
            bytes.storeBigEndian(
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart...])),
                at: RecordBatchHeader.crcPosition)
        }
        return out
    }

    /// The bytes of the kept records of an uncompressed records section, each copied whole.
    private static func keptRecords(_ section: [UInt8], keep: [Bool]) throws -> [UInt8] {
        var kept: [UInt8] = []
        kept.reserveCapacity(section.count)
        var at = 0
        for index in 0..<keep.count {
            let start = at
            let length = try section.withUnsafeBytes { raw -> Int32 in
                do { return try Varint.decodeInt32(raw, at: &at) } catch { throw error }
            }
            guard length >= 0, at + Int(length) <= section.count else {
                throw FormatError.malformedRecord(
                    index: index, position: start, reason: "record length \(length) runs past the records section")
            }
            at += Int(length)
            if keep[index] { kept.append(contentsOf: section[start..<at]) }
        }
        return kept
    }

    private static func compress(_ input: [UInt8], codec: CompressionCodec, into out: inout [UInt8]) throws {
        var result = out
        try input.withUnsafeBytes { raw in
            do { try BatchCompressor.compress(raw, codec: codec, into: &result) } catch { throw error }
        }
        out = result
    }

    /// The largest run of offsets one empty batch can stand for (`lastOffsetDelta` is an int32).
    static let emptyRunMax = Int64(Int32.max)

    /// A batch with no records that stands for offsets `first...last`, all removed: it keeps the
    /// segment's batches contiguous in offset, so recovery, indexes and readers need no notion
    /// of gaps. 61 bytes; `maxTimestamp` is the largest timestamp of the removed batches.
    static func emptyBatch(first: Int64, last: Int64, maxTimestamp: Int64) -> [UInt8] {
        precondition(last >= first && last - first <= emptyRunMax)
        var out = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        out.withUnsafeMutableBytes { bytes in
            bytes.storeBigEndian(first, at: RecordBatchHeader.baseOffsetPosition)
            bytes.storeBigEndian(Int32(RecordBatchHeader.minimumBatchLength), at: RecordBatchHeader.batchLengthPosition)
            bytes.storeBigEndian(
                RecordBatchEncoder.spoolPartitionLeaderEpoch, at: RecordBatchHeader.partitionLeaderEpochPosition)
            bytes.storeBigEndian(UInt8(bitPattern: RecordBatchHeader.currentMagic), at: RecordBatchHeader.magicPosition)
            bytes.storeBigEndian(Int16(0), at: RecordBatchHeader.attributesPosition)
            bytes.storeBigEndian(Int32(last - first), at: RecordBatchHeader.lastOffsetDeltaPosition)
            bytes.storeBigEndian(maxTimestamp, at: RecordBatchHeader.baseTimestampPosition)
            bytes.storeBigEndian(maxTimestamp, at: RecordBatchHeader.maxTimestampPosition)
            bytes.storeBigEndian(RecordBatchEncoder.spoolProducerId, at: RecordBatchHeader.producerIdPosition)
            bytes.storeBigEndian(RecordBatchEncoder.spoolProducerEpoch, at: RecordBatchHeader.producerEpochPosition)
            bytes.storeBigEndian(RecordBatchEncoder.spoolBaseSequence, at: RecordBatchHeader.baseSequencePosition)
            bytes.storeBigEndian(Int32(0), at: RecordBatchHeader.recordCountPosition)
            bytes.storeBigEndian(
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart...])),
                at: RecordBatchHeader.crcPosition)
        }
        return out
    }
}
