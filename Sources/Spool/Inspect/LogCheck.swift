import SpoolFormat

/// The checks of one log (its segments, indexes, recovery point and leftover files).
struct LogCheck {
    let log: SpoolLayout.Log
    let verifier: Verifier
    let writerActive: Bool
    var problems: [VerifyProblem] = []
    var notes: [String] = []
    /// Segments whose missing or short indexes a reader would rebuild.
    var indexRebuilds: [String] = []
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

    /// The log's recovery point, reporting one that is unreadable, or missing where Spool
    /// always writes one.
    /// - Throws: I/O errors reading it.
    private mutating func readRecoveryPoint() throws -> RecoveryPoint? {
        let fs = verifier.fileSystem
        var point: RecoveryPoint? = nil
        if let directory = log.directory {
            let rpPath = RootLayout.path(directory, RootLayout.recoveryPointFileName)
            point = try RecoveryPoint.read(in: directory, fileSystem: fs)
            if point == nil && fs.fileType(rpPath) == .regular {
                // Written only as an atomic file: garbage is damage, not a crash's leftover.
                addRecoveryPointProblem(
                    rpPath,
                    "the recovery point is unreadable (not 36 bytes of SPRP with a good CRC): open ignores it and scans the last segment from its start; `spool repair` writes it anew"
                )
            } else if point == nil && !writerActive && log.segments.contains(where: { $0.baseOffset != nil }) {
                if let root = log.root, fs.fileType(RootLayout(root: root).lockFile) == .regular {
                    // In a root Spool has opened, a log gets its point when created, at each
                    // seal and at close: never missing.
                    addRecoveryPointProblem(
                        rpPath,
                        "the recovery point is missing (deleted?): open scans the last segment from its start; `spool repair` writes it anew"
                    )
                } else {
                    // Segments dropped into a directory Spool never opened (a Kafka client's).
                    notes.append(
                        "\(rpPath): no recovery point yet (Spool never opened this root): open scans the last segment and writes one"
                    )
                }
            }
        }
        return point
    }

    mutating func run(done: inout Int64, total: Int64, progress: (VerifyProgress) -> Void) throws {
        checkOtherFiles()
        let point = try readRecoveryPoint()
        let named = log.segments.filter { $0.baseOffset != nil || log.kind == .file }
        let lastBase = named.last?.baseOffset ?? -1
        if let point, log.kind != .file, writerActive, point.segment > lastBase {
            // The writer rolled to a new segment after the directory was listed.
            notes.append(
                "\(log.directory ?? log.name): the writer moved on to segment \(point.segment) during the check")
        } else if let point, log.kind != .file, !named.contains(where: { $0.baseOffset == point.segment }) {
            var problem = VerifyProblem(
                kind: .corruption, file: (log.directory ?? "") + "/" + RootLayout.recoveryPointFileName,
                offset: point.nextOffset,
                message: "the recovery point names segment \(point.segment), which is missing")
            problem.subject = .recoveryPoint
            problems.append(problem)
        }
        var previousEnd: Int64? = nil
        var previousBase: Int64? = nil
        for (i, segment) in named.enumerated() {
            let isLast = i == named.count - 1
            let base = segment.baseOffset
            if let previousEnd, let base, base > previousEnd, let kept = cutByRepair(previousEnd, previousBase) {
                notes.append(
                    kept.hasSuffix(RootLayout.acceptedGapSuffix)
                        ? "\(segment.path): offsets \(previousEnd)–\(base - 1) are not in the log: their loss was accepted (\(kept))"
                        : "\(segment.path): offsets \(previousEnd)–\(base - 1) are not in the log: cut by repair and kept in \(kept)"
                )
            } else if let previousEnd, let base, base != previousEnd {
                var problem = VerifyProblem(
                    kind: .corruption, file: segment.path, segmentFile: segment.path, position: 0, offset: previousEnd,
                    message: base > previousEnd
                        ? "segment starts at offset \(base) but the one before ends at \(previousEnd): offsets \(previousEnd)–\(base - 1) are missing (restore them, or accept their loss with a Repairer whose acceptGaps is true)"
                        : "segment starts at offset \(base) but the one before ends at \(previousEnd): offsets overlap (a stray or misnamed file inside the previous segment's range: move it out of the queue directory)"
                )
                problem.subject = .segmentOrder
                if base > previousEnd { problem.gapEnd = base }
                problems.append(problem)
            }
            // From which position damage is a torn tail rather than corruption.
            var tailStart: Int64? = nil
            if isLast {
                if log.kind == .file || point == nil {
                    tailStart = 0
                } else if let point, point.segment == base {
                    tailStart = point.position
                } else if let point, let base, point.segment < base {
                    tailStart = 0
                }
            }
            let rpHere = point.flatMap { $0.segment == base && log.kind != .file ? $0 : nil }
            var segmentCheck = SegmentCheck(
                segment: segment, verifier: verifier, tailStart: tailStart, live: writerActive && isLast,
                point: rpHere, indexed: log.kind != .file)
            do {
                try segmentCheck.run(done: &done, total: total, progress: progress)
            } catch let error as SpoolError
                where error.code == .notFound && verifier.fileSystem.fileType(segment.path) == .missing
            {
                // Listed a moment ago and gone now: retention or compaction removed it meanwhile.
                notes.append("\(segment.path): removed while it was being verified (retention or compaction)")
                previousEnd = nil
                continue
            }
            problems += segmentCheck.problems
            notes += segmentCheck.notes
            if segmentCheck.rebuildsIndexes { indexRebuilds.append(segment.path) }
            batches += segmentCheck.batches
            records += segmentCheck.records
            bytesChecked += segmentCheck.bytes
            // A file named inside the previous segment's range (a stray or misnamed file) does
            // not end the log there: the segments after it are checked against the larger end,
            // so the blame stays on the stray file, not on the intact segment that follows.
            let end = segmentCheck.nextOffset ?? base
            if let previousEnd, let end, end < previousEnd { continue }
            previousEnd = end
            previousBase = base
        }
        nextOffset = previousEnd
    }

    private mutating func addRecoveryPointProblem(_ path: String, _ message: String) {
        var problem = VerifyProblem(kind: .corruption, file: path, message: message)
        problem.subject = .recoveryPoint
        problems.append(problem)
    }

    /// The file `spool repair` kept when it cut the offsets from `offset` on (``RepairGap``).
    private func cutByRepair(_ offset: Int64, _ previousBase: Int64?) -> String? {
        guard let directory = log.directory, let previousBase else { return nil }
        return RepairGap.keptFile(among: log.otherFiles, gapStart: offset, previousBase: previousBase).map {
            directory + "/" + $0
        }
    }

    private mutating func checkOtherFiles() {
        guard let directory = log.directory else { return }
        for segment in log.segments where segment.baseOffset == nil {
            problems.append(
                VerifyProblem(
                    kind: .leftoverFile, file: segment.path,
                    message:
                        "a .log file whose name is not a 20-digit base offset: open refuses the queue until it is moved out"
                ))
        }
        for name in log.otherFiles {
            let path = RootLayout.path(directory, name)
            if name.hasSuffix(RootLayout.temporarySuffix) {
                problems.append(
                    VerifyProblem(
                        kind: .leftoverFile, file: path,
                        message: "temporary file of an interrupted atomic write (open removes it)"))
            } else if name.hasSuffix(".cleaned") || name.hasSuffix(".swap") {
                problems.append(
                    VerifyProblem(
                        kind: .leftoverFile, file: path,
                        message: "left by an interrupted compaction (open finishes or rolls it back)"))
            } else if name.hasSuffix(RootLayout.quarantineSuffix) {
                notes.append("\(path): a damaged segment that repair renamed aside (read it with `spool dump`)")
            } else if name.hasSuffix(RootLayout.logSuffix) {
                problems.append(
                    VerifyProblem(
                        kind: .leftoverFile, file: path,
                        message:
                            "a directory named like a segment: open refuses the queue until it is moved out (repair renames it aside)"
                    ))
            } else if name.hasSuffix(RootLayout.acceptedGapSuffix) {
                continue  // noted with the gap it accepts
            } else if name.hasSuffix(RootLayout.lostSuffix) {
                notes.append("\(path): offsets that repair found lost for good, and moved the log's next offset past")
            } else if name.hasSuffix(RootLayout.spareSuffix) {
                notes.append(
                    "\(path): a deleted segment kept to be recycled as the next segment (its old batches are never read)"
                )
            } else if name.hasSuffix(RootLayout.brokenSuffix) {
                notes.append("\(path): bytes cut from a torn tail, kept by recovery or repair")
            } else {
                notes.append("\(path): not a Spool file")
            }
        }
    }
}
