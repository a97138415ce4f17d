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
        var outcome = Outcome(
            path: RootLayout.segmentFile(
                in: segment.directory, base: segment.baseOffset, suffix: RootLayout.cleanedSuffix))
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

    private func copyLive(
        _ segment: Segment, to fd: Int32, keep: Keep, onRead: (Int64) -> Bool, outcome: inout Outcome
    ) throws {
        let end = try segment.size()
        var output: [UInt8] = []
        output.reserveCapacity(Self.writeChunkBytes + RecordBatchHeader.size)
        var written: Int64 = 0
        var synced: Int64 = 0
        var run: (first: Int64, last: Int64, maxTimestamp: Int64)? = nil

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
            if let r = run {
                try emit(BatchFilter.emptyBatch(first: r.first, last: r.last, maxTimestamp: r.maxTimestamp))
            }
            run = nil
        }

        // The walk (``BatchWalker``) frames each batch; this policy wants every one, in offset
        // order, up to the end of the sealed file.
        let lease = try DescriptorLease(segment)
        let walker = BatchWalker(
            fileSystem: options.fileSystem, fd: lease.fd, path: segment.logPath, headerLimits: options.limits)
        var expected = segment.baseOffset
        let walked = try walker.walk(from: 0, limit: end) { batch in
            guard batch.header.baseOffset == expected else { return false }
            let (flags, section) = try liveFlags(batch, keep: keep, in: segment)
            outcome.bytesRead += Int64(batch.bytes.count)
            let kept = flags.lazy.filter { $0 }.count
            outcome.recordsKept += Int64(kept)
            outcome.recordsRemoved += Int64(flags.count - kept)
            let header = batch.header
            if kept == 0 {
                if let r = run, header.lastOffset - r.first <= BatchFilter.emptyRunMax {
                    run = (r.first, header.lastOffset, max(r.maxTimestamp, header.maxTimestamp))
                } else {
                    try closeRun()
                    run = (header.baseOffset, header.lastOffset, header.maxTimestamp)
                }
            } else {
                try closeRun()
                try emit(
                    kept == flags.count
                        ? Array(batch.bytes) : try filtered(batch, keeping: flags, section: section, in: segment))
            }
            expected = header.nextOffset
            guard onRead(Int64(batch.bytes.count)) else {
                throw SpoolError(.closed, "compaction stopped", path: segment.logPath, segment: segment.baseOffset)
            }
            return true
        }
        guard walked.stop == .endOfData else {
            throw SpoolError(
                .corruption,
                "the sealed segment holds no valid batch for offset \(expected) here (\(walked.stop.reason(limit: end))); it was not compacted",
                path: segment.logPath, segment: segment.baseOffset, position: walked.end, offset: expected,
                hint: "check it with `spool verify`; `spool repair` can quarantine it")
        }
        try closeRun()
        try flush()
        outcome.bytesWritten = written
    }

    /// Which records of `batch` stay (checking its CRC first, where only offsets are asked),
    /// and its records section when it was decompressed for that.
    /// - Throws: `.corruption` naming the segment, position and offset.
    private func liveFlags(_ batch: BatchWalker.Batch, keep: Keep, in segment: Segment) throws -> ([Bool], [UInt8]?) {
        do {
            switch keep {
            case .offsets(let live):
                try RecordBatchDecoder.verifyCRC(batch.bytes, header: batch.header)
                let section = try BatchFilter.section(of: batch.bytes, header: batch.header, limits: options.limits)
                return (try BatchFilter.recordOffsets(section, header: batch.header).map(live), section)
            case .records(let live):
                return (try RecordBatchDecoder.decode(batch.bytes, limits: options.limits).records.map(live), nil)
            }
        } catch {
            throw SpoolError.corruption(
                error, path: segment.logPath, segment: segment.baseOffset, position: batch.position,
                offset: batch.header.baseOffset)
        }
    }

    /// `batch` with only the records `flags` keeps.
    /// - Throws: `.corruption` naming the segment, position and offset.
    private func filtered(
        _ batch: BatchWalker.Batch, keeping flags: [Bool], section: [UInt8]?, in segment: Segment
    ) throws -> [UInt8] {
        do {
            let section =
                try section ?? BatchFilter.section(of: batch.bytes, header: batch.header, limits: options.limits)
            return try BatchFilter.filter(batch.bytes, header: batch.header, section: section, keep: flags)
        } catch {
            throw SpoolError.corruption(
                error, path: segment.logPath, segment: segment.baseOffset, position: batch.position,
                offset: batch.header.baseOffset)
        }
    }
}
