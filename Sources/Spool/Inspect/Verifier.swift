import Glibc
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
        for entry in SpoolLayout.foreignEntries(under: path) {
            report.problems.append(
                VerifyProblem(kind: .leftoverFile, file: entry.path, message: entry.message(command: "verify")))
        }
        let total = logs.flatMap(\.segments).reduce(Int64(0)) { sum, s in sum + fileSize(s.path) }
        var done: Int64 = 0
        var queueEnds: [String: Int64] = [:]
        var queueStarts: [String: Int64?] = [:]
        var lockStates: [String: Bool] = [:]
        for log in logs {
            let writerActive =
                !detectWriter
                ? false
                : log.root.map { root in
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
            report.indexRebuilds += check.indexRebuilds
            if log.kind == .queue, let queue = log.queue {
                queueEnds[queue] = check.nextOffset
                queueStarts[queue] = log.segments.compactMap(\.baseOffset).first
            }
            if log.kind == .group, let queue = log.queue {
                checkGroup(
                    log, queueStart: queueStarts[queue] ?? nil, queueEnd: queueEnds[queue],
                    groupLogEnd: check.nextOffset, into: &report)
            }
        }
        return report
    }

    private func fileSize(_ path: String) -> Int64 {
        guard let fd = try? fileSystem.open(path, flags: O_RDONLY, mode: 0) else { return 0 }
        defer { fileSystem.close(fd) }
        return (try? fileSystem.size(fd)) ?? 0
    }

    /// Replays a group's state (checkpoint, then log) and checks it: its checkpoints readable
    /// and within the group log, no acks lost below the group log's start, its acks within
    /// the queue.
    private func checkGroup(
        _ log: SpoolLayout.Log, queueStart: Int64?, queueEnd: Int64?, groupLogEnd: Int64?,
        into report: inout VerifyReport
    ) {
        let directory = log.directory ?? log.name
        let group = log.group ?? log.name
        func problem(
            _ message: String, file: String = directory, offset: Int64? = nil,
            subject: VerifyProblem.Subject = .groupState
        ) {
            var found = VerifyProblem(kind: .corruption, file: file, offset: offset, message: message)
            found.subject = subject
            report.problems.append(found)
        }
        do {
            let state = try GroupStateReader(limits: limits, fileSystem: fileSystem).read(
                log, queueStart: queueStart ?? 0)
            for ignored in state.ignoredCheckpoints {
                problem(
                    "group \(group): damaged checkpoint ignored (open falls back to the older checkpoint or the group log): \(ignored)"
                )
            }
            if let lost = state.lostAcksBelow {
                problem(
                    "group \(group): its acks below group-log offset \(lost) are lost: the group log starts there and no usable checkpoint covers what was before; open refuses the group, since tasks it acked would be delivered again",
                    offset: lost, subject: .groupAcksLost)
            }
            if let checkpoint = state.checkpointOffset, let groupLogEnd, checkpoint > groupLogEnd {
                problem(
                    "group \(group): its checkpoint covers the group log up to offset \(checkpoint), but the group log ends at \(groupLogEnd) (group-log records were lost; new acks would be written below the checkpoint and skipped)",
                    offset: groupLogEnd)
            }
            if let queueEnd, state.ackedEnd > queueEnd {
                report.problems.append(
                    VerifyProblem(
                        kind: .corruption, file: directory, offset: queueEnd,
                        message:
                            "group \(group) acknowledged offsets up to \(state.ackedEnd - 1), but queue \(log.queue ?? "?") ends at offset \(queueEnd) (its data was lost or replaced after the acks)"
                    ))
            }
        } catch let error as SpoolError {
            report.problems.append(
                VerifyProblem(
                    kind: .corruption, file: error.path ?? directory, position: error.position, offset: error.offset,
                    message: "group state cannot be replayed: \(error.message)"))
        } catch {
            report.problems.append(
                VerifyProblem(kind: .corruption, file: directory, message: "group state cannot be replayed: \(error)"))
        }
    }
}
