import Glibc
import SpoolFormat

/// Offsets are never given out twice (FORMAT.md, "Repair"): when repair finds a queue's data
/// ending below an offset that its recovery point, a group's acks or a group's checkpoint had
/// already seen (the active segment deleted or cut), the offsets between are lost for good.
/// Repair names them, records them in `<gap start>.lost`, and starts an empty segment at the
/// highest seen offset, so the writer's next task gets a new offset that no group has acked.
extension Repairer {
    /// One past the highest offset the queue's recovery point, its groups' logs or their
    /// checkpoints name, with what named it. Read before repair changes anything.
    func highestSeen(_ log: SpoolLayout.Log, among logs: [SpoolLayout.Log]) throws -> (offset: Int64, by: String)? {
        guard let directory = log.directory else { return nil }
        let fs = options.fileSystem
        var best: (offset: Int64, by: String)? = nil
        func consider(_ offset: Int64, _ by: String) {
            if offset > (best?.offset ?? 0) { best = (offset, by) }
        }
        if let point = try? RecoveryPoint.read(in: directory, fileSystem: fs) {
            consider(point.nextOffset, "the recovery point")
        }
        for group in logs where group.kind == .group && group.queue == log.queue && group.root == log.root {
            let name = group.group ?? group.name
            if let state = try? GroupStateReader(limits: options.limits, fileSystem: fs).read(group) {
                consider(state.ackedEnd, "group \(name)'s acks")
            }
            if let groupDirectory = group.directory,
                let checkpoint = try? GroupCheckpointStore(directory: groupDirectory, fileSystem: fs).load().newest
            {
                consider(checkpoint.acked.rangesEnd, "group \(name)'s checkpoint")
            }
        }
        return best
    }

    /// After the log's repairs: when its data now ends below `seen`, records the lost offsets
    /// and starts the log again at `seen` (gap file, empty segment, recovery point; each
    /// durable before the next). A crash part way leaves a log open accepts; a second repair
    /// finishes the job.
    func skipLostOffsets(
        _ log: SpoolLayout.Log, seen: (offset: Int64, by: String), dryRun: Bool, report: inout RepairReport,
        onAction: (RepairAction) -> Void
    ) throws {
        guard let directory = log.directory else { return }
        let fs = options.fileSystem
        let current = try SpoolLayout.log(
            directory, kind: log.kind, name: log.name, queue: log.queue, group: log.group, root: log.root,
            fileSystem: fs)
        let named = current.segments.filter { $0.baseOffset != nil }
        var end = (position: Int64(0), nextOffset: Int64(0))
        var lastFile: SegmentFile? = nil
        if let last = named.last, let base = last.baseOffset {
            let file = try SegmentFile(path: last.path, fileSystem: fs)
            end = try validEnd(of: file, base: base)
            lastFile = file
        }
        guard seen.offset > end.nextOffset else { return }
        let count = seen.offset - end.nextOffset
        let gapFile = RootLayout.segmentFile(in: directory, base: end.nextOffset, suffix: RootLayout.lostSuffix)
        let fresh = RootLayout.segmentFile(in: directory, base: seen.offset, suffix: RootLayout.logSuffix)
        let action = RepairAction(
            kind: .skipLostOffsets, path: fresh, position: 0, offset: end.nextOffset,
            detail:
                "offsets \(end.nextOffset)–\(seen.offset - 1) (\(count) tasks) are lost: the log's data ends at offset \(end.nextOffset), "
                + "but \(seen.by) reached \(seen.offset); record them in \(gapFile) and start the log again at offset \(seen.offset) "
                + "(new segment \(fresh)) so that no offset is given out twice")
        onAction(action)
        report.actions.append(action)
        guard !dryRun else { return }
        if let lastFile, lastFile.size > end.position, try lastFile.lastNonZero(from: end.position) == nil {
            // Preallocated zeros after the last batch of what is now a sealed segment.
            let fd = try fs.open(lastFile.path, flags: O_RDWR, mode: 0)
            defer { fs.close(fd) }
            do {
                try fs.truncate(fd, to: end.position)
                try fs.fsync(fd)
            } catch { throw error.with(path: lastFile.path) }
        }
        let text =
            "offsets \(end.nextOffset)-\(seen.offset - 1) (\(count)) lost; \(seen.by) reached \(seen.offset); recorded by spool repair\n"
        try AtomicFile.write(Array(text.utf8), to: gapFile, directory: directory, durable: true, fileSystem: fs)
        if fs.fileType(fresh) == .missing {
            let fd = try fs.open(fresh, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
            defer { fs.close(fd) }
            do { try fs.fsync(fd) } catch { throw error.with(path: fresh) }
        }
        try fs.syncDirectory(directory)
        try RecoveryPoint(segment: seen.offset, position: 0, nextOffset: seen.offset).write(
            in: directory, durable: true, fileSystem: fs)
    }
}
