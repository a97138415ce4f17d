import SpoolFormat

/// Reads a queue's records in offset order from any offset or timestamp, while the writer
/// appends. It reads only below the committed end, finds its starting batch through the sparse
/// index, reads whole batches with pread, and checks each batch's CRC as it decodes it.
///
/// Compressed batches are decompressed once each, into a buffer the reader reuses: records a
/// ``read(max:)`` leaves over from a batch are kept for the next call instead of being decoded
/// again.
///
/// Not thread-safe: one reader per consumer thread or task (it owns its buffer, decompression
/// state and position; copies of a reader share the decompression state, so use one copy at a
/// time).
public struct LogReader: Sendable {
    let shared: LogShared
    /// The offset of the next record this reader returns.
    public private(set) var nextOffset: Int64
    /// Where the next batch starts, when known (saves an index lookup per batch). The segment
    /// is held by identity: a compacted segment keeps its base offset but moves its batches.
    /// `previousEnd`: the offset after the batch that ends at `position` (nil when unknown), so
    /// that offset order is checked across calls too.
    private var cursor: (segment: Segment, position: Int64, previousEnd: Int64?)? = nil
    private var buffer: [UInt8] = []
    /// Records below this timestamp are skipped (set by ``seek(toTimestamp:)``).
    private var minimumTimestamp: Int64? = nil
    /// The rest of the last batch that ``read(max:)`` did not return; starts at ``nextOffset``.
    private var carried: RecordBatch? = nil
    private let decompression: DecompressionContext
    /// How each producer's transaction ended, as far as this reader has looked ahead.
    private var transactions = TransactionOutcomes()
    /// Offsets this reader stepped over without returning them because they hold no tasks:
    /// Kafka control batches and records of aborted transactions (FORMAT.md, "Control batches
    /// and transactions"). A consumer group counts them as done; see ``takePassedOver()``.
    public private(set) var passedOver: [Range<Int64>] = []
    /// ``passedOver`` keeps at most this many ranges (the oldest go) for a reader nobody drains.
    static let passedOverMax = 4096

    init(shared: LogShared, from offset: Int64) {
        self.shared = shared
        self.nextOffset = max(offset, 0)
        self.decompression = DecompressionContext(dictionaries: shared.dictionaries.lookup)
    }

    /// Compressed batches this reader has decompressed (each once, however it is read).
    public var batchesDecompressed: Int { decompression.batchesDecompressed }

    /// Returns and forgets ``passedOver``.
    public mutating func takePassedOver() -> [Range<Int64>] {
        defer { passedOver.removeAll() }
        return passedOver
    }

    private mutating func passOver(_ range: Range<Int64>) {
        guard !range.isEmpty else { return }
        if let last = passedOver.last, last.upperBound == range.lowerBound {
            passedOver[passedOver.count - 1] = last.lowerBound..<range.upperBound
            return
        }
        if passedOver.count >= Self.passedOverMax { passedOver.removeFirst(passedOver.count / 2) }
        passedOver.append(range)
    }

    /// Moves to `offset`.
    public mutating func seek(to offset: Int64) {
        nextOffset = max(offset, 0)
        cursor = nil
        minimumTimestamp = nil
        carried = nil
    }

    /// Moves to the first record whose timestamp is at least `timestamp` (milliseconds), found
    /// as Kafka finds it (`LogSegment.findOffsetByTimestamp`): the time index's last entry at
    /// or below the time, then the offset index, then a walk of batch headers. Records are in
    /// offset order; timestamps set by producers may not be, so this returns every record from
    /// the first batch whose greatest timestamp reaches `timestamp`, skipping the earlier
    /// records of that first batch only.
    /// - Throws: `.corruption` or `.io` naming the segment.
    public mutating func seek(toTimestamp timestamp: Int64) throws {
        carried = nil
        let (segments, committed) = shared.snapshot
        for segment in segments {
            let limit = try limitOf(segment, committed: committed)
            var position = try timeLookupStart(segment, timestamp, limit: limit)
            while position < limit {
                let header = try readHeader(segment, at: position, limit: limit)
                if header.maxTimestamp >= timestamp {
                    nextOffset = header.baseOffset
                    cursor = (segment, position, nil)
                    minimumTimestamp = timestamp
                    return
                }
                position += Int64(header.totalBytes)
            }
        }
        nextOffset = committed.nextOffset
        cursor = nil
    }

    /// Where a walk for the first record at or after `timestamp` starts in `segment`: the
    /// batch the offset index names for the time index's last entry at or below the time, once
    /// both entries agree with the log; else 0 (and a sealed segment's indexes are rebuilt).
    private func timeLookupStart(_ segment: Segment, _ timestamp: Int64, limit: Int64) throws -> Int64 {
        guard let (offsets, times) = indexes(of: segment, limit: limit),
            let entry = times.lastEntry(atOrBelow: timestamp)
        else { return 0 }
        let start = offsets.lookup(entry.relativeOffset)
        guard start.position > 0, Int64(start.position) < limit else { return 0 }
        let offsetEntry = OffsetIndexEntry(relativeOffset: start.relativeOffset, position: start.position)
        if (try? segment.offsetEntryBatch(offsetEntry, limits: shared.options.limits)) ?? nil != nil,
            (try? segment.timeEntryMatchesLog(entry, offsets: offsets, end: limit, limits: shared.options.limits))
                == true
        {
            return Int64(start.position)
        }
        discardIndexes(of: segment, limit: limit)
        return 0
    }

    /// The next batch holding records at or after ``nextOffset``, with earlier records removed;
    /// nil when the reader has caught up with the committed end.
    ///
    /// - Throws: `.corruption` (file, position, offset) when a batch fails its checks;
    ///   `.offsetOutOfRange` when ``nextOffset`` is below the log's start (retention or
    ///   compaction deleted the segments holding it: those records are gone; seek to
    ///   ``QueueLog/firstOffset``). A reader that is between two calls while a segment is
    ///   deleted or rewritten finishes on the file it has open.
    public mutating func nextBatch() throws -> RecordBatch? {
        if let rest = carried {
            carried = nil
            return rest
        }
        guard let (segments, committed) = try segmentsToRead() else { return nil }
        var index = segments.lastIndex { $0.baseOffset <= nextOffset }!
        // Bounded: each pass consumes a batch or moves to the next segment.
        while index < segments.count {
            let segment = segments[index]
            var (limit, position, previousEnd, followingBase) = try walkStart(
                at: index, of: segments, committed: committed)
            while position < limit {
                let header = try readHeader(segment, at: position, limit: limit)
                if position == 0 { try checkStart(header, of: segment, after: index > 0 ? segments[index - 1] : nil) }
                try checkOrder(header, in: segment, at: position, after: previousEnd, before: followingBase)
                previousEnd = header.nextOffset
                if header.nextOffset <= nextOffset {
                    position += Int64(header.totalBytes)
                    continue
                }
                // Kafka's read_committed rule (FORMAT.md, "Control batches and transactions").
                var holdsTasks = header.recordCount > 0 && !header.isControlBatch
                if holdsTasks && header.isTransactional {
                    switch try transactionOutcome(
                        of: header, after: position, in: index, of: segments, committed: committed)
                    {
                    case .committed: break
                    case .aborted: holdsTasks = false
                    case .open:
                        // The last stable offset: nothing past an unfinished transaction is read.
                        cursor = (segment, position, header.baseOffset)
                        return nil
                    }
                }
                if !holdsTasks {
                    // A control batch, an aborted transaction's records, or what compaction
                    // left of a run of removed records: nothing to return.
                    if header.recordCount > 0 { passOver(Swift.max(header.baseOffset, nextOffset)..<header.nextOffset) }
                    position += Int64(header.totalBytes)
                    nextOffset = header.nextOffset
                    cursor = (segment, position, header.nextOffset)
                    continue
                }
                var batch = try readBatch(segment, at: position, header: header)
                cursor = (segment, position + Int64(header.totalBytes), header.nextOffset)
                let wanted = nextOffset
                nextOffset = header.nextOffset
                batch.records.removeAll { $0.offset < wanted }
                if let minimum = minimumTimestamp {
                    batch.records.removeAll { $0.timestamp < minimum }
                    minimumTimestamp = nil
                }
                return batch
            }
            if index + 1 < segments.count {
                let end = previousEnd ?? (limit == 0 ? segment.baseOffset : nil)
                try checkContinuity(segment, endsAt: end, readableEnd: limit, before: followingBase)
            }
            index += 1
            guard index < segments.count else { break }
            nextOffset = max(nextOffset, segments[index].baseOffset)
            cursor = (segments[index], 0, nil)
        }
        return nil
    }

    /// The segments to read from and the committed end, or nil when there is nothing to read
    /// yet. A segment the compactor deleted or replaced under this reader is finished first
    /// (still open through the cursor), then the live ones after it.
    /// - Throws: `.offsetOutOfRange` when ``nextOffset`` is below the log start.
    private mutating func segmentsToRead() throws -> (segments: [Segment], committed: LogPosition)? {
        var (segments, committed) = shared.snapshot
        if let held = cursor?.segment, held.isRetired, held.baseOffset <= nextOffset,
            !segments.contains(where: { $0 === held })
        {
            // The compactor deleted or replaced the segment this reader is in: it finishes
            // that file (still open through `held`), then goes on with the live ones after it.
            segments = [held] + segments.filter { $0.baseOffset > held.baseOffset }
        }
        guard nextOffset < committed.nextOffset, let first = segments.first else {
            // caught up: a deleted segment's descriptor can close
            if cursor?.segment.isRetired == true { cursor = nil }
            return nil
        }
        if nextOffset < first.baseOffset {
            throw SpoolError(
                .offsetOutOfRange,
                "offset \(nextOffset) is below the log start \(first.baseOffset): retention or compaction deleted the segments that held it",
                path: shared.directory, offset: nextOffset,
                hint: "those records are gone; read from \(first.baseOffset)")
        }
        return (segments, committed)
    }

    /// Committed batches as they lie on disk, for a server that hands them on undecoded (a
    /// Kafka Fetch): whole batches from the one holding ``nextOffset``, at least one, then more
    /// while they fit in `maxBytes`. Each batch's header, offset order and CRC are checked;
    /// control and transactional batches come as they are (a Kafka client applies its own
    /// isolation). ``nextOffset`` moves past the last batch returned.
    /// - Returns: the bytes (empty when nothing more is committed), and the first batch's base
    ///   offset (which may be below the offset asked for, as in Kafka).
    /// - Throws: `.offsetOutOfRange` below the log start; `.corruption` naming the file,
    ///   position and offset of a batch that fails its checks; `.io`.
    public mutating func readBatchBytes(maxBytes: Int) throws -> (bytes: [UInt8], firstOffset: Int64?) {
        guard let (segments, committed) = try segmentsToRead() else { return ([], nil) }
        var out: [UInt8] = []
        var first: Int64? = nil
        var index = segments.lastIndex { $0.baseOffset <= nextOffset }!
        while index < segments.count {  // bounded: each pass takes a batch or moves on a segment
            let segment = segments[index]
            var (limit, position, previousEnd, followingBase) = try walkStart(
                at: index, of: segments, committed: committed)
            while position < limit {
                let header = try readHeader(segment, at: position, limit: limit)
                try checkOrder(header, in: segment, at: position, after: previousEnd, before: followingBase)
                previousEnd = header.nextOffset
                let total = header.totalBytes
                if header.nextOffset <= nextOffset {
                    position += Int64(total)
                    continue
                }
                if !out.isEmpty && out.count + total > maxBytes { return (out, first) }
                let start = out.count
                out += [UInt8](repeating: 0, count: total)
                let got = try out.withUnsafeMutableBytes { raw in
                    try segment.read(
                        into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + total]), at: position)
                }
                do {
                    try out.withUnsafeBytes { raw in
                        try RecordBatchDecoder.verifyCRC(
                            UnsafeRawBufferPointer(rebasing: raw[start..<start + got]), header: header)
                    }
                } catch {
                    throw SpoolError.corruption(
                        error, path: segment.logPath, segment: segment.baseOffset, position: position,
                        offset: header.baseOffset)
                }
                first = first ?? header.baseOffset
                position += Int64(total)
                nextOffset = header.nextOffset
                cursor = (segment, position, header.nextOffset)
            }
            index += 1
            guard index < segments.count else { break }
            nextOffset = max(nextOffset, segments[index].baseOffset)
            cursor = (segments[index], 0, nil)
        }
        return (out, first)
    }

    /// Up to `max` records from ``nextOffset`` on, across batches.
    public mutating func read(max: Int) throws -> [Record] {
        var records: [Record] = []
        var lastBatch: RecordBatch? = nil
        while records.count < max, let batch = try nextBatch() {
            records += batch.records
            lastBatch = RecordBatch(header: batch.header, records: [])
        }
        if records.count > max, var rest = lastBatch {
            // The surplus is all from the last batch (the loop stops once `max` is reached):
            // keep it, and the cursor past that batch, rather than decode the batch again.
            nextOffset = records[max].offset
            rest.records = Array(records[max...])
            carried = rest
            records.removeLast(records.count - max)
        }
        return records
    }

    // MARK: Internals

    /// How the transaction that `header` (a transactional data batch) belongs to ended: found
    /// by walking batch headers after it to its producer's next control batch (cached per
    /// producer), up to the committed end. `.open` when no marker is there yet.
    /// - Throws: `.corruption` or `.io` naming the segment of a batch on the way.
    private mutating func transactionOutcome(
        of header: RecordBatchHeader, after start: Int64, in first: Int,
        of segments: [Segment], committed: LogPosition
    ) throws -> TransactionOutcomes.Outcome {
        if let known = transactions.outcome(producerId: header.producerId, batchOffset: header.baseOffset) {
            return known
        }
        var position = start + Int64(header.totalBytes)
        // Bounded: each pass moves past one batch or to the next segment, up to the committed end.
        for index in first..<segments.count {
            let segment = segments[index]
            let limit = try limitOf(segment, committed: committed)
            if index > first { position = 0 }
            while position < limit {
                let next = try readHeader(segment, at: position, limit: limit)
                if next.isControlBatch && next.producerId == header.producerId && next.recordCount > 0 {
                    let marker = try readBatch(segment, at: position, header: next)
                    let type: ControlRecordType?
                    do { type = try ControlRecordType.decode(key: marker.records.first?.key) } catch {
                        throw SpoolError.corruption(
                            error, path: segment.logPath, segment: segment.baseOffset, position: position,
                            offset: next.baseOffset)
                    }
                    if let type {
                        return transactions.record(
                            producerId: header.producerId, batchOffset: header.baseOffset,
                            markerOffset: next.baseOffset, committed: type == .commit)
                    }
                }
                position += Int64(next.totalBytes)
            }
        }
        return .open
    }

    /// Where a walk of `segments[index]` starts: its readable end, the position to look from,
    /// the offset the batch before that position ended at (when the cursor knows it), and the
    /// offset this segment's batches must end at (the next segment's base, or the committed end).
    /// - Throws: as ``limitOf(_:committed:)``.
    private func walkStart(
        at index: Int, of segments: [Segment], committed: LogPosition
    ) throws
        -> (limit: Int64, position: Int64, previousEnd: Int64?, followingBase: Int64)
    {
        let segment = segments[index]
        let limit = try limitOf(segment, committed: committed)
        let position = startPosition(in: segment, limit: limit)
        var previousEnd: Int64? = nil
        if let cursor, cursor.segment === segment, cursor.position == position { previousEnd = cursor.previousEnd }
        let followingBase = index + 1 < segments.count ? segments[index + 1].baseOffset : committed.nextOffset
        return (limit, position, previousEnd, followingBase)
    }

    /// Readable bytes of a segment: the committed position for the active one, the file for sealed ones.
    private func limitOf(_ segment: Segment, committed: LogPosition) throws -> Int64 {
        if segment.baseOffset == committed.segment { return committed.position }
        if segment.baseOffset > committed.segment { return 0 }
        // A segment deleted under the reader has nothing left to read; any other failure (too
        // many open files, I/O) is thrown as itself, never read as an empty segment (a gap).
        do { return try segment.size() } catch let error as SpoolError where error.code == .notFound { return 0 }
    }

    private func indexes(of segment: Segment, limit: Int64) -> (OffsetIndex, TimeIndex)? {
        segment.openIndexes ?? segment.sealedIndexes(validEnd: limit, options: shared.options)
    }

    /// Where to start looking for ``nextOffset`` in `segment`: the saved cursor, else the index.
    private func startPosition(in segment: Segment, limit: Int64) -> Int64 {
        if let cursor, cursor.segment === segment, cursor.position <= limit { return cursor.position }
        guard let (offsets, _) = indexes(of: segment, limit: limit) else { return 0 }
        let entry = offsets.lookup(UInt32(clamping: nextOffset - segment.baseOffset))
        guard entry.position > 0, Int64(entry.position) < limit else { return 0 }
        // An index from another segment, or stale, points at the wrong batch: do not trust it.
        if let header = try? readHeader(segment, at: Int64(entry.position), limit: limit),
            header.lastOffset == segment.baseOffset + Int64(entry.relativeOffset)
        {
            return Int64(entry.position)
        }
        discardIndexes(of: segment, limit: limit)
        return 0
    }

    /// An index entry pointed at the wrong batch: rebuild a sealed segment's indexes (the
    /// active segment's are the writer's, checked at open, and are left alone).
    private func discardIndexes(of segment: Segment, limit: Int64) {
        shared.options.logger.warning(
            "index does not match its segment; rebuilding it", metadata: ["file": "\(segment.indexPath)"])
        if segment.baseOffset != shared.snapshot.committed.segment {
            segment.discardIndexes(validEnd: limit, options: shared.options)
        }
    }

    /// A batch's offsets must lie in its segment (from its base offset to the next segment's, or
    /// to the committed end for the last one)
    /// and follow the batch before it: a damaged `baseOffset` (which no CRC covers) would
    /// otherwise make the walk skip the batches after it as already read. Gaps are allowed
    /// (compaction leaves them); going backwards is not.
    /// - Throws: `.corruption` naming the file, position and offset.
    private func checkOrder(
        _ header: RecordBatchHeader, in segment: Segment, at position: Int64,
        after previousEnd: Int64?, before followingBase: Int64
    ) throws {
        let problem: String
        if header.baseOffset < segment.baseOffset {
            problem = "batch at offset \(header.baseOffset) lies below its segment's base offset \(segment.baseOffset)"
        } else if header.nextOffset > followingBase {
            problem =
                "batch at offsets \(header.baseOffset)–\(header.nextOffset - 1) runs past offset \(followingBase), where the next segment or the log's committed end is"
        } else if let previousEnd, header.baseOffset < previousEnd {
            problem =
                "batch at offset \(header.baseOffset) follows a batch that ends at offset \(previousEnd - 1): offsets go backwards"
        } else {
            return
        }
        throw SpoolError(
            .corruption, problem, path: segment.logPath, segment: segment.baseOffset, position: position,
            offset: header.baseOffset,
            hint: "the batch's baseOffset was damaged; inspect the segment with `spool dump`")
    }

    /// A segment's first batch starts at the offset its name gives. One that starts higher was
    /// renamed to a lower base (or another segment overlaps it): reading on would skip the
    /// offsets between, which the segment before may hold, so the reader stops instead.
    /// - Throws: `.corruption` naming the segment and the one before it.
    private func checkStart(_ header: RecordBatchHeader, of segment: Segment, after previous: Segment?) throws {
        guard header.baseOffset > segment.baseOffset else { return }
        let before =
            previous.map { "; the segment before it, \($0.logPath), may hold offsets up to there: the two overlap" }
            ?? ""
        throw SpoolError(
            .corruption,
            "\(segment.logPath) is named for offset \(segment.baseOffset) but its first batch starts at offset \(header.baseOffset)\(before)",
            path: segment.logPath, segment: segment.baseOffset, position: 0, offset: segment.baseOffset,
            hint:
                "a segment was renamed or copied in; rename it back to the base offset of its first batch (`spool dump` shows it), then run `spool verify`"
        )
    }

    /// A sealed segment's records end where the next segment's begin: compaction keeps offsets
    /// contiguous (FORMAT.md, "Compaction"), so a shortfall is a segment cut at a batch boundary,
    /// which no CRC can see. The one gap allowed is one `spool repair` made and kept a file for
    /// (``RepairGap``); the directory is listed only when a gap is found.
    /// - Throws: `.corruption` naming the segment, its end and the records missing.
    private func checkContinuity(
        _ segment: Segment, endsAt end: Int64?, readableEnd: Int64, before followingBase: Int64
    ) throws {
        guard let end, end < followingBase else { return }
        let finding = DamageRule.segmentStart(followingBase, expected: end) {
            let names = (try? shared.options.fileSystem.listDirectory(shared.directory)) ?? []
            return RepairGap.keptFile(among: names, gapStart: end, previousBase: segment.baseOffset) != nil
        }
        guard let finding, DamageRule.verdict(finding, at: .synced) == .corruption else { return }
        throw SpoolError(
            .corruption,
            "the segment ends at offset \(end) but the next one starts at \(followingBase): \(followingBase - end) records are missing",
            path: segment.logPath, segment: segment.baseOffset, position: readableEnd, offset: end,
            hint:
                "the segment was cut short; restore it from a copy, or accept the loss with a Repairer whose acceptGaps is true to keep reading past the gap"
        )
    }

    private func readHeader(_ segment: Segment, at position: Int64, limit: Int64) throws -> RecordBatchHeader {
        var raw = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        let got = try raw.withUnsafeMutableBytes { (buffer) in try segment.read(into: buffer, at: position) }
        let header: RecordBatchHeader
        do {
            header = try raw.withUnsafeBytes { (buffer) in
                try RecordBatchHeader.decode(
                    UnsafeRawBufferPointer(rebasing: buffer[0..<got]), limits: shared.options.limits)
            }
        } catch {
            throw SpoolError.corruption(
                error, path: segment.logPath, segment: segment.baseOffset, position: position, offset: nextOffset)
        }
        // partitionLeaderEpoch is not checked: Kafka producers write -1 and brokers their
        // leader epoch, and Kafka keeps the field outside the CRC on purpose (FORMAT.md,
        // "Batch header").
        if position + Int64(header.totalBytes) > limit {
            throw SpoolError(
                .corruption, "batch of \(header.totalBytes) bytes runs past the readable end \(limit)",
                path: segment.logPath, segment: segment.baseOffset, position: position, offset: header.baseOffset)
        }
        return header
    }

    private mutating func readBatch(
        _ segment: Segment, at position: Int64, header: RecordBatchHeader
    ) throws -> RecordBatch {
        let total = header.totalBytes
        if buffer.count < total { buffer = [UInt8](repeating: 0, count: total) }
        let got = try buffer.withUnsafeMutableBytes { (raw) in
            try segment.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<total]), at: position)
        }
        do {
            return try buffer.withUnsafeBytes { (raw) in
                try RecordBatchDecoder.decode(
                    UnsafeRawBufferPointer(rebasing: raw[0..<got]), limits: shared.options.limits,
                    context: decompression)
            }
        } catch {
            throw SpoolError.corruption(
                error, path: segment.logPath, segment: segment.baseOffset, position: position, offset: header.baseOffset
            )
        }
    }
}
