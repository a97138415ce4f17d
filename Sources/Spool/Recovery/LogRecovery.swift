import Glibc
import Logging
import SpoolFormat

/// Brings a queue's directory back to a consistent log when it is opened (DESIGN.md,
/// "Recovery and compaction"; FORMAT.md, "Recovery point"):
///
/// 0. finishes or rolls back an interrupted compaction (``CompactionLeftovers``);
/// 1. removes leftover `*.tmp` files of interrupted atomic writes;
/// 2. lists segments (a `.log` whose name is not 20 digits is an error, not ignored);
/// 3. reads the recovery point and scans only past it, CRC-checking each batch;
/// 4. cuts a torn tail of the last segment (the cut bytes are kept as `.broken`), or, for
///    damage that cannot be a torn tail (a sealed segment, or a recovery point past the data),
///    fails with the file, position and offset unless the policy is `.salvage`;
/// 5. loads the active segment's indexes, rebuilding them when they are wrong.
///
/// Sealed segments are not read: recovery time depends on the bytes since the last checkpoint.
enum LogRecovery {
    struct Outcome {
        var segments: [Segment]
        var active: Segment
        var checkpoint: RecoveryPoint
        var report: RecoveryReport
    }

    static func recover(directory: String, name: String, options: SpoolOptions) throws -> Outcome {
        let fs = options.fileSystem
        let started = options.clock.monotonicNanoseconds()
        var report = RecoveryReport()
        // An interrupted compaction is finished or rolled back first (FORMAT.md, "Compaction").
        let leftovers = try CompactionLeftovers.plan(in: directory, fileSystem: fs)
        try CompactionLeftovers.apply(leftovers, in: directory, fileSystem: fs)
        for action in leftovers {
            report.compactionLeftovers.append(action.description)
            options.logger.notice("resolved a compaction leftover", metadata: ["action": "\(action)"])
        }
        let names = try fs.listDirectory(directory)
        for file in names where file.hasSuffix(AtomicFile.temporarySuffix) {
            try fs.unlink(directory + "/" + file)
            report.removedTemporaryFiles.append(file)
            options.logger.notice("removed leftover temp file", metadata: ["file": "\(directory)/\(file)"])
        }
        var bases: [Int64] = []
        for file in names where file.hasSuffix(SegmentName.logSuffix) {
            guard let base = SegmentName.parseLog(file) else {
                throw SpoolError(
                    .invalidArgument, "a .log file whose name is not a 20-digit base offset is in the queue directory",
                    path: directory + "/" + file,
                    hint: "segments are named like 00000000000000000000.log; move this file out of the queue directory")
            }
            bases.append(base)
        }
        bases.sort()
        if bases.isEmpty {
            let segment = try Segment(directory: directory, baseOffset: 0, writable: true, create: true, fileSystem: fs)
            try installWritableIndexes(segment, options: options)
            try fs.syncDirectory(directory)
            let point = RecoveryPoint(segment: 0, position: 0, nextOffset: 0)
            report.segments = 1
            report.seconds = seconds(since: started, options.clock)
            return Outcome(segments: [segment], active: segment, checkpoint: point, report: report)
        }
        var segments: [Segment] = []
        for base in bases {
            segments.append(try Segment(directory: directory, baseOffset: base, writable: true, create: false, fileSystem: fs))
        }
        report.segments = segments.count
        report.firstOffset = bases[0]
        let rpPath = directory + "/" + RecoveryPoint.fileName
        let stored = try RecoveryPoint.read(in: directory, fileSystem: fs)
        var start: RecoveryPoint
        if let stored, let index = bases.firstIndex(of: stored.segment) {
            start = stored
            let size = try segments[index].size()
            if stored.position > size {
                let error = SpoolError(
                    .corruption, "the recovery point says \(stored.position) bytes are synced, but the segment holds \(size)",
                    path: segments[index].logPath, segment: stored.segment, position: size, offset: stored.nextOffset,
                    hint: "the segment was truncated after it was synced; restore it from a copy, or open with corruptionPolicy .salvage to continue from what is left")
                guard options.corruptionPolicy == .salvage else { throw error }
                options.logger.error("salvage: recovery point past the data", metadata: ["error": "\(error)"])
                start = RecoveryPoint(segment: stored.segment, position: 0, nextOffset: stored.segment)
            }
        } else {
            if let stored, stored.segment > bases.last! {
                throw SpoolError(
                    .corruption, "the recovery point names segment \(stored.segment), which is missing",
                    path: rpPath, segment: stored.segment, offset: stored.nextOffset,
                    hint: "segment files were deleted or moved; restore them")
            }
            report.recoveryPointMissing = stored == nil
            if stored == nil { options.logger.warning("no usable recovery point; scanning the active segment", metadata: ["file": "\(rpPath)"]) }
            start = RecoveryPoint(segment: bases.last!, position: 0, nextOffset: bases.last!)
        }
        let firstScanned = bases.firstIndex(of: start.segment)!
        var nextOffset = start.nextOffset
        for i in firstScanned..<segments.count {
            let segment = segments[i]
            let isLast = i == segments.count - 1
            let from = i == firstScanned ? start.position : 0
            if i > firstScanned && segment.baseOffset != nextOffset {
                let error = SpoolError(
                    .corruption, "segment starts at offset \(segment.baseOffset) but the one before ends at \(nextOffset)",
                    path: segment.logPath, segment: segment.baseOffset, position: 0, offset: nextOffset,
                    hint: "inspect the segments with `spool dump`; open with corruptionPolicy .salvage to continue past the gap")
                guard options.corruptionPolicy == .salvage else { throw error }
            }
            if from == 0 { nextOffset = segment.baseOffset }
            // Re-check the synced batches just below the recovery point (back to the index entry
            // at or before it): damage there is corruption, not a torn tail.
            var verifyFrom = (position: from, offset: nextOffset)
            if from > 0, let entry = try OffsetIndex.lastEntry(atOrBelow: from, path: segment.indexPath, fileSystem: options.fileSystem),
               try entryMatchesLog(segment, relativeOffset: entry.relativeOffset, position: Int64(entry.position), options: options) {
                verifyFrom = (Int64(entry.position), segment.baseOffset + Int64(entry.relativeOffset))
            } else if from > 0 {
                // No index entry to trust (missing, damaged, or another segment's): check the
                // synced part from the segment's start.
                verifyFrom = (0, segment.baseOffset)
            }
            nextOffset = try recoverSegment(
                segment, from: verifyFrom.position, nextOffset: verifyFrom.offset, synced: (from, nextOffset),
                isLast: isLast, options: options, report: &report)
        }
        let active = segments.last!
        try installWritableIndexes(active, options: options, report: &report)
        report.nextOffset = active.nextOffset
        // Make what recovery found durable, so the next open starts from here.
        try fs.fdatasync(active.fd)
        let point = RecoveryPoint(segment: active.baseOffset, position: active.writeEnd, nextOffset: active.nextOffset)
        if point != stored {
            try point.write(in: directory, durable: true, fileSystem: fs)
        }
        report.seconds = seconds(since: started, options.clock)
        return Outcome(segments: segments, active: active, checkpoint: point, report: report)
    }

    /// Scans one segment from `from`, cutting a torn tail when it is the last one. Sets the
    /// segment's tail fields and returns the offset after its last valid batch.
    /// `synced` is the recovery point within this segment (position and offset): the scan
    /// starts at or before it, and must pass it, or the damage is corruption.
    private static func recoverSegment(
        _ segment: Segment, from: Int64, nextOffset: Int64, synced: (position: Int64, offset: Int64), isLast: Bool,
        options: SpoolOptions, report: inout RecoveryReport
    ) throws -> Int64 {
        let size = try segment.size()
        let scanner = try segment.scanner(limits: options.limits)
        var maxTimestamp = Int64.min
        let result = try scanner.scan(from: from, limit: size, nextOffset: nextOffset) { header, _ in
            maxTimestamp = max(maxTimestamp, header.maxTimestamp)
        }
        report.segmentsScanned += 1
        report.bytesScanned += result.end - from
        if result.end < synced.position || (result.end == synced.position && result.nextOffset != synced.offset) {
            let reason: String
            switch result.stop {
            case .invalid(let why): reason = why
            case .zeros: reason = "zero bytes where a batch was synced"
            case .endOfFile: reason = "the batches end at offset \(result.nextOffset), the recovery point says \(synced.offset)"
            }
            let error = SpoolError(
                .corruption, "damage below the recovery point (\(synced.position)): \(reason)", path: segment.logPath,
                segment: segment.baseOffset, position: result.end, offset: result.nextOffset,
                hint: "these bytes were synced, so this is not a torn write; inspect with `spool dump FILE`, or open with corruptionPolicy .salvage to cut the log there (the cut bytes are kept as .broken)")
            guard options.corruptionPolicy == .salvage else { throw error }
            options.logger.error("salvage: cutting at damage below the recovery point", metadata: ["error": "\(error)"])
        }
        var damaged: (Int64, String)? = nil
        var tailEnd = result.end
        // A recycled segment's old bytes lie past its first marker at or after the end: they
        // are neither data nor damage (FORMAT.md, "Recycled segments"). The marker is looked
        // for past the end only when something there is not zero.
        let fs = options.fileSystem
        var recycled: Int64? = nil
        if isLast, result.stop == .zeros, try RecycledSpace.hasMarker(fd: segment.fd, at: result.end, base: segment.baseOffset, fileSystem: fs) {
            recycled = result.end
        }
        func marker() throws -> Int64? {
            isLast ? try RecycledSpace.firstMarker(fd: segment.fd, from: result.end + 1, to: size, base: segment.baseOffset, fileSystem: fs) : nil
        }
        switch result.stop {
        case .endOfFile:
            break
        case .zeros:
            if recycled == nil, var last = try scanner.lastNonZero(from: result.end, to: size) {
                recycled = try marker()
                if let recycled { last = try scanner.lastNonZero(from: result.end, to: recycled) ?? result.end }
                if last > result.end {
                    damaged = (result.end, "non-zero bytes after the last batch")
                    tailEnd = last
                }
            }
        case .invalid(let reason):
            damaged = (result.end, reason)
            recycled = try marker()
            tailEnd = try scanner.lastNonZero(from: result.end, to: recycled ?? size) ?? recycled ?? size
        }
        if let (position, reason) = damaged {
            if !isLast && options.corruptionPolicy == .fail {
                throw SpoolError(
                    .corruption, "sealed segment is damaged: \(reason)", path: segment.logPath, segment: segment.baseOffset,
                    position: position, offset: result.nextOffset,
                    hint: "inspect with `spool dump FILE`, or open with corruptionPolicy .salvage to cut the log there (the cut bytes are kept as .broken)")
            }
            try cutTail(segment, at: position, through: tailEnd, reason: reason, options: options, report: &report)
        }
        if isLast, segment.firstTimestamp == nil, result.end > 0 || from > 0 {
            segment.firstTimestamp = try firstBatchTimestamp(segment, options: options)
        }
        segment.writeEnd = result.end
        segment.preparedEnd = isLast ? max(result.end, damaged == nil ? size : result.end) : result.end
        if let recycled, damaged == nil {
            // The writer goes on in the recycled space: the marker found is the fence (or the
            // end marker, which the next one past it, if any, backs up).
            segment.recycledEnd = size
            segment.fence = try RecycledSpace.firstMarker(fd: segment.fd, from: recycled + 1, to: size, base: segment.baseOffset,
                                                           fileSystem: options.fileSystem) ?? recycled
        }
        segment.nextOffset = result.nextOffset
        segment.maxTimestamp = max(segment.maxTimestamp, maxTimestamp)
        return result.nextOffset
    }

    /// Copies bytes [position, end) to `<stem>.<position>.broken`, then truncates the segment at
    /// `position` (DESIGN.md: a torn tail is truncated and kept as `.broken`).
    private static func cutTail(
        _ segment: Segment, at position: Int64, through end: Int64, reason: String, options: SpoolOptions, report: inout RecoveryReport
    ) throws {
        let fs = options.fileSystem
        let count = Int(max(end - position, 0))
        // Never overwrite an earlier cut: a second torn tail at the same position gets a new name.
        let stem = segment.directory + "/" + SegmentName.stem(segment.baseOffset) + ".\(position)"
        var brokenPath = stem + SegmentName.brokenSuffix
        var copy = 1
        while fs.fileType(brokenPath) != .missing && copy < 10_000 {
            brokenPath = stem + ".\(copy)" + SegmentName.brokenSuffix
            copy += 1
        }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { (raw) in try segment.read(into: raw, at: position) }
        try AtomicFile.write(Array(bytes[0..<got]), to: brokenPath, directory: segment.directory, durable: true, fileSystem: fs)
        do {
            try fs.truncate(segment.fd, to: position)
            try fs.fsync(segment.fd)
        } catch {
            throw error.with(path: segment.logPath, segment: segment.baseOffset, position: position)
        }
        report.bytesTruncated += Int64(count)
        report.brokenFiles.append(brokenPath)
        options.logger.warning(
            "torn tail cut", metadata: ["file": "\(segment.logPath)", "position": "\(position)", "bytes": "\(count)",
                                        "reason": "\(reason)", "kept": "\(brokenPath)"])
    }

    /// Opens the active segment's index files writable and preallocated, and rebuilds them
    /// from the log when they are missing, short or inconsistent.
    static func installWritableIndexes(_ segment: Segment, options: SpoolOptions) throws {
        var report = RecoveryReport()
        try installWritableIndexes(segment, options: options, report: &report)
    }

    static func installWritableIndexes(_ segment: Segment, options: SpoolOptions, report: inout RecoveryReport) throws {
        let capacity = Segment.indexCapacity(segmentBytes: options.segmentBytes, interval: options.indexIntervalBytes)
        let fs = options.fileSystem
        let offsets = OffsetIndex(file: try MappedIndexFile(path: segment.indexPath, entrySize: OffsetIndex.entrySize, capacity: capacity, writable: true, fileSystem: fs))
        let times = TimeIndex(file: try MappedIndexFile(path: segment.timeIndexPath, entrySize: TimeIndex.entrySize, capacity: capacity, writable: true, fileSystem: fs))
        var consistent = offsets.load(validEnd: max(segment.writeEnd, 1)) && times.load(nextRelativeOffset: segment.nextOffset - segment.baseOffset)
        if consistent && offsets.file.count > 0 {
            consistent = try entryMatchesLog(segment, relativeOffset: offsets.relativeOffset(offsets.file.count - 1), position: Int64(offsets.position(offsets.file.count - 1)), options: options)
        }
        // Both files index the same batches (FORMAT.md): a time index of another segment differs.
        if consistent && (offsets.file.count != times.file.count
            || !(0..<offsets.file.count).allSatisfy({ offsets.relativeOffset($0) == times.relativeOffset($0) })) {
            consistent = false
        }
        var from: Int64 = 0
        var maxTimestamp = Int64.min
        if consistent && offsets.file.count > 0 {
            from = offsets.lastPosition
            maxTimestamp = times.timestamp(times.file.count - 1)
        } else {
            if !consistent || segment.writeEnd > Int64(options.indexIntervalBytes) { report.indexesRebuilt += 1 }
            offsets.file.setCount(0, clearingUpTo: offsets.file.firstZeroEntry(from: 0))
            times.file.setCount(0, clearingUpTo: times.file.firstZeroEntry(from: 0))
        }
        // Index the batches between the last entry and the tail (they were not indexed, or the
        // entries were lost with the page cache).
        segment.lastIndexedPosition = from
        if from < segment.writeEnd {
            var scanner = try segment.scanner(limits: options.limits)
            scanner.checkCRC = false
            let firstOffset = from == 0 ? segment.baseOffset : segment.baseOffset + Int64(offsets.relativeOffset(offsets.file.count - 1))
            _ = try scanner.scan(from: from, limit: segment.writeEnd, nextOffset: firstOffset) { header, position in
                if position > 0 && position - segment.lastIndexedPosition >= Int64(options.indexIntervalBytes) {
                    let rel = UInt32(header.baseOffset - segment.baseOffset)
                    offsets.append(relativeOffset: rel, position: UInt32(position))
                    times.append(timestamp: maxTimestamp, relativeOffset: rel)
                    segment.lastIndexedPosition = position
                }
                maxTimestamp = max(maxTimestamp, header.maxTimestamp)
            }
        }
        segment.maxTimestamp = max(segment.maxTimestamp, maxTimestamp)
        segment.installIndexes(offsets: offsets, times: times)
    }

    /// Whether the batch at `position` starts at `base + relativeOffset` (an index copied from
    /// another segment fails this).
    static func entryMatchesLog(_ segment: Segment, relativeOffset: UInt32, position: Int64, options: SpoolOptions) throws -> Bool {
        guard let decoded = try segment.batchHeader(at: position, limits: options.limits) else { return false }
        return decoded.baseOffset == segment.baseOffset + Int64(relativeOffset)
    }

    /// The first batch's timestamp, for rolling a reopened segment by age (never in the future).
    static func firstBatchTimestamp(_ segment: Segment, options: SpoolOptions) throws -> Int64? {
        guard let decoded = try segment.batchHeader(at: 0, limits: options.limits) else { return nil }
        return min(decoded.baseTimestamp, options.clock.wallMilliseconds())
    }

    static func seconds(since start: UInt64, _ clock: any SpoolClock) -> Double {
        Double(clock.monotonicNanoseconds() &- start) / 1e9
    }
}
