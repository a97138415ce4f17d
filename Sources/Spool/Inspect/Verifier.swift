import SpoolFormat

/// Checks a root, queue, group or single segment file without changing anything and without
/// the writer lock (FORMAT.md throughout): every batch's header and CRC-32C (and with `deep`,
/// every record), offset continuity within and across segments, each `.index` and
/// `.timeindex` entry against the batch it points at, the recovery point against the data,
/// each consumer group's acknowledged offsets against its queue, and files left by
/// interrupted operations. Each problem names its file, position and offset.
///
/// Safe on a live root: while a writer holds `spool.lock`, bytes past a log's recovery point
/// in its last segment are the writer's work in progress and are not reported as damage.
///
/// Thread-safety: a value type; each call works alone.
public struct Verifier: Sendable {
    public var limits: FormatLimits
    /// Decode every record too (decompressing), not only headers and CRCs.
    public var deep: Bool
    public var fileSystem: any FileSystem
    /// Progress is reported after at least this many bytes, and at the end of each file.
    public var progressBytes: Int64 = 64 << 20
    /// Whether to look for a writer holding the root's lock (and then leave its unfinished tail
    /// alone). False for a caller that holds the lock itself, as repair does.
    public var detectWriter = true

    public init(limits: FormatLimits = .default, deep: Bool = false, fileSystem: any FileSystem = PosixFileSystem()) {
        self.limits = limits
        self.deep = deep
        self.fileSystem = fileSystem
    }

    /// Verifies everything under `path` (root, queue directory, group directory or `.log` file).
    /// - Throws: only when it cannot run: `.notFound`, `.invalidArgument` for a path holding no
    ///   log, `.io` for a failed read. Damage is reported, never thrown.
    public func verify(path: String, progress: (VerifyProgress) -> Void = { _ in }) throws -> VerifyReport {
        let logs = try SpoolLayout.logs(at: path, fileSystem: fileSystem)
        var report = VerifyReport()
        let total = logs.flatMap(\.segments).reduce(Int64(0)) { sum, s in sum + fileSize(s.path) }
        var done: Int64 = 0
        var queueEnds: [String: Int64] = [:]
        var lockStates: [String: Bool] = [:]
        for log in logs {
            let writerActive = !detectWriter ? false : log.root.map { root in
                if let known = lockStates[root] { return known }
                let held = WriterLockProbe.isHeld(root: root)
                lockStates[root] = held
                return held
            } ?? false
            report.writerActive = report.writerActive || writerActive
            var check = LogCheck(log: log, verifier: self, writerActive: writerActive)
            try check.run(done: &done, total: total, progress: progress)
            report.logs += 1
            report.segments += log.segments.count
            report.batches += check.batches
            report.records += check.records
            report.bytesChecked += check.bytesChecked
            report.problems += check.problems
            report.notes += check.notes
            if log.kind == .queue, let queue = log.queue { queueEnds[queue] = check.nextOffset }
            if log.kind == .group, let queue = log.queue {
                checkGroup(log, queueEnd: queueEnds[queue], into: &report)
            }
        }
        return report
    }

    private func fileSize(_ path: String) -> Int64 {
        guard let fd = try? fileSystem.open(path, flags: 0, mode: 0) else { return 0 }
        defer { fileSystem.close(fd) }
        return (try? fileSystem.size(fd)) ?? 0
    }

    /// Replays a group's log and checks its acks against the queue's end.
    private func checkGroup(_ log: SpoolLayout.Log, queueEnd: Int64?, into report: inout VerifyReport) {
        let directory = log.directory ?? log.name
        do {
            let state = try GroupStateReader(limits: limits, fileSystem: fileSystem).read(log)
            if let queueEnd, state.ackedEnd > queueEnd {
                report.problems.append(VerifyProblem(
                    kind: .corruption, file: directory, offset: queueEnd,
                    message: "group \(log.group ?? log.name) acknowledged offsets up to \(state.ackedEnd - 1), but queue \(log.queue ?? "?") ends at offset \(queueEnd) (its data was lost or replaced after the acks)"))
            }
        } catch let error as SpoolError {
            report.problems.append(VerifyProblem(kind: .corruption, file: error.path ?? directory, position: error.position, offset: error.offset,
                                                 message: "group state cannot be replayed: \(error.message)"))
        } catch {
            report.problems.append(VerifyProblem(kind: .corruption, file: directory, message: "group state cannot be replayed: \(error)"))
        }
    }
}

/// The checks of one log (its segments, indexes, recovery point and leftover files).
private struct LogCheck {
    let log: SpoolLayout.Log
    let verifier: Verifier
    let writerActive: Bool
    var problems: [VerifyProblem] = []
    var notes: [String] = []
    var batches: Int64 = 0
    var records: Int64 = 0
    var bytesChecked: Int64 = 0
    /// The log's next offset after the last valid batch.
    var nextOffset: Int64?

    init(log: SpoolLayout.Log, verifier: Verifier, writerActive: Bool) {
        self.log = log
        self.verifier = verifier
        self.writerActive = writerActive
    }

    mutating func run(done: inout Int64, total: Int64, progress: (VerifyProgress) -> Void) throws {
        checkOtherFiles()
        let fs = verifier.fileSystem
        var point: RecoveryPoint? = nil
        if let directory = log.directory {
            let rpPath = directory + "/" + RecoveryPoint.fileName
            point = try RecoveryPoint.read(in: directory, fileSystem: fs)
            if point == nil && fs.fileType(rpPath) == .regular {
                notes.append("\(rpPath): unreadable recovery point (ignored: open scans the last segment from its start)")
            }
        }
        let named = log.segments.filter { $0.baseOffset != nil || log.kind == .file }
        if let point, log.kind != .file, !named.contains(where: { $0.baseOffset == point.segment }) {
            problems.append(VerifyProblem(kind: .corruption, file: (log.directory ?? "") + "/" + RecoveryPoint.fileName, offset: point.nextOffset,
                                          message: "the recovery point names segment \(point.segment), which is missing"))
        }
        var previousEnd: Int64? = nil
        var previousPath: String? = nil
        for (i, segment) in named.enumerated() {
            let isLast = i == named.count - 1
            let base = segment.baseOffset
            if let previousEnd, let base, base > previousEnd, let kept = cutByRepair(previousEnd, previousPath) {
                notes.append("\(segment.path): offsets \(previousEnd)–\(base - 1) are not in the log: cut by repair and kept in \(kept)")
            } else if let previousEnd, let base, base != previousEnd {
                problems.append(VerifyProblem(
                    kind: .corruption, file: segment.path, segmentFile: segment.path, position: 0, offset: previousEnd,
                    message: base > previousEnd ? "segment starts at offset \(base) but the one before ends at \(previousEnd): offsets \(previousEnd)–\(base - 1) are missing"
                        : "segment starts at offset \(base) but the one before ends at \(previousEnd): offsets overlap"))
            }
            // From which position damage is a torn tail rather than corruption.
            var tailStart: Int64? = nil
            if isLast {
                if log.kind == .file || point == nil { tailStart = 0 }
                else if let point, point.segment == base { tailStart = point.position }
                else if let point, let base, point.segment < base { tailStart = 0 }
            }
            let rpHere = (point != nil && point!.segment == base && log.kind != .file) ? point : nil
            var segmentCheck = SegmentCheck(segment: segment, verifier: verifier, tailStart: tailStart, live: writerActive && isLast,
                                            point: rpHere, indexed: log.kind != .file)
            try segmentCheck.run(done: &done, total: total, progress: progress)
            problems += segmentCheck.problems
            notes += segmentCheck.notes
            batches += segmentCheck.batches
            records += segmentCheck.records
            bytesChecked += segmentCheck.bytes
            previousEnd = segmentCheck.nextOffset ?? base
            previousPath = segment.path
        }
        nextOffset = previousEnd
    }

    /// The file `spool repair` kept when it cut the offsets from `offset` on: a quarantined
    /// segment starting there, or the `.broken` bytes cut from the end of the segment before.
    private func cutByRepair(_ offset: Int64, _ previous: String?) -> String? {
        guard let directory = log.directory else { return nil }
        let quarantined = SegmentName.stem(offset) + SegmentName.logSuffix + Repairer.quarantineSuffix
        if log.otherFiles.contains(quarantined) { return directory + "/" + quarantined }
        if let previous {
            let stem = String(previous.split(separator: "/").last?.dropLast(SegmentName.logSuffix.count) ?? "")
            if let broken = log.otherFiles.first(where: { $0.hasPrefix(stem + ".") && $0.hasSuffix(SegmentName.brokenSuffix) }) {
                return directory + "/" + broken
            }
        }
        return nil
    }

    private mutating func checkOtherFiles() {
        guard let directory = log.directory else { return }
        for segment in log.segments where segment.baseOffset == nil {
            problems.append(VerifyProblem(kind: .leftoverFile, file: segment.path,
                                          message: "a .log file whose name is not a 20-digit base offset: open refuses the queue until it is moved out"))
        }
        for name in log.otherFiles {
            let path = directory + "/" + name
            if name.hasSuffix(AtomicFile.temporarySuffix) {
                problems.append(VerifyProblem(kind: .leftoverFile, file: path, message: "temporary file of an interrupted atomic write (open removes it)"))
            } else if name.hasSuffix(".cleaned") || name.hasSuffix(".swap") {
                problems.append(VerifyProblem(kind: .leftoverFile, file: path, message: "left by an interrupted compaction (open finishes or rolls it back)"))
            } else if name.hasSuffix(Repairer.quarantineSuffix) {
                notes.append("\(path): a damaged segment that repair renamed aside (read it with `spool dump`)")
            } else if name.hasSuffix(SegmentName.brokenSuffix) {
                notes.append("\(path): bytes cut from a torn tail, kept by recovery or repair")
            } else {
                notes.append("\(path): not a Spool file")
            }
        }
    }
}

/// The checks of one segment file: batches, offsets, indexes, recovery point.
private struct SegmentCheck {
    let segment: SpoolLayout.SegmentPath
    let verifier: Verifier
    /// Damage at or past this position is a torn tail; nil: all damage is corruption.
    let tailStart: Int64?
    /// The last segment of a log a writer is writing: damage past `tailStart` is in flight.
    let live: Bool
    let point: RecoveryPoint?
    /// Whether index files are expected (false for a lone file).
    let indexed: Bool
    var problems: [VerifyProblem] = []
    var notes: [String] = []
    var batches: Int64 = 0
    var records: Int64 = 0
    var bytes: Int64 = 0
    var nextOffset: Int64?

    init(segment: SpoolLayout.SegmentPath, verifier: Verifier, tailStart: Int64?, live: Bool, point: RecoveryPoint?, indexed: Bool) {
        self.segment = segment
        self.verifier = verifier
        self.tailStart = tailStart
        self.live = live
        self.point = point
        self.indexed = indexed
    }

    private func kind(at position: Int64) -> VerifyProblem.Kind {
        if let tailStart, position >= tailStart { return .tornTail }
        return .corruption
    }

    /// Damage past the recovery point of a live log is the writer's unfinished work.
    private func inFlight(at position: Int64) -> Bool {
        live && tailStart.map { position >= $0 } == true
    }

    private mutating func damage(_ position: Int64, _ offset: Int64?, _ message: String) {
        if inFlight(at: position) {
            notes.append("\(segment.path): position \(position): \(message) (past the recovery point while a writer runs: a write in progress)")
            return
        }
        problems.append(VerifyProblem(kind: kind(at: position), file: segment.path, segmentFile: segment.path, position: position, offset: offset, message: message))
    }

    mutating func run(done: inout Int64, total: Int64, progress: (VerifyProgress) -> Void) throws {
        let file = try SegmentFile(path: segment.path, fileSystem: verifier.fileSystem)
        let base = file.nameOffset
        let indexes = indexed ? try IndexEntries.read(segment: segment.path, fileSystem: verifier.fileSystem) : IndexEntries()
        let stem = String(segment.path.dropLast(SegmentName.logSuffix.count))
        let indexPath = stem + SegmentName.indexSuffix, timeIndexPath = stem + SegmentName.timeIndexSuffix
        var entry = 0
        var maxTimestamp = Int64.min
        var pointChecked = point == nil
        let deep = verifier.deep
        var sinceProgress: Int64 = 0
        var found: [(Int64, Int64?, String)] = []
        var decodeFailures: [(Int64, Int64?, String)] = []
        var indexProblems: [(Int64?, Int64?, String, String)] = []
        let end = try file.forEachBatch(limits: verifier.limits, decode: deep) { batch in
            let h = batch.header
            if let expected = batch.expectedOffset, expected != h.baseOffset {
                found.append((batch.position, h.baseOffset, "batch starts at offset \(h.baseOffset), expected \(expected)"))
            }
            if !batch.crcOK {
                found.append((batch.position, h.baseOffset, "CRC mismatch: stored \(hex(h.crc)), computed \(hex(batch.computedCRC))"))
            } else if case .failure(let error) = batch.batch {
                // The CRC matched: the writer wrote these bytes whole, so this is no torn write.
                decodeFailures.append((batch.position, h.baseOffset, error.message))
            }
            if let base, indexed {
                // Entries must point at batch starts with the offsets they claim.
                while entry < indexes.offsets.count && Int64(indexes.offsets[entry].position) < batch.position {
                    let e = indexes.offsets[entry]
                    indexProblems.append((Int64(entry) * 8, base + Int64(e.relativeOffset), indexPath,
                                          "entry \(entry) points at position \(e.position), which is not the start of a batch"))
                    entry += 1
                }
                if entry < indexes.offsets.count && Int64(indexes.offsets[entry].position) == batch.position {
                    let e = indexes.offsets[entry]
                    if base + Int64(e.relativeOffset) != h.baseOffset {
                        indexProblems.append((Int64(entry) * 8, h.baseOffset, indexPath,
                                              "entry \(entry) says offset \(base + Int64(e.relativeOffset)) is at position \(e.position), but the batch there starts at offset \(h.baseOffset)"))
                    }
                    if entry < indexes.times.count {
                        let t = indexes.times[entry]
                        if t.relativeOffset != e.relativeOffset {
                            indexProblems.append((Int64(entry) * 12, base + Int64(t.relativeOffset), timeIndexPath,
                                                  "entry \(entry) is for relative offset \(t.relativeOffset), but the offset index's entry \(entry) is for \(e.relativeOffset)"))
                        } else if maxTimestamp != .min && t.timestamp < maxTimestamp {
                            indexProblems.append((Int64(entry) * 12, h.baseOffset, timeIndexPath,
                                                  "entry \(entry) says records before offset \(h.baseOffset) are at most \(t.timestamp) ms, but one is \(maxTimestamp) ms"))
                        }
                    }
                    entry += 1
                }
            }
            if let point, !pointChecked, batch.position >= point.position {
                pointChecked = true
                if batch.position > point.position {
                    found.append((point.position, nil, "the recovery point (position \(point.position), offset \(point.nextOffset)) is not at a batch boundary"))
                } else if h.baseOffset != point.nextOffset {
                    found.append((point.position, h.baseOffset, "the recovery point says offset \(point.nextOffset) starts at position \(point.position), but the batch there starts at offset \(h.baseOffset)"))
                }
            }
            maxTimestamp = max(maxTimestamp, h.maxTimestamp)
            batches += 1
            records += Int64(h.recordCount)
            bytes += Int64(h.totalBytes)
            sinceProgress += Int64(h.totalBytes)
            if sinceProgress >= verifier.progressBytes {
                done += sinceProgress
                sinceProgress = 0
                progress(VerifyProgress(bytesDone: done, bytesTotal: total, file: segment.path))
            }
            return true
        }
        done += file.size - (bytes - sinceProgress)
        progress(VerifyProgress(bytesDone: done, bytesTotal: total, file: segment.path))
        nextOffset = end.nextOffset
        for (position, offset, message) in found { damage(position, offset, message) }
        for (position, offset, message) in decodeFailures {
            problems.append(VerifyProblem(kind: .corruption, file: segment.path, segmentFile: segment.path, position: position, offset: offset, message: message))
        }
        if let problem = end.problem {
            damage(end.position, end.nextOffset, "\(problem); \(end.trailingBytes) bytes from here to the end of the file")
        }
        if let point, !pointChecked {
            if point.position > end.position {
                problems.append(VerifyProblem(
                    kind: .corruption, file: segment.path, segmentFile: segment.path, position: end.position, offset: point.nextOffset,
                    message: "the recovery point says \(point.position) bytes are synced, but the valid data ends at \(end.position)"))
            } else if end.nextOffset != point.nextOffset {
                problems.append(VerifyProblem(
                    kind: .corruption, file: segment.path, segmentFile: segment.path, position: point.position, offset: end.nextOffset,
                    message: "the recovery point says the next offset is \(point.nextOffset), but the data ends at offset \(end.nextOffset.map(String.init) ?? "?")"))
            }
        }
        if indexed, base != nil {
            checkIndexesAfterWalk(indexes, from: entry, end: end, indexPath: indexPath, timeIndexPath: timeIndexPath, extra: indexProblems)
        }
    }

    private mutating func checkIndexesAfterWalk(_ indexes: IndexEntries, from entry: Int, end: SegmentFile.End, indexPath: String, timeIndexPath: String,
                                                 extra: [(Int64?, Int64?, String, String)]) {
        var found = extra
        if !live {
            for i in entry..<indexes.offsets.count {
                found.append((Int64(i) * 8, nil, indexPath, "entry \(i) points at position \(indexes.offsets[i].position), past the last batch (\(end.position))"))
            }
            if !indexes.offsetFileExists && end.position > 0 {
                found.append((nil, nil, indexPath, "the offset index is missing"))
            }
            if !indexes.timeFileExists && end.position > 0 {
                found.append((nil, nil, timeIndexPath, "the time index is missing"))
            }
            if indexes.offsetFileExists && indexes.timeFileExists && indexes.offsets.count != indexes.times.count {
                found.append((nil, nil, timeIndexPath, "the time index has \(indexes.times.count) entries, the offset index \(indexes.offsets.count)"))
            }
            if indexes.offsetPartialBytes != 0 { found.append((nil, nil, indexPath, "the file's size is not a whole number of 8-byte entries")) }
            if indexes.timePartialBytes != 0 { found.append((nil, nil, timeIndexPath, "the file's size is not a whole number of 12-byte entries")) }
        }
        for (position, offset, path, message) in found {
            problems.append(VerifyProblem(kind: .indexMismatch, file: path, segmentFile: segment.path, position: position, offset: offset, message: message))
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let h = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - h.count) + h
}
