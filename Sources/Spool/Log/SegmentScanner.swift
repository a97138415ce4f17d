import SpoolFormat

/// Recovery's and index rebuilds' policy over ``BatchWalker``: from a position, every batch
/// must continue the offsets and pass its CRC; the scan says where the valid data ends and
/// why. Used by recovery (past the recovery point) and by index rebuilds.
///
/// Not thread-safe (the walk owns its buffer); make one per scan.
struct SegmentScanner {
    /// Why a scan stopped.
    enum Stop: Equatable, Sendable {
        /// The file ended exactly after a batch.
        case endOfFile
        /// Zero bytes where the next batch would start: preallocated space, the normal end.
        case zeros
        /// The bytes at `end` are not a valid next batch.
        case invalid(String)
    }

    struct Result: Sendable {
        /// Position just after the last valid batch.
        var end: Int64
        /// Offset the next batch must start at.
        var nextOffset: Int64
        var batches: Int
        var records: Int64
        var maxTimestamp: Int64
        var stop: Stop
    }

    static let chunkBytes = 1 << 20
    /// The widest bounds a RecordBatch v2 header can have (FORMAT.md, "Limits").
    static let framingLimits = FormatLimits(batchBytesMax: Int(Int32.max), recordsPerBatchMax: Int(Int32.max))

    let fileSystem: any FileSystem
    let path: String
    let fd: Int32
    let limits: FormatLimits
    /// Whether to check each batch's CRC (recovery and verify do; an index rebuild of data below
    /// the recovery point need not).
    var checkCRC = true
    /// Whether a batch may start past the previous one's next offset (never before it). Logs
    /// Spool writes have no gaps, compacted segments included (FORMAT.md, "Compaction"); this
    /// is for summaries and index rebuilds of segments written by other tools.
    var allowOffsetGaps = false
    /// Keeps `fd` open while the scanner exists (``Segment/scanner(limits:)``); nil for a
    /// descriptor the caller owns.
    var lease: DescriptorLease? = nil

    /// Scans from `start` (expecting a batch for offset `nextOffset` there) to `limit` (the file
    /// size or the committed end), calling `onBatch(header, position)` for each valid batch.
    /// The walk is ``BatchWalker``'s; this policy stops at the first batch that breaks offset
    /// continuity or its CRC.
    /// - Throws: I/O errors, and `.limitExceeded` for a sound batch above this root's limits;
    ///   bad data ends the scan with `.invalid`.
    func scan(
        from start: Int64, limit: Int64, nextOffset firstOffset: Int64,
        onBatch: (RecordBatchHeader, Int64) -> Void = { _, _ in }
    ) throws -> Result {
        var result = Result(
            end: start, nextOffset: firstOffset, batches: 0, records: 0, maxTimestamp: .min, stop: .endOfFile)
        var invalid: String? = nil
        // Framing is checked against the format's own bounds, not this root's limits: a batch
        // written under larger limits is not damage, and must never be cut.
        var walker = BatchWalker(fileSystem: fileSystem, fd: fd, path: path, headerLimits: Self.framingLimits)
        walker.chunkBytes = Self.chunkBytes
        let outcome = try walker.walk(from: start, limit: limit) { batch in
            invalid = try check(batch, expected: result.nextOffset)
            guard invalid == nil else { return false }
            onBatch(batch.header, batch.position)
            result.nextOffset = batch.header.nextOffset
            result.batches += 1
            result.records += Int64(batch.header.recordCount)
            result.maxTimestamp = max(result.maxTimestamp, batch.header.maxTimestamp)
            return true
        }
        result.end = outcome.end
        switch outcome.stop {
        case .endOfData: result.stop = .endOfFile
        case .zeros: result.stop = .zeros
        case .declined: result.stop = .invalid(invalid ?? outcome.stop.reason(limit: limit))
        default: result.stop = .invalid(outcome.stop.reason(limit: limit))
        }
        return result
    }

    /// Why `batch` cannot continue the log (its offset, its CRC), or nil when it can.
    /// - Throws: `.limitExceeded` for a sound batch above this root's limits.
    private func check(_ batch: BatchWalker.Batch, expected: Int64) throws -> String? {
        let header = batch.header
        if header.baseOffset != expected && !(allowOffsetGaps && header.baseOffset > expected) {
            return "batch starts at offset \(header.baseOffset), expected \(expected)"
        }
        if checkCRC {
            do { try RecordBatchDecoder.verifyCRC(batch.bytes, header: header) } catch { return "\(error)" }
        }
        if header.totalBytes > limits.batchBytesMax || Int(header.recordCount) > limits.recordsPerBatchMax {
            throw SpoolError(
                .limitExceeded,
                "a valid batch of \(header.totalBytes) bytes and \(header.recordCount) records is above this root's limits (\(limits.batchBytesMax) bytes, \(limits.recordsPerBatchMax) records)",
                path: path, position: batch.position, offset: header.baseOffset,
                hint: "open with limits at least as large as the ones the log was written with")
        }
        return nil
    }

    /// Whether bytes [from, to) of the file are all zero (the preallocated space past the tail).
    /// Returns the position just after the last non-zero byte, or nil when all are zero.
    /// - Throws: I/O errors naming the path.
    func lastNonZero(from: Int64, to: Int64) throws -> Int64? {
        try BatchWalker(fileSystem: fileSystem, fd: fd, path: path, headerLimits: Self.framingLimits).lastNonZero(
            from: from, to: to)
    }
}
