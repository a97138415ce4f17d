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
        let started = options.clock.monotonicNanoseconds()
        var report = RecoveryReport()
        let names = try removeLeftovers(in: directory, options: options, report: &report)
        let bases = try segmentBases(in: directory, names: names, fileSystem: options.fileSystem)
        if bases.isEmpty {
            return try startEmptyLog(in: directory, started: started, options: options, report: report)
        }
        var segments: [Segment] = []
        let descriptors = DescriptorBudget()  // shared by the log's segments, and those it rolls to
        for base in bases {
            segments.append(
                try Segment(
                    directory: directory, baseOffset: base, writable: true, create: false,
                    fileSystem: options.fileSystem, descriptors: descriptors))
        }
        report.segments = segments.count
        report.firstOffset = bases[0]
        let stored = try RecoveryPoint.read(in: directory, fileSystem: options.fileSystem)
        let start = try startingPoint(
            stored, bases: bases, segments: segments, directory: directory, options: options, report: &report)
        let rebuildIndexes = stored?.indexesPredateKafkaMeaning == true
        if rebuildIndexes {
            try rebuildIndexesOfOldMeaning(segments.dropLast(), directory: directory, options: options, report: &report)
        }
        try scan(
            segments, from: start, firstScanned: bases.firstIndex(of: start.segment)!, names: names, options: options,
            report: &report)
        let active = segments.last!
        let point = try settle(
            active, stored: stored, rebuildIndexes: rebuildIndexes, directory: directory, options: options,
            report: &report)
        report.seconds = seconds(since: started, options.clock)
        return Outcome(segments: segments, active: active, checkpoint: point, report: report)
    }

    /// Steps 0 and 1: finishes or rolls back an interrupted compaction (FORMAT.md,
    /// "Compaction"), removes leftover temporary files; returns the directory's names after.
    private static func removeLeftovers(
        in directory: String, options: SpoolOptions, report: inout RecoveryReport
    ) throws -> [String] {
        let fs = options.fileSystem
        let leftovers = try CompactionLeftovers.plan(in: directory, fileSystem: fs)
        try CompactionLeftovers.apply(leftovers, in: directory, fileSystem: fs)
        for action in leftovers {
            report.compactionLeftovers.append(action.description)
            options.logger.notice("resolved a compaction leftover", metadata: ["action": "\(action)"])
        }
        let names = try fs.listDirectory(directory)
        for file in names where file.hasSuffix(RootLayout.temporarySuffix) {
            try fs.unlink(RootLayout.path(directory, file))
            report.removedTemporaryFiles.append(file)
            options.logger.notice("removed leftover temp file", metadata: ["file": "\(directory)/\(file)"])
        }
        return names.filter { !$0.hasSuffix(RootLayout.temporarySuffix) }
    }

    /// Step 2: the segments' base offsets, sorted. A `.log` that is not a 20-digit name or not
    /// a regular file is an error, not ignored.
    private static func segmentBases(
        in directory: String, names: [String], fileSystem fs: any FileSystem
    ) throws -> [Int64] {
        var bases: [Int64] = []
        for file in names where file.hasSuffix(RootLayout.logSuffix) {
            let path = RootLayout.path(directory, file)
            guard let base = SegmentName.parseLog(file) else {
                throw SpoolError(
                    .invalidArgument, "a .log file whose name is not a 20-digit base offset is in the queue directory",
                    path: path,
                    hint: "segments are named like 00000000000000000000.log; move this file out of the queue directory")
            }
            let type = fs.fileType(path)
            guard type == .regular else {
                throw SpoolError(
                    .invalidArgument,
                    "a \(type == .directory ? "directory" : "non-regular file") is named like a segment in the queue directory",
                    path: path, hint: "segments are regular files; move this out of the queue directory")
            }
            bases.append(base)
        }
        return bases.sorted()
    }

    /// A directory without segments: a new log at offset 0, unless the recovery point says
    /// records were written (starting at 0 would reuse their offsets).
    private static func startEmptyLog(
        in directory: String, started: UInt64, options: SpoolOptions, report: RecoveryReport
    ) throws -> Outcome {
        let fs = options.fileSystem
        var report = report
        if let stored = try RecoveryPoint.read(in: directory, fileSystem: fs), stored.nextOffset > 0 {
            // For a group log, starting over would also forget its acks.
            throw SpoolError(
                .corruption,
                "the recovery point says \(stored.nextOffset) records were written, but no segment is left",
                path: RootLayout.path(directory, RootLayout.recoveryPointFileName), segment: stored.segment,
                offset: stored.nextOffset,
                hint: "segment files were deleted or moved; restore them")
        }
        let segment = try Segment(directory: directory, baseOffset: 0, writable: true, create: true, fileSystem: fs)
        try installWritableIndexes(segment, options: options)
        try fs.syncDirectory(directory)
        let point = RecoveryPoint(segment: 0, position: 0, nextOffset: 0)
        // Written at once, so that a log killed before its first seal has one: its first
        // open then logs no "no usable recovery point", and `spool verify` can call a
        // missing one damage. A failure costs only a longer scan at the next open.
        do {
            try point.write(in: directory, durable: true, fileSystem: fs)
        } catch {
            options.logger.warning(
                "recovery point not written",
                metadata: ["file": "\(directory)/\(RootLayout.recoveryPointFileName)", "error": "\(error)"])
        }
        report.segments = 1
        report.seconds = seconds(since: started, options.clock)
        return Outcome(segments: [segment], active: segment, checkpoint: point, report: report)
    }

    /// Step 3: where the scan starts: the stored recovery point when it names a segment that
    /// is there and lies within its data; else the last segment's start.
    /// - Throws: `.corruption` for a recovery point past its segment's data (unless
    ///   `.salvage`), or naming a segment past the last one.
    private static func startingPoint(
        _ stored: RecoveryPoint?, bases: [Int64], segments: [Segment], directory: String, options: SpoolOptions,
        report: inout RecoveryReport
    ) throws -> RecoveryPoint {
        let rpPath = RootLayout.path(directory, RootLayout.recoveryPointFileName)
        if let stored, let index = bases.firstIndex(of: stored.segment) {
            let size = try segments[index].size()
            guard stored.position > size else { return stored }
            let error = SpoolError(
                .corruption,
                "the recovery point says \(stored.position) bytes are synced, but the segment holds \(size)",
                path: segments[index].logPath, segment: stored.segment, position: size, offset: stored.nextOffset,
                hint:
                    "the segment was truncated after it was synced; restore it from a copy, or open with corruptionPolicy .salvage to continue from what is left"
            )
            guard options.corruptionPolicy == .salvage else { throw error }
            options.logger.error("salvage: recovery point past the data", metadata: ["error": "\(error)"])
            return RecoveryPoint(segment: stored.segment, position: 0, nextOffset: stored.segment)
        }
        if let stored, stored.segment > bases.last! {
            throw SpoolError(
                .corruption, "the recovery point names segment \(stored.segment), which is missing",
                path: rpPath, segment: stored.segment, offset: stored.nextOffset,
                hint: "segment files were deleted or moved; restore them")
        }
        report.recoveryPointMissing = stored == nil
        if stored == nil {
            options.logger.warning(
                "no usable recovery point; scanning the active segment", metadata: ["file": "\(rpPath)"])
        }
        return RecoveryPoint(segment: bases.last!, position: 0, nextOffset: bases.last!)
    }

    /// Steps 3 and 4: scans each segment from the starting point on, checking that each one
    /// continues the last (``DamageRule``), and cuts a torn tail.
    private static func scan(
        _ segments: [Segment], from start: RecoveryPoint, firstScanned: Int, names: [String], options: SpoolOptions,
        report: inout RecoveryReport
    ) throws {
        var nextOffset = start.nextOffset
        for i in firstScanned..<segments.count {
            let segment = segments[i]
            let from = i == firstScanned ? start.position : 0
            if i > firstScanned,
                let finding = DamageRule.segmentStart(
                    segment.baseOffset, expected: nextOffset,
                    accepted: {
                        RepairGap.keptFile(among: names, gapStart: nextOffset, previousBase: segments[i - 1].baseOffset)
                            != nil
                    }), DamageRule.verdict(finding, at: .synced) == .corruption
            {
                let error = SpoolError(
                    .corruption,
                    "segment starts at offset \(segment.baseOffset) but the one before ends at \(nextOffset)",
                    path: segment.logPath, segment: segment.baseOffset, position: 0, offset: nextOffset,
                    hint:
                        "inspect the segments with `spool dump`; open with corruptionPolicy .salvage to continue past the gap"
                )
                guard options.corruptionPolicy == .salvage else { throw error }
            }
            if from == 0 { nextOffset = segment.baseOffset }
            let verifyFrom = try syncedCheckStart(segment, from: from, nextOffset: nextOffset, options: options)
            nextOffset = try recoverSegment(
                segment, from: verifyFrom.position, nextOffset: verifyFrom.offset, synced: (from, nextOffset),
                isLast: i == segments.count - 1, options: options, report: &report)
        }
    }

    /// Where to re-check the synced batches just below the recovery point at `from`: back to
    /// the index entry at or before it (damage there is corruption, not a torn tail), or the
    /// segment's start when no index entry can be trusted (missing, damaged, another's).
    private static func syncedCheckStart(
        _ segment: Segment, from: Int64, nextOffset: Int64, options: SpoolOptions
    ) throws -> (position: Int64, offset: Int64) {
        guard from > 0 else { return (from, nextOffset) }
        if let entry = try OffsetIndex.lastEntry(
            atOrBelow: from, path: segment.indexPath, fileSystem: options.fileSystem),
            let batch = try entryBatch(segment, entry, options: options)
        {
            return batch
        }
        return (0, segment.baseOffset)
    }

    /// Step 5: loads the active segment's indexes, and makes what recovery found durable, so
    /// the next open starts from here. Returns the recovery point now on disk.
    private static func settle(
        _ active: Segment, stored: RecoveryPoint?, rebuildIndexes: Bool, directory: String, options: SpoolOptions,
        report: inout RecoveryReport
    ) throws -> RecoveryPoint {
        try installWritableIndexes(active, options: options, report: &report, forceRebuild: rebuildIndexes)
        report.nextOffset = active.nextOffset
        try options.fileSystem.fdatasync(active.fd)
        if rebuildIndexes {
            if let (offsets, times) = active.openIndexes {
                try offsets.file.sync()
                try times.file.sync()
            }
        }
        let point = RecoveryPoint(segment: active.baseOffset, position: active.writeEnd, nextOffset: active.nextOffset)
        if point != stored || rebuildIndexes {
            // A point that only moves forward past one that stays valid (the data up to it was
            // just synced) is written as the writer's checkpoints are, without its two syncs
            // (issue 19: under load each waits for the disk's flush); lost, the next open scans
            // from the older point. One that moves back (a salvage cut) stays durable.
            let forward =
                stored.map {
                    point.segment > $0.segment || (point.segment == $0.segment && point.position >= $0.position)
                } ?? false
            try point.write(in: directory, durable: rebuildIndexes || !forward, fileSystem: options.fileSystem)
        }
        return point
    }

    /// A recovery point of version 1 says the queue's indexes map base offsets, not Kafka's last
    /// offsets (FORMAT.md, "Recovery point"): the sealed segments' index files are rebuilt from
    /// their batch headers (one pass over the headers, once) and the directory synced; the
    /// active segment's are rebuilt by the caller, which then writes a version 2 point. A crash
    /// before that point is written repeats this, which is harmless.
    private static func rebuildIndexesOfOldMeaning(
        _ sealed: ArraySlice<Segment>, directory: String, options: SpoolOptions, report: inout RecoveryReport
    ) throws {
        let fs = options.fileSystem
        options.logger.notice(
            "rebuilding this queue's indexes once, with Kafka's entry meaning (last offset of a batch; greatest timestamp so far)",
            metadata: ["directory": "\(directory)", "segments": "\(sealed.count + 1)"])
        for segment in sealed {
            try segment.rebuildIndexFiles(end: try segment.size(), options: options)
        }
        try fs.syncDirectory(directory)
        report.indexesRebuilt += sealed.count
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
        try refuseDamageBelow(synced, result: result, in: segment, options: options)
        var damaged: (Int64, String)? = nil
        var tailEnd = result.end
        // A recycled segment's old bytes lie past its first marker at or after the end: they
        // are neither data nor damage (FORMAT.md, "Recycled segments"). The marker is looked
        // for past the end only when something there is not zero.
        let fs = options.fileSystem
        var recycled: Int64? = nil
        if isLast, result.stop == .zeros,
            try RecycledSpace.hasMarker(fd: segment.fd, at: result.end, base: segment.baseOffset, fileSystem: fs)
        {
            recycled = result.end
        }
        func marker() throws -> Int64? {
            isLast
                ? try RecycledSpace.firstMarker(
                    fd: segment.fd, from: result.end + 1, to: size, base: segment.baseOffset, fileSystem: fs) : nil
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
            if DamageRule.verdict(.badBytes, at: isLast ? .unsyncedTail : .synced) == .corruption
                && options.corruptionPolicy == .fail
            {
                throw SpoolError(
                    .corruption, "sealed segment is damaged: \(reason)", path: segment.logPath,
                    segment: segment.baseOffset,
                    position: position, offset: result.nextOffset,
                    hint:
                        "inspect with `spool dump FILE`, or open with corruptionPolicy .salvage to cut the log there (the cut bytes are kept as .broken)"
                )
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
            segment.fence =
                try RecycledSpace.firstMarker(
                    fd: segment.fd, from: recycled + 1, to: size, base: segment.baseOffset,
                    fileSystem: options.fileSystem) ?? recycled
        }
        segment.nextOffset = result.nextOffset
        segment.maxTimestamp = max(segment.maxTimestamp, maxTimestamp)
        return result.nextOffset
    }

    /// A scan that stopped short of the recovery point `synced` found damage where batches were
    /// synced: bad bytes at a synced place (``DamageRule``), zeros included. Throws unless the
    /// policy is `.salvage` (which then cuts there, as for a torn tail).
    /// - Throws: `.corruption` naming the segment, the position and the offset.
    private static func refuseDamageBelow(
        _ synced: (position: Int64, offset: Int64), result: SegmentScanner.Result, in segment: Segment,
        options: SpoolOptions
    ) throws {
        guard result.end < synced.position || (result.end == synced.position && result.nextOffset != synced.offset),
            DamageRule.verdict(.badBytes, at: .synced) == .corruption
        else { return }
        let reason: String
        switch result.stop {
        case .invalid(let why): reason = why
        case .zeros: reason = "zero bytes where a batch was synced"
        case .endOfFile:
            reason = "the batches end at offset \(result.nextOffset), the recovery point says \(synced.offset)"
        }
        let error = SpoolError(
            .corruption, "damage below the recovery point (\(synced.position)): \(reason)", path: segment.logPath,
            segment: segment.baseOffset, position: result.end, offset: result.nextOffset,
            hint:
                "these bytes were synced, so this is not a torn write; inspect with `spool dump FILE`, or open with corruptionPolicy .salvage to cut the log there (the cut bytes are kept as .broken)"
        )
        guard options.corruptionPolicy == .salvage else { throw error }
        options.logger.error("salvage: cutting at damage below the recovery point", metadata: ["error": "\(error)"])
    }

    /// Cuts the torn tail [position, end) with ``TailCutter``, which keeps it as `.broken`.
    private static func cutTail(
        _ segment: Segment, at position: Int64, through end: Int64, reason: String, options: SpoolOptions,
        report: inout RecoveryReport
    ) throws {
        let fs = options.fileSystem
        let brokenPath = TailCutter.brokenPath(of: segment.logPath, at: position, fileSystem: fs)
        let count = try TailCutter.cut(
            fd: segment.fd, logPath: segment.logPath, directory: segment.directory, at: position,
            through: end, keepingIn: brokenPath, fileSystem: fs)
        report.bytesTruncated += Int64(count)
        report.brokenFiles.append(brokenPath)
        options.logger.warning(
            "torn tail cut",
            metadata: [
                "file": "\(segment.logPath)", "position": "\(position)", "bytes": "\(count)",
                "reason": "\(reason)", "kept": "\(brokenPath)",
            ])
    }

    /// Opens the active segment's index files writable and preallocated, and rebuilds them
    /// from the log when they are missing, short or inconsistent.
    static func installWritableIndexes(_ segment: Segment, options: SpoolOptions) throws {
        var report = RecoveryReport()
        try installWritableIndexes(segment, options: options, report: &report)
    }

    static func installWritableIndexes(
        _ segment: Segment, options: SpoolOptions, report: inout RecoveryReport, forceRebuild: Bool = false
    ) throws {
        let capacity = Segment.indexCapacity(segmentBytes: options.segmentBytes, interval: options.indexIntervalBytes)
        let fs = options.fileSystem
        let offsets = OffsetIndex(
            file: try MappedIndexFile(
                path: segment.indexPath, entrySize: OffsetIndex.entrySize, capacity: capacity, writable: true,
                fileSystem: fs))
        let times = TimeIndex(
            file: try MappedIndexFile(
                path: segment.timeIndexPath, entrySize: TimeIndex.entrySize, capacity: capacity, writable: true,
                fileSystem: fs))
        var consistent =
            !forceRebuild && offsets.load(validEnd: max(segment.writeEnd, 1))
            && times.load(nextRelativeOffset: segment.nextOffset - segment.baseOffset)
        // An index of another segment, or of the meaning before Kafka's, passes the order checks:
        // its last entries must agree with the log (FORMAT.md, "Offset index (.index)", "Time index").
        if consistent, let last = offsets.lastEntry {
            consistent = try segment.offsetEntryBatch(last, limits: options.limits) != nil
        }
        if consistent, let last = times.lastEntry {
            consistent = try segment.timeEntryMatchesLog(
                last, offsets: offsets, end: segment.writeEnd, limits: options.limits)
        }
        var rule = IndexEntryRule(baseOffset: segment.baseOffset, intervalBytes: options.indexIntervalBytes)
        if consistent && offsets.file.count == 0 && segment.writeEnd > Int64(options.indexIntervalBytes) {
            report.indexesRebuilt += 1  // missing entries where the log is long enough to have some
        }
        if consistent {
            rule = IndexEntryRule(
                baseOffset: segment.baseOffset, intervalBytes: options.indexIntervalBytes,
                lastOffsetEntry: offsets.lastEntry, lastTimeEntry: times.lastEntry)
        } else {
            if forceRebuild || offsets.file.count > 0 || times.file.count > 0
                || segment.writeEnd > Int64(options.indexIntervalBytes)
            {
                report.indexesRebuilt += 1
            }
            offsets.file.setCount(0, clearingUpTo: offsets.file.firstZeroEntry(from: 0))
            times.file.setCount(0, clearingUpTo: times.file.firstZeroEntry(from: 0))
        }
        // Index the batches from the last entry's batch to the tail (they were not indexed, or
        // the entries were lost with the page cache). The rule gives no entry to the batch it
        // resumes at, and only raises the greatest timestamp.
        let from = rule.lastEntryPosition
        if from < segment.writeEnd {
            var scanner = try segment.scanner(limits: options.limits)
            scanner.checkCRC = false
            scanner.allowOffsetGaps = true
            let firstOffset =
                try from == 0
                ? segment.baseOffset
                : (segment.batchHeader(at: from, limits: options.limits)?.baseOffset ?? segment.baseOffset)
            _ = try scanner.scan(from: from, limit: segment.writeEnd, nextOffset: firstOffset) { header, position in
                let due = rule.add(header, at: position)
                if let entry = due.offset { offsets.append(entry) }
                if let entry = due.time { times.append(entry) }
            }
        }
        segment.indexRule = rule
        segment.installIndexes(offsets: offsets, times: times)
    }

    /// Where a scan may start to re-check synced batches: the batch an offset-index entry
    /// points at, with its base offset, when the entry agrees with the log (an index copied
    /// from another segment fails this); nil otherwise.
    static func entryBatch(
        _ segment: Segment, _ entry: OffsetIndexEntry, options: SpoolOptions
    ) throws -> (position: Int64, offset: Int64)? {
        guard let header = try segment.offsetEntryBatch(entry, limits: options.limits) else { return nil }
        return (Int64(entry.position), header.baseOffset)
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
