import Glibc
import SpoolFormat

/// Writes `<base>.log.cleaned`: a sealed segment with only its live records, each keeping its
/// offset (FORMAT.md, "Compaction"). Whole batches whose records are all live are copied byte
/// for byte; partly live batches are filtered (``BatchFilter``); a run of batches with no live
/// record becomes one empty batch, so the segment's offsets stay contiguous.
///
/// The file is written, fsynced and closed; making it live is ``SegmentSwap``'s job.
/// Not thread-safe: one rewrite at a time per segment (the compactor serializes its passes).
struct SegmentRewriter {
    struct Outcome: Sendable {
        var path: String
        var bytesRead: Int64 = 0
        var bytesWritten: Int64 = 0
        var recordsKept: Int64 = 0
        var recordsRemoved: Int64 = 0
    }

    /// How the rewrite decides which records live.
    enum Keep {
        /// By offset alone: records are not decoded, only walked (acked-by-every-group compaction).
        case offsets((Int64) -> Bool)
        /// By the whole record (key compaction): every batch is decoded.
        case records((Record) -> Bool)
    }

    let options: SpoolOptions
    /// Output is written in chunks of this size.
    static let writeChunkBytes = 1 << 20
    /// The output is synced every this many bytes, so that its writeback is spread out instead
    /// of stalling the writer's syncs at the end.
    static let syncEveryBytes: Int64 = 8 << 20

    /// Rewrites `segment` keeping the records `keep` says are live.
    /// - Parameters:
    ///   - onRead: told the bytes of each batch read (for the throttle and progress); returns
    ///     false to stop, and the rewrite then throws `.closed` after deleting its `.cleaned`.
    /// - Throws: `.corruption` naming the file, position and offset for a batch that fails its
    ///   checks (nothing is changed: the live segment stays); I/O errors naming `.cleaned`
    ///   (`.diskFull` when the disk is full; the partial `.cleaned` is deleted).
    func rewrite(_ segment: Segment, keep: Keep, onRead: (Int64) -> Bool) throws -> Outcome {
        let fs = options.fileSystem
        var outcome = Outcome(path: RootLayout.segmentFile(in: segment.directory, base: segment.baseOffset, suffix: RootLayout.cleanedSuffix))
        let fd = try fs.open(outcome.path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        var closed = false
        defer { if !closed { fs.close(fd) } }
        do {
            try copyLive(segment, to: fd, keep: keep, onRead: onRead, outcome: &outcome)
            try fs.fsync(fd)
        } catch {
            fs.close(fd)
            closed = true
            try? fs.unlink(outcome.path)
            throw error.with(path: outcome.path, segment: segment.baseOffset)
        }
        fs.close(fd)
        closed = true
        return outcome
    }

    private func copyLive(_ segment: Segment, to fd: Int32, keep: Keep, onRead: (Int64) -> Bool, outcome: inout Outcome) throws {
        let end = try segment.size()
        var output: [UInt8] = []
        output.reserveCapacity(Self.writeChunkBytes + RecordBatchHeader.size)
        var written: Int64 = 0
        var synced: Int64 = 0
        var run: (first: Int64, last: Int64, maxTimestamp: Int64)? = nil
        var buffer: [UInt8] = []
        var position: Int64 = 0
        var expected = segment.baseOffset

        func emit(_ bytes: [UInt8]) throws {
            output.append(contentsOf: bytes)
            if output.count >= Self.writeChunkBytes { try flush() }
        }
        func flush() throws {
            guard !output.isEmpty else { return }
            try output.withUnsafeBytes { try options.fileSystem.write(fd, from: $0, at: written) }
            written += Int64(output.count)
            output.removeAll(keepingCapacity: true)
            if written - synced >= Self.syncEveryBytes {
                try options.fileSystem.fdatasync(fd)
                synced = written
            }
        }
        func closeRun() throws {
            if let r = run { try emit(BatchFilter.emptyBatch(first: r.first, last: r.last, maxTimestamp: r.maxTimestamp)) }
            run = nil
        }

        // Bounded: each pass moves `position` forward by a whole batch, up to the file's size.
        while position < end {
            guard let header = try segment.batchHeader(at: position, limits: options.limits), position + Int64(header.totalBytes) <= end,
                  header.baseOffset == expected else {
                throw SpoolError(.corruption, "the sealed segment holds no valid batch for offset \(expected) here; it was not compacted",
                                 path: segment.logPath, segment: segment.baseOffset, position: position, offset: expected,
                                 hint: "check it with `spool verify`; `spool repair` can quarantine it")
            }
            let total = header.totalBytes
            if buffer.count < total { buffer = [UInt8](repeating: 0, count: total) }
            let got = try buffer.withUnsafeMutableBytes { try segment.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<total]), at: position) }
            var flags: [Bool] = []
            var section: [UInt8] = []
            do {
                try buffer.withUnsafeBytes { raw in
                    let batch = UnsafeRawBufferPointer(rebasing: raw[0..<got])
                    switch keep {
                    case .offsets(let live):
                        try RecordBatchDecoder.verifyCRC(batch, header: header)
                        section = try BatchFilter.section(of: batch, header: header, limits: options.limits)
                        flags = try BatchFilter.recordOffsets(section, header: header).map(live)
                    case .records(let live):
                        flags = try RecordBatchDecoder.decode(batch, limits: options.limits).records.map(live)
                    }
                }
            } catch {
                throw SpoolError.corruption(error, path: segment.logPath, segment: segment.baseOffset, position: position, offset: header.baseOffset)
            }
            outcome.bytesRead += Int64(total)
            let kept = flags.lazy.filter { $0 }.count
            outcome.recordsKept += Int64(kept)
            outcome.recordsRemoved += Int64(flags.count - kept)
            if kept == 0 {
                if let r = run, header.lastOffset - r.first <= BatchFilter.emptyRunMax {
                    run = (r.first, header.lastOffset, max(r.maxTimestamp, header.maxTimestamp))
                } else {
                    try closeRun()
                    run = (header.baseOffset, header.lastOffset, header.maxTimestamp)
                }
            } else {
                try closeRun()
                if kept == flags.count {
                    try emit(Array(buffer[0..<total]))
                } else {
                    do {
                        if section.isEmpty {
                            section = try buffer.withUnsafeBytes { try BatchFilter.section(of: UnsafeRawBufferPointer(rebasing: $0[0..<total]), header: header, limits: options.limits) }
                        }
                        let filtered = try buffer.withUnsafeBytes { try BatchFilter.filter(UnsafeRawBufferPointer(rebasing: $0[0..<total]), header: header, section: section, keep: flags) }
                        try emit(filtered)
                    } catch let error as FormatError {
                        throw SpoolError.corruption(error, path: segment.logPath, segment: segment.baseOffset, position: position, offset: header.baseOffset)
                    }
                }
            }
            position += Int64(total)
            expected = header.nextOffset
            guard onRead(Int64(total)) else {
                throw SpoolError(.closed, "compaction stopped", path: segment.logPath, segment: segment.baseOffset)
            }
        }
        try closeRun()
        try flush()
        outcome.bytesWritten = written
    }
}
