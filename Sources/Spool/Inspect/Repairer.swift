import Glibc
import SpoolFormat

/// One step `spool repair` takes (or, in a dry run, would take).
public struct RepairAction: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Cut a segment at its first damaged batch; the cut bytes are kept as `.broken`.
        case truncate
        /// Rename a segment with no readable batch aside (`<name>.quarantined`) with its indexes.
        case quarantine
        /// Rename an intact segment whose name is not the offset of its first batch.
        case rename
        /// Write both index files of a segment anew from the log.
        case rebuildIndexes = "rebuild indexes"
        /// Rewrite the recovery point at the end of the repaired data.
        case rewriteRecoveryPoint = "rewrite recovery point"
        /// Remove a temporary file of an interrupted atomic write.
        case removeTemporaryFile = "remove temporary file"
        /// Finish or roll back an interrupted compaction (``CompactionLeftovers``).
        case resolveCompaction = "resolve compaction leftover"
        /// Write a group checkpoint at its log's start, accepting that acks lost below it are
        /// forgotten (those tasks may be delivered again), so the group opens.
        case acceptGroupLoss = "accept lost group acks"
        /// Record that a gap of offsets between two segments is accepted as lost
        /// (`--accept-gap`), so readers and verify move past it.
        case acceptGap = "accept gap"
        /// Offsets a group or the recovery point had seen are gone from the log: record them as
        /// lost (`<stem>.lost`) and start the log again past them, so none is given out twice.
        case skipLostOffsets = "skip lost offsets"
        /// A group log whose every segment is gone: start it again, empty, past its old end
        /// (then ``acceptGroupLoss`` at that offset, so the group opens).
        case restartGroupLog = "restart group log"
    }

    public var kind: Kind
    public var path: String
    public var position: Int64?
    public var offset: Int64?
    /// What it does and what it costs, in words.
    public var detail: String
}

/// What a repair did (or would do) and what it left alone.
public struct RepairReport: Sendable, Equatable {
    public var actions: [RepairAction] = []
    /// Problems repair does not fix (they are reported, never silently dropped).
    public var leftAlone: [VerifyProblem] = []
    public var dryRun: Bool
}

/// Brings a root (or one queue or group directory) back to a state the engine opens, with the
/// salvage path of DESIGN.md "Recovery and compaction": cuts torn tails and damaged batches
/// (keeping the cut bytes as `<stem>.<position>.broken`), quarantines segments with nothing
/// readable by renaming them aside, rebuilds indexes from the log, rewrites a recovery point
/// that no longer matches the data, and removes leftover temp files. It plans from a
/// ``Verifier`` run, so it fixes exactly what verify reports.
///
/// A writer of the root: it takes `spool.lock` (refusing with `.locked` while another process
/// holds it); a dry run only probes the lock and changes nothing. Leftovers of an interrupted
/// compaction (`.cleaned`, `.swap`) are resolved first, as open would (``CompactionLeftovers``):
/// an unfinished rewrite is deleted, a finished one made live; the checks then run on the
/// result (in a dry run, on the files as they are).
///
/// Thread-safety: a value type; do not run two on one root (the lock prevents it).
public struct Repairer: Sendable {
    public var options: SpoolOptions
    /// Accept each gap between two segments as lost (`spool repair --accept-gap`): record the
    /// decision in `<stem>.accepted-gap` so that readers and verify move past it. Off by
    /// default: a gap is left alone and reported.
    public var acceptGaps = false

    public init(options: SpoolOptions = SpoolOptions()) {
        self.options = options
    }

    /// Repairs what is under `path`, or with `dryRun` lists what it would do.
    /// - Throws: `.locked` when a writer holds the root; `.notFound`, `.invalidArgument`; I/O
    ///   errors naming the file (actions before the failure were done and are durable).
    public func repair(path: String, dryRun: Bool, onAction: (RepairAction) -> Void = { _ in }) throws -> RepairReport {
        let fs = options.fileSystem
        let logs = try SpoolLayout.logs(at: path, fileSystem: fs)
        var lock: DirectoryLock? = nil
        if let root = logs.compactMap(\.root).first {
            if dryRun {
                if WriterLockProbe.isHeld(root: root) { throw lockedError(root) }
            } else {
                lock = try DirectoryLock(root: root, fileSystem: fs)
            }
        }
        defer { lock?.release(fileSystem: fs) }
        var report = RepairReport(dryRun: dryRun)
        for directory in logs.compactMap(\.directory) {
            try resolveCompactionLeftovers(in: directory, dryRun: dryRun, report: &report, onAction: onAction)
        }
        var verifier = Verifier(limits: options.limits, deep: false, fileSystem: fs)
        verifier.detectWriter = false  // the lock is this repair's own (or, in a dry run, free)
        for log in logs {
            let seen = log.kind == .queue ? try highestSeen(log, among: logs) : nil
            let found = try verifier.verify(path: log.kind == .file ? log.name : log.directory ?? log.name)
            // Verifying a queue directory covers its groups too: keep this log's problems only.
            let problems = found.problems.filter { belongs($0, to: log) }
            let rebuilds = found.indexRebuilds.filter {
                belongs(VerifyProblem(kind: .indexMismatch, file: $0, message: ""), to: log)
            }
            try repairLog(
                log, problems: problems, indexRebuilds: rebuilds, dryRun: dryRun, report: &report, onAction: onAction)
            if let seen { try skipLostOffsets(log, seen: seen, dryRun: dryRun, report: &report, onAction: onAction) }
            if log.kind == .group { try restartEmptyGroupLog(log, dryRun: dryRun, report: &report, onAction: onAction) }
        }
        return report
    }

    /// Finishes or rolls back an interrupted compaction in `directory`, one action at a time.
    private func resolveCompactionLeftovers(
        in directory: String, dryRun: Bool, report: inout RepairReport,
        onAction: (RepairAction) -> Void
    ) throws {
        let fs = options.fileSystem
        for leftover in try CompactionLeftovers.plan(in: directory, fileSystem: fs) {
            let action = RepairAction(kind: .resolveCompaction, path: leftover.path, detail: leftover.description)
            onAction(action)
            report.actions.append(action)
            if !dryRun { try CompactionLeftovers.apply([leftover], in: directory, fileSystem: fs) }
        }
    }

    private func lockedError(_ root: String) -> SpoolError {
        SpoolError(
            .locked, "the root is locked by a process that is writing to it", path: root + "/spool.lock",
            hint: "stop the writer first; verify, dump and stats work while it runs")
    }

    private func belongs(_ problem: VerifyProblem, to log: SpoolLayout.Log) -> Bool {
        guard let directory = log.directory else { return true }
        let file = problem.segmentFile ?? problem.file
        guard file.hasPrefix(directory + "/") || file == directory else { return false }
        return !file.dropFirst(directory.count + 1).contains("/")
    }

    private func repairLog(
        _ log: SpoolLayout.Log, problems: [VerifyProblem], indexRebuilds: [String], dryRun: Bool,
        report: inout RepairReport,
        onAction: (RepairAction) -> Void
    ) throws {
        let fs = options.fileSystem
        func act(_ action: RepairAction, _ body: () throws -> Void) throws {
            onAction(action)
            report.actions.append(action)
            if !dryRun { try body() }
        }
        var rewritePoint = false
        var pointWritten = false
        var cutSegments: Set<String> = []
        var rebuiltSegments: Set<String> = []
        let named = log.segments.filter { $0.baseOffset != nil }
        for problem in problems {
            switch problem.kind {
            case .leftoverFile where problem.file.hasSuffix(RootLayout.temporarySuffix):
                try act(
                    RepairAction(
                        kind: .removeTemporaryFile, path: problem.file,
                        detail:
                            "remove \(problem.file) (an interrupted atomic write; the file it was replacing is intact)")
                ) {
                    try fs.unlink(problem.file)
                }
            case .leftoverFile where problem.file.hasSuffix(RootLayout.logSuffix):
                try act(
                    RepairAction(
                        kind: .quarantine, path: problem.file,
                        detail:
                            "rename \(problem.file) to \(problem.file)\(RootLayout.quarantineSuffix) (not a segment name; open refuses it)"
                    )
                ) {
                    try fs.rename(problem.file, to: problem.file + RootLayout.quarantineSuffix)
                }
            case .tornTail, .corruption:
                if problem.subject == .recoveryPoint {
                    rewritePoint = true
                    continue
                }
                if problem.subject == .segmentOrder, acceptGaps, let gapEnd = problem.gapEnd,
                    let gapStart = problem.offset, let directory = log.directory
                {
                    try acceptGap(directory, from: gapStart, to: gapEnd, act: act)
                    continue
                }
                if problem.subject == .segmentOrder || problem.subject == .groupState {
                    report.leftAlone.append(problem)
                    continue
                }
                if problem.subject == .groupAcksLost, let directory = log.directory, let start = problem.offset {
                    try acceptGroupLoss(directory, logStart: start, act: act)
                    continue
                }
                guard let segmentPath = problem.segmentFile, let position = problem.position else {
                    report.leftAlone.append(problem)  // a group's state against its queue
                    continue
                }
                if cutSegments.contains(segmentPath) { continue }
                cutSegments.insert(segmentPath)
                rebuiltSegments.insert(segmentPath)  // the cut rebuilds its indexes
                let isLast = named.last?.path == segmentPath
                try cut(
                    segmentPath, at: position, offset: problem.offset, isLast: isLast, directory: log.directory,
                    act: act)
                pointWritten = pointWritten || isLast
            case .indexMismatch:
                guard let segmentPath = problem.segmentFile, !rebuiltSegments.contains(segmentPath) else { continue }
                rebuiltSegments.insert(segmentPath)
                try rebuild(segmentPath, act: act)
            case .leftoverFile where CompactionLeftovers.isLeftover(problem.file):
                continue  // resolved (or, in a dry run, listed) before the checks
            default:
                report.leftAlone.append(problem)
            }
        }
        // Missing or short indexes (derived data, a note in verify): rebuilt now rather than by
        // the first reader.
        for segmentPath in indexRebuilds where !rebuiltSegments.contains(segmentPath) {
            rebuiltSegments.insert(segmentPath)
            try rebuild(segmentPath, act: act)
        }
        if rewritePoint && !pointWritten, let directory = log.directory {
            try writeRecoveryPoint(directory, log: log, dryRun: dryRun, act: act)
        }
    }

    /// Records the operator's acceptance of a gap of offsets (``RepairGap``), durably.
    private func acceptGap(
        _ directory: String, from gapStart: Int64, to gapEnd: Int64,
        act: (RepairAction, () throws -> Void) throws -> Void
    ) throws {
        let name = RepairGap.acceptedFileName(gapStart: gapStart)
        try act(
            RepairAction(
                kind: .acceptGap, path: RootLayout.path(directory, name), offset: gapStart,
                detail:
                    "write \(directory)/\(name): offsets \(gapStart)–\(gapEnd - 1) (\(gapEnd - gapStart) records) are accepted as lost; readers and verify move past them"
            )
        ) {
            try AtomicFile.write(
                RepairGap.acceptedText(
                    gapStart: gapStart, gapEnd: gapEnd, wallMilliseconds: options.clock.wallMilliseconds()),
                to: RootLayout.path(directory, name), directory: directory, durable: true,
                fileSystem: options.fileSystem)
        }
    }

    /// Records the operator's acceptance of a group's lost acks: a checkpoint at the group
    /// log's start with nothing acked (opening the group then counts what is below the queue's
    /// start as acked, and delivers the rest again).
    func acceptGroupLoss(
        _ directory: String, logStart: Int64, act: (RepairAction, () throws -> Void) throws -> Void
    ) throws {
        let checkpoint = GroupCheckpoint(logOffset: logStart, acked: OffsetRanges(watermark: 0), retries: [:])
        try act(
            RepairAction(
                kind: .acceptGroupLoss, path: RootLayout.path(directory, RootLayout.checkpointFileName),
                offset: logStart,
                detail:
                    "write \(directory)/\(RootLayout.checkpointFileName) at group-log offset \(logStart): the group's acks below it are lost, "
                    + "so tasks it acked that are still in the queue will be delivered again (at-least-once)")
        ) {
            try GroupCheckpointStore(directory: directory, fileSystem: options.fileSystem).save(checkpoint)
        }
    }

    /// Cuts a segment at its first damage (`position`, where its valid prefix ends), keeping the
    /// cut bytes, or quarantines it when nothing in it is readable and it is not the log's last
    /// segment. For the last segment the recovery point is first written at the cut: it then
    /// claims nothing the cut removes, so a crash in the middle leaves a log open can recover.
    private func cut(
        _ path: String, at problemPosition: Int64, offset: Int64?, isLast: Bool, directory: String?,
        act: (RepairAction, () throws -> Void) throws -> Void
    ) throws {
        let fs = options.fileSystem
        let file = try SegmentFile(path: path, fileSystem: fs)
        guard let base = file.nameOffset else { return }
        let valid = try validEnd(of: file, base: base)
        let position = min(problemPosition, valid.position)
        let lastData = try file.lastNonZero(from: position) ?? position
        let stem = String(path.dropLast(RootLayout.logSuffix.count))
        let lost = offset.map { "from offset \($0) on" } ?? "after it"
        if position == 0 && !isLast, let directory, let trueBase = try misnamedBase(of: file, base: base, in: directory)
        {
            let target = RootLayout.segmentFile(in: directory, base: trueBase, suffix: RootLayout.logSuffix)
            try act(
                RepairAction(
                    kind: .rename, path: path, position: 0, offset: trueBase,
                    detail:
                        "rename \(path) to \(target): every batch in it passes its CRC and its first batch starts at offset \(trueBase), not at the \(base) of its name"
                )
            ) {
                try fs.rename(path, to: target)
                for suffix in [RootLayout.indexSuffix, RootLayout.timeIndexSuffix]
                where fs.fileType(stem + suffix) == .regular {
                    try fs.unlink(stem + suffix)
                }
                try fs.syncDirectory(directory)
            }
            try rebuild(target, act: act)
            return
        }
        if !isLast, let directory, let tail = try intactTail(of: file, base: base, damagedAt: position, in: directory) {
            try dropDamagedBatch(of: file, base: base, tail: tail, act: act)
            return
        }
        var foreign = false
        if position == 0 && isLast, let directory { foreign = try isDetached(base: base, in: directory) }
        if position == 0 && (!isLast || foreign) {
            let why =
                foreign
                ? "no batch in it is readable (\(file.size) bytes) and its name does not continue the log, which ends below offset \(base): not adopted as the log's tail"
                : "no batch in it is readable (\(file.size) bytes); its records are lost from the log"
            try act(
                RepairAction(
                    kind: .quarantine, path: path, position: 0, offset: offset,
                    detail: "rename \(path) to \(path)\(RootLayout.quarantineSuffix): \(why)")
            ) {
                try fs.rename(path, to: path + RootLayout.quarantineSuffix)
                for suffix in [RootLayout.indexSuffix, RootLayout.timeIndexSuffix]
                where fs.fileType(stem + suffix) == .regular {
                    try fs.unlink(stem + suffix)
                }
                try fs.syncDirectory(parent(path))
            }
            return
        }
        let broken = TailCutter.brokenPath(of: path, at: position, fileSystem: fs)
        if isLast, let directory {
            let point = RecoveryPoint(segment: base, position: valid.position, nextOffset: valid.nextOffset)
            if try RecoveryPoint.read(in: directory, fileSystem: fs) != point {
                try act(
                    RepairAction(
                        kind: .rewriteRecoveryPoint, path: RootLayout.path(directory, RootLayout.recoveryPointFileName),
                        position: point.position, offset: point.nextOffset,
                        detail:
                            "write \(directory)/\(RootLayout.recoveryPointFileName) at the cut (segment \(base), position \(point.position), next offset \(point.nextOffset)) before cutting"
                    )
                ) {
                    try point.write(in: directory, durable: true, fileSystem: fs)
                }
            }
        }
        try act(
            RepairAction(
                kind: .truncate, path: path, position: position, offset: offset,
                detail:
                    "truncate \(path) at position \(position) (the \(lastData - position) bytes from there on are kept in \(broken); records \(lost) in this segment leave the log)"
            )
        ) {
            let fd = try fs.open(path, flags: O_RDWR, mode: 0)
            defer { fs.close(fd) }
            try TailCutter.cut(
                fd: fd, logPath: path, directory: parent(path), at: position, through: lastData, keepingIn: broken,
                fileSystem: fs)
        }
        try rebuild(path, act: act)
    }

    /// Copies bytes [from, to) of `path` into `target` (synced, directory synced), before a cut
    /// or a move (``TailCutter/copy(from:path:range:to:fileSystem:)``).
    func keep(_ path: String, from: Int64, to: Int64, in target: String) throws {
        let fs = options.fileSystem
        let source = try fs.open(path, flags: O_RDONLY, mode: 0)
        defer { fs.close(source) }
        try TailCutter.copy(from: source, path: path, range: from..<max(to, from), to: target, fileSystem: fs)
        try fs.syncDirectory(parent(path))
    }

    func rebuild(_ path: String, act: (RepairAction, () throws -> Void) throws -> Void) throws {
        let fs = options.fileSystem
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let base = SegmentName.parseLog(name) else { return }
        try act(
            RepairAction(
                kind: .rebuildIndexes, path: path,
                detail: "rebuild the .index and .timeindex of \(path) from its batches")
        ) {
            let file = try SegmentFile(path: path, fileSystem: fs)
            let end = try validEnd(of: file, base: base)
            let segment = try Segment(
                directory: parent(path), baseOffset: base, writable: false, create: false, fileSystem: fs)
            try segment.rebuildIndexFiles(end: end.position, options: options)
        }
    }

    /// Writes the recovery point at the end of the log's last segment, as it is after repair.
    private func writeRecoveryPoint(
        _ directory: String, log: SpoolLayout.Log, dryRun: Bool,
        act: (RepairAction, () throws -> Void) throws -> Void
    ) throws {
        let fs = options.fileSystem
        // In a dry run the files are unchanged: describe the point from the first damage on.
        let current = try SpoolLayout.log(
            directory, kind: log.kind, name: log.name, queue: log.queue, group: log.group, root: log.root,
            fileSystem: fs)
        guard let last = current.segments.last(where: { $0.baseOffset != nil }), let base = last.baseOffset else {
            return
        }
        let end = try validEnd(of: SegmentFile(path: last.path, fileSystem: fs), base: base)
        let point = RecoveryPoint(segment: base, position: end.position, nextOffset: end.nextOffset)
        let stored = try RecoveryPoint.read(in: directory, fileSystem: fs)
        guard stored != point else { return }
        let detail =
            dryRun
            ? "rewrite \(directory)/\(RootLayout.recoveryPointFileName) at the end of the repaired data of \(last.path)"
            : "rewrite \(directory)/\(RootLayout.recoveryPointFileName): segment \(base), position \(point.position), next offset \(point.nextOffset)"
        try act(
            RepairAction(
                kind: .rewriteRecoveryPoint, path: RootLayout.path(directory, RootLayout.recoveryPointFileName),
                position: point.position, offset: point.nextOffset, detail: detail)
        ) {
            try point.write(in: directory, durable: true, fileSystem: fs)
        }
    }

    /// The position after the last batch of the segment's valid prefix (header, CRC and
    /// offset continuity sound), and the offset after it.
    func validEnd(of file: SegmentFile, base: Int64) throws -> (position: Int64, nextOffset: Int64) {
        var end = (position: Int64(0), nextOffset: base)
        try file.forEachBatch(limits: options.limits, decode: false) { entry in
            guard entry.crcOK, entry.expectedOffset == entry.header.baseOffset else { return false }
            end = (entry.position + Int64(entry.header.totalBytes), entry.header.nextOffset)
            return true
        }
        return end
    }

    func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
