import Glibc

/// A group log whose only segment was deleted: open refuses it ("no segment is left") and
/// verify reports its recovery point naming a missing segment. The group's acks in that log
/// are gone, so repair starts the group log again, empty, at the offset its recovery point
/// says comes next (group-log offsets are never reused), and accepts the loss as
/// ``acceptGroupLoss`` does: a checkpoint there with nothing acked, so the group opens and
/// delivers again what is still in the queue (at-least-once).
extension Repairer {
    /// Restarts `log` (a group log) when it has no segment left but its recovery point says
    /// records were written. Each step is durable before the next: a crash after the new
    /// segment leaves a group log whose acks below its start are lost, which verify reports
    /// and a second repair accepts.
    /// - Throws: I/O errors naming the file.
    func restartEmptyGroupLog(
        _ log: SpoolLayout.Log, dryRun: Bool, report: inout RepairReport,
        onAction: (RepairAction) -> Void
    ) throws {
        guard log.kind == .group, let directory = log.directory else { return }
        let fs = options.fileSystem
        let current = try SpoolLayout.log(
            directory, kind: log.kind, name: log.name, queue: log.queue, group: log.group, root: log.root,
            fileSystem: fs)
        guard current.segments.allSatisfy({ $0.baseOffset == nil }),
            let point = try? RecoveryPoint.read(in: directory, fileSystem: fs), point.nextOffset > 0
        else { return }
        let start = point.nextOffset
        let fresh = RootLayout.segmentFile(in: directory, base: start, suffix: RootLayout.logSuffix)
        func act(_ action: RepairAction, _ body: () throws -> Void) throws {
            onAction(action)
            report.actions.append(action)
            if !dryRun { try body() }
        }
        try act(
            RepairAction(
                kind: .restartGroupLog, path: fresh, position: 0, offset: start,
                detail:
                    "group \(log.group ?? log.name): its log has no segment left (its recovery point says \(start) records were written); "
                    + "start it again, empty, at group-log offset \(start) (new segment \(fresh))")
        ) {
            if fs.fileType(fresh) == .missing {
                let fd = try fs.open(fresh, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
                defer { fs.close(fd) }
                do { try fs.fsync(fd) } catch { throw error.with(path: fresh) }
            }
            try fs.syncDirectory(directory)
            try RecoveryPoint(segment: start, position: 0, nextOffset: start).write(
                in: directory, durable: true, fileSystem: fs)
        }
        try acceptGroupLoss(directory, logStart: start, act: act)
    }
}
