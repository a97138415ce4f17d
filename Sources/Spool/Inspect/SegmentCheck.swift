import SpoolFormat

/// The checks of one segment file: batches, offsets, indexes, recovery point.
struct SegmentCheck {
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
    /// Whether a reader would rebuild this segment's indexes (missing or short: derived data).
    var rebuildsIndexes = false
    var batches: Int64 = 0
    var records: Int64 = 0
    var bytes: Int64 = 0
    var nextOffset: Int64?
    /// The end of the last batch whose CRC and offset were right.
    private var lastSoundEnd: Int64 = 0

    init(
        segment: SpoolLayout.SegmentPath, verifier: Verifier, tailStart: Int64?, live: Bool, point: RecoveryPoint?,
        indexed: Bool
    ) {
        self.segment = segment
        self.verifier = verifier
        self.tailStart = tailStart
        self.live = live
        self.point = point
        self.indexed = indexed
    }

    /// Records `finding` at `position` as ``DamageRule`` says: a problem (torn tail or
    /// corruption), or a note for a live writer's write in flight.
    private mutating func damage(_ finding: DamageRule.Finding, _ position: Int64, _ offset: Int64?, _ message: String)
    {
        let place = DamageRule.place(
            of: position, tailStart: tailStart, live: live, looseFile: !indexed, lastSoundEnd: lastSoundEnd)
        let kind: VerifyProblem.Kind
        switch DamageRule.verdict(finding, at: place) {
        case .end, .repairGap: return
        case .inFlight:
            notes.append(
                "\(segment.path): position \(position): \(message) (past the recovery point while a writer runs: a write in progress)"
            )
            return
        case .tornTail: kind = .tornTail
        case .corruption: kind = .corruption
        }
        problems.append(
            VerifyProblem(
                kind: kind, file: segment.path, segmentFile: segment.path, position: position, offset: offset,
                message: message))
    }

    mutating func run(done: inout Int64, total: Int64, progress: (VerifyProgress) -> Void) throws {
        let file = try SegmentFile(path: segment.path, fileSystem: verifier.fileSystem)
        let base = file.nameOffset
        let indexes =
            indexed ? try IndexEntries.read(segment: segment.path, fileSystem: verifier.fileSystem) : IndexEntries()
        let stem = String(segment.path.dropLast(RootLayout.logSuffix.count))
        let indexPath = stem + RootLayout.indexSuffix
        let timeIndexPath = stem + RootLayout.timeIndexSuffix
        var entryCheck = indexed ? base.map { IndexEntryCheck(base: $0, indexes: indexes) } : nil
        var pointChecked = point == nil
        let deep = verifier.deep
        var sinceProgress: Int64 = 0
        var found = BoundedList<(DamageRule.Finding, Int64, Int64?, String)>()
        var decodeFailures = BoundedList<(Int64, Int64?, String, VerifyProblem.Kind)>()
        var pointProblems: [(Int64, Int64?, String)] = []
        let end = try file.forEachBatch(limits: verifier.limits, decode: deep) { batch in
            let h = batch.header
            if let expected = batch.expectedOffset, expected != h.baseOffset {
                found.append(
                    (
                        h.baseOffset > expected ? .offsetGap : .offsetOverlap, batch.position, h.baseOffset,
                        "batch starts at offset \(h.baseOffset), expected \(expected)"
                    ))
            }
            if !batch.crcOK {
                found.append(
                    (
                        .badBytes, batch.position, h.baseOffset,
                        "CRC mismatch: stored \(hex(h.crc)), computed \(hex(batch.computedCRC))"
                    ))
            } else if case .failure(let error) = batch.batch {
                // The CRC matched: the writer wrote these bytes whole, so this is no torn write.
                decodeFailures.append(
                    (batch.position, h.baseOffset, error.message, VerifyProblem.Kind(decodeFailure: error)))
            }
            entryCheck?.add(h, at: batch.position)
            if let point, !pointChecked, batch.position >= point.position {
                pointChecked = true
                if batch.position > point.position {
                    pointProblems.append(
                        (
                            point.position, nil,
                            "the recovery point (position \(point.position), offset \(point.nextOffset)) is not at a batch boundary"
                        ))
                } else if h.baseOffset != point.nextOffset {
                    pointProblems.append(
                        (
                            point.position, h.baseOffset,
                            "the recovery point says offset \(point.nextOffset) starts at position \(point.position), but the batch there starts at offset \(h.baseOffset)"
                        ))
                }
            }
            if batch.crcOK && (batch.expectedOffset ?? h.baseOffset) == h.baseOffset {
                lastSoundEnd = batch.position + Int64(h.totalBytes)
            }
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
        for (finding, position, offset, message) in found.items { damage(finding, position, offset, message) }
        let dropped = found.dropped + decodeFailures.dropped
        if dropped > 0 {
            notes.append(
                "\(segment.path): \(dropped) more damaged batches or index entries not listed (at most \(BoundedList<Int>.max) of each kind per file)"
            )
        }
        for (position, offset, message, kind) in decodeFailures.items {
            problems.append(
                VerifyProblem(
                    kind: kind, file: segment.path, segmentFile: segment.path, position: position, offset: offset,
                    message: message))
        }
        if let problem = end.problem {
            damage(
                .badBytes, end.position, end.nextOffset,
                "\(problem); \(end.trailingBytes) bytes from here to the end of the file")
        }
        reportRecoveryPoint(pointProblems, checked: pointChecked, end: end)
        if let entryCheck {
            checkIndexes(entryCheck, indexes, end: end, base: base, indexPath: indexPath, timeIndexPath: timeIndexPath)
        }
    }

    /// Reports index entries that disagree with the walk (a live writer's newest ones aside),
    /// then what a rebuild would change.
    private mutating func checkIndexes(
        _ entryCheck: IndexEntryCheck, _ indexes: IndexEntries, end: SegmentFile.End, base: Int64?, indexPath: String,
        timeIndexPath: String
    ) {
        var indexProblems = BoundedList<(Int64?, Int64?, String, String)>()
        for (i, problem) in entryCheck.offsetProblems(end: end.position).enumerated() {
            if let problem, !(live && Int64(indexes.offsets[i].position) >= end.position) {
                indexProblems.append(
                    (Int64(i) * 8, base.map { $0 + Int64(indexes.offsets[i].relativeOffset) }, indexPath, problem))
            }
        }
        for (i, problem) in entryCheck.timeProblems().enumerated() {
            if let problem,
                !live || indexes.times[i].relativeOffset < UInt32(clamping: (end.nextOffset ?? 0) - (base ?? 0))
            {
                indexProblems.append(
                    (
                        Int64(i) * 12, base.map { $0 + Int64(indexes.times[i].relativeOffset) }, timeIndexPath,
                        problem
                    ))
            }
        }
        checkIndexesAfterWalk(
            indexes, end: end, greatestTimestamp: entryCheck.greatestTimestamp, indexPath: indexPath,
            timeIndexPath: timeIndexPath, extra: indexProblems)
        if indexProblems.dropped > 0 {
            notes.append(
                "\(segment.path): \(indexProblems.dropped) more index problems not listed (at most \(BoundedList<Int>.max) per file)"
            )
        }
    }

    /// Reports what the walk found wrong with the recovery point, and, when no batch started at
    /// or past it, whether the data reaches it.
    private mutating func reportRecoveryPoint(_ found: [(Int64, Int64?, String)], checked: Bool, end: SegmentFile.End) {
        var found = found
        if let point, !checked {
            if point.position > end.position {
                found.append(
                    (
                        end.position, point.nextOffset,
                        "the recovery point says \(point.position) bytes are synced, but the valid data ends at \(end.position)"
                    ))
            } else if end.nextOffset != point.nextOffset {
                found.append(
                    (
                        point.position, end.nextOffset,
                        "the recovery point says the next offset is \(point.nextOffset), but the data ends at offset \(end.nextOffset.map(String.init) ?? "?")"
                    ))
            }
        }
        for (position, offset, message) in found {
            var problem = VerifyProblem(
                kind: .corruption, file: segment.path, segmentFile: segment.path, position: position, offset: offset,
                message: message)
            problem.subject = .recoveryPoint
            problems.append(problem)
        }
    }

    private mutating func checkIndexesAfterWalk(
        _ indexes: IndexEntries, end: SegmentFile.End, greatestTimestamp: Int64, indexPath: String,
        timeIndexPath: String, extra: BoundedList<(Int64?, Int64?, String, String)>
    ) {
        let found = extra.items
        if !live {
            noteDerivedIndexes(
                indexes, end: end, greatestTimestamp: greatestTimestamp, indexPath: indexPath,
                timeIndexPath: timeIndexPath)
        }
        for (position, offset, path, message) in found {
            problems.append(
                VerifyProblem(
                    kind: .indexMismatch, file: path, segmentFile: segment.path, position: position, offset: offset,
                    message: message))
        }
    }
}

extension SegmentCheck {
    /// A missing or short index is not damage: indexes are derived data, and a reader that
    /// finds one missing, cut mid-entry or with entry counts that disagree rebuilds both from
    /// the log on first use (FORMAT.md, "Offset index (.index)"). Compaction's rewritten segments have
    /// none until then. Verify says what a reader would rebuild instead of failing.
    private mutating func noteDerivedIndexes(
        _ indexes: IndexEntries, end: SegmentFile.End, greatestTimestamp: Int64, indexPath: String,
        timeIndexPath: String
    ) {
        var reasons: [String] = []
        // A closed segment's time index ends with its greatest timestamp (Kafka's closing
        // entry, FORMAT.md "Time index (.timeindex)"): one that does not was cut short or never closed.
        if indexes.timeFileExists && end.position > 0 && greatestTimestamp > IndexEntryRule.noTimestamp
            && (indexes.times.last?.timestamp ?? IndexEntryRule.noTimestamp) < greatestTimestamp
        {
            reasons.append(
                "the time index does not end with the segment's greatest timestamp (\(greatestTimestamp) ms)")
        }
        if !indexes.offsetFileExists && end.position > 0 { reasons.append("the offset index is missing") }
        if !indexes.timeFileExists && end.position > 0 { reasons.append("the time index is missing") }
        if indexes.offsetPartialBytes != 0 { reasons.append("the offset index ends inside an 8-byte entry") }
        if indexes.timePartialBytes != 0 { reasons.append("the time index ends inside a 12-byte entry") }
        guard !reasons.isEmpty else { return }
        rebuildsIndexes = true
        notes.append(
            "\(segment.path): would rebuild \(indexPath) and \(timeIndexPath) from the log (\(reasons.joined(separator: "; "))); "
                + "a reader does this on first use, `spool repair` does it now")
    }
}

private func hex(_ value: UInt32) -> String {
    let h = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - h.count) + h
}

/// Problems kept for a report, at most ``max``; the rest are only counted, so a file of
/// nothing but damage cannot make a report grow without bound.
struct BoundedList<T> {
    static var max: Int { 1000 }
    private(set) var items: [T] = []
    private(set) var dropped = 0

    mutating func append(_ item: T) {
        if items.count < Self.max { items.append(item) } else { dropped += 1 }
    }
}
