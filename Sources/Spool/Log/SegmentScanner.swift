import SpoolFormat

/// Walks the batches of one segment file from a position, checking each one's header, CRC-32C
/// and offset continuity, and says where the valid data ends and why. Used by recovery (past
/// the recovery point), and by index rebuilds.
///
/// Reads in chunks of at most `chunkBytes` with pread; the loop is bounded by the file's size.
/// Not thread-safe (it owns its buffer); make one per scan.
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
    /// - Throws: only I/O errors; bad data ends the scan with `.invalid`.
    func scan(
        from start: Int64, limit: Int64, nextOffset firstOffset: Int64,
        onBatch: (RecordBatchHeader, Int64) -> Void = { _, _ in }
    ) throws -> Result {
        var result = Result(end: start, nextOffset: firstOffset, batches: 0, records: 0, maxTimestamp: .min, stop: .endOfFile)
        var buffer = [UInt8](repeating: 0, count: min(Self.chunkBytes, max(Int(limit - start), 0)) + RecordBatchHeader.size)
        var bufferStart = start, bufferCount = 0
        var position = start
        while position < limit {
            // Make sure the header is in the buffer.
            if position + Int64(RecordBatchHeader.size) > bufferStart + Int64(bufferCount) {
                try fill(&buffer, &bufferStart, &bufferCount, from: position, limit: limit)
            }
            let available = Int(bufferStart + Int64(bufferCount) - position)
            let local = Int(position - bufferStart)
            if available < RecordBatchHeader.size {
                let allZero = buffer[local..<local + available].allSatisfy { $0 == 0 }
                result.stop = allZero ? .zeros : .invalid("\(available) bytes at the end are too short for a batch header")
                return result
            }
            let header: RecordBatchHeader
            do {
                // Framing is checked against the format's own bounds, not this root's limits:
                // a batch written under larger limits is not damage, and must never be cut.
                header = try buffer.withUnsafeBytes { (raw) in
                    try RecordBatchHeader.decode(UnsafeRawBufferPointer(rebasing: raw[local..<local + available]), limits: Self.framingLimits)
                }
            } catch {
                let zero = buffer[local..<local + RecordBatchHeader.lengthFieldEnd].allSatisfy { $0 == 0 }
                result.stop = zero ? .zeros : .invalid("\(error)")
                return result
            }
            let total = header.totalBytes
            if position + Int64(total) > limit {
                result.stop = .invalid("batch of \(total) bytes runs past the end of the data at \(limit)")
                return result
            }
            if header.baseOffset != result.nextOffset && !(allowOffsetGaps && header.baseOffset > result.nextOffset) {
                result.stop = .invalid("batch starts at offset \(header.baseOffset), expected \(result.nextOffset)")
                return result
            }
            if checkCRC {
                if position + Int64(total) > bufferStart + Int64(bufferCount) {
                    if total + RecordBatchHeader.size > buffer.count { buffer = [UInt8](repeating: 0, count: total + RecordBatchHeader.size) }
                    try fill(&buffer, &bufferStart, &bufferCount, from: position, limit: limit)
                }
                let local = Int(position - bufferStart)
                do {
                    try buffer.withUnsafeBytes { (raw) in
                        try RecordBatchDecoder.verifyCRC(UnsafeRawBufferPointer(rebasing: raw[local..<local + total]), header: header)
                    }
                } catch {
                    result.stop = .invalid("\(error)")
                    return result
                }
            }
            if total > limits.batchBytesMax || Int(header.recordCount) > limits.recordsPerBatchMax {
                throw SpoolError(
                    .limitExceeded, "a valid batch of \(total) bytes and \(header.recordCount) records is above this root's limits (\(limits.batchBytesMax) bytes, \(limits.recordsPerBatchMax) records)",
                    path: path, position: position, offset: header.baseOffset,
                    hint: "open with limits at least as large as the ones the log was written with")
            }
            onBatch(header, position)
            position += Int64(total)
            result.end = position
            result.nextOffset = header.nextOffset
            result.batches += 1
            result.records += Int64(header.recordCount)
            result.maxTimestamp = max(result.maxTimestamp, header.maxTimestamp)
        }
        result.stop = .endOfFile
        return result
    }

    /// Refills the buffer from `position`, as far as it holds and the data goes (callers size the
    /// buffer for what they need first).
    private func fill(
        _ buffer: inout [UInt8], _ bufferStart: inout Int64, _ bufferCount: inout Int,
        from position: Int64, limit: Int64
    ) throws {
        let want = Int(min(Int64(buffer.count), limit - position))
        let got = try buffer.withUnsafeMutableBytes { (raw) in
            try fileSystem.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
        }
        bufferStart = position
        bufferCount = got
    }

    /// Whether bytes [from, to) of the file are all zero (the preallocated space past the tail).
    /// Returns the position just after the last non-zero byte, or nil when all are zero.
    func lastNonZero(from: Int64, to: Int64) throws -> Int64? {
        var buffer = [UInt8](repeating: 0, count: Self.chunkBytes)
        var position = from
        var last: Int64? = nil
        while position < to {
            let want = Int(min(Int64(buffer.count), to - position))
            let got = try buffer.withUnsafeMutableBytes { (raw) in
                try fileSystem.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
            }
            if got == 0 { break }
            if let i = buffer[0..<got].lastIndex(where: { $0 != 0 }) { last = position + Int64(i) + 1 }
            position += Int64(got)
        }
        return last
    }
}
