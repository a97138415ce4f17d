import Glibc
import Logging
import SpoolFormat
import Synchronization

/// Failing and releasing tasks: attempts, backoff, and what a worker gives back at shutdown.
extension ConsumerGroup {
    /// ``nack(_:reason:delay:)`` with the delay in milliseconds.
    @available(*, deprecated, message: "use nack(_:reason:delay:) with a Duration")
    @discardableResult
    public func nack(_ task: QueueTask, reason: String = "nack", delayMilliseconds: Int64?) async throws -> Bool {
        try await nack(task, reason: reason, delayMilliseconds: delayMilliseconds, attemptsMax: nil)
    }

    /// Gives a task back: it counts an attempt and is delivered again after `delay` (or the
    /// retry policy's backoff when nil), or moves to the dead-letter queue when its attempts
    /// are used up. Returns false when the lease was stale (the task was already redelivered
    /// or acked).
    /// - Throws: `.invalidArgument` for a delay above `nackDelayMax` or a task never
    ///   delivered; write errors.
    @discardableResult
    public func nack(_ task: QueueTask, reason: String = "nack", delay: Duration? = nil) async throws -> Bool {
        try await nack(task, reason: reason, delayMilliseconds: delay.map(Worker.milliseconds), attemptsMax: nil)
    }

    /// The nack behind the public forms; `attemptsMax` is a job's own limit (it can only lower
    /// the group's).
    @discardableResult
    func nack(_ task: QueueTask, reason: String, delayMilliseconds: Int64?, attemptsMax: Int?) async throws -> Bool {
        if let delay = delayMilliseconds, delay < 0 || delay > options.nackDelayMaxMs {
            throw SpoolError(
                .invalidArgument, "nack delay \(delay) ms is outside 0...\(options.nackDelayMaxMs)",
                path: log.directory, offset: task.offset)
        }
        let now = clock.wallMilliseconds()
        let outcome: (Bool, [RecordInput], [DeadLetter]) = try state.withLock { s in
            guard let delivery = s.leases[task.offset], delivery.lease.id == task.lease.id else {
                if s.leases[task.offset] == nil && s.retries[task.offset] == nil && !s.acked.contains(task.offset)
                    && !s.acking.contains(task.offset)
                {
                    throw SpoolError(
                        .invalidArgument, "offset \(task.offset) was never delivered to group \(name)",
                        path: log.directory, offset: task.offset)
                }
                return (false, [], [])
            }
            _ = s.endLease(task.offset)
            var records: [RecordInput] = []
            let dead = fail(
                &s, offset: task.offset, attempts: delivery.attempt, delay: delayMilliseconds, now: now,
                reason: reason, records: &records, attemptsMax: attemptsMax)
            return (true, records, dead.map { [$0] } ?? [])
        }
        if !outcome.1.isEmpty { try await log.append(batch: outcome.1) }
        try await moveToDeadLetters(outcome.2)
        if outcome.0 { metrics.nacked.increment() }
        return outcome.0
    }

    /// Fails tasks by offset, without a lease (operators and tools in another process, the
    /// `spool nack` command): each counts an attempt and comes back after `delayMilliseconds`
    /// or the backoff, or goes to the dead-letter queue when its attempts are used up. Acked
    /// offsets are skipped. Returns how many were failed.
    /// - Throws: `.invalidArgument` for an offset past the queue's end or a delay out of range.
    @discardableResult
    public func fail(offsets: [Int64], reason: String = "nack", delayMilliseconds: Int64? = nil) async throws -> Int {
        if let delay = delayMilliseconds, delay < 0 || delay > options.nackDelayMaxMs {
            throw SpoolError(
                .invalidArgument, "nack delay \(delay) ms is outside 0...\(options.nackDelayMaxMs)", path: log.directory
            )
        }
        let end = queue.committed.nextOffset
        let now = clock.wallMilliseconds()
        let (count, records, dead): (Int, [RecordInput], [DeadLetter]) = try state.withLock { s in
            var records: [RecordInput] = []
            var dead: [DeadLetter] = []
            var count = 0
            for offset in Set(offsets).sorted() {
                guard offset >= 0 && offset < end else {
                    throw SpoolError(
                        .invalidArgument, "offset \(offset) is not in queue \(queue.name) (it ends at \(end))",
                        path: queue.directory, offset: offset)
                }
                if s.acked.contains(offset) || s.acking.contains(offset) { continue }
                let attempts = s.endLease(offset)?.attempt ?? ((s.retries[offset]?.attempts ?? 0) + 1)
                if let letter = fail(
                    &s, offset: offset, attempts: attempts, delay: delayMilliseconds, now: now, reason: reason,
                    records: &records)
                {
                    dead.append(letter)
                }
                count += 1
            }
            return (count, records, dead)
        }
        if !records.isEmpty { try await log.append(batch: records) }
        try await moveToDeadLetters(dead)
        if count > 0 { metrics.nacked.increment(by: count) }
        return count
    }

    /// Gives a task back without counting an attempt, for immediate redelivery: what a worker
    /// that shuts down does with tasks it will not finish. Returns false for a stale lease.
    @discardableResult
    public func release(_ task: QueueTask) -> Bool {
        let now = clock.wallMilliseconds()
        return state.withLock { s in
            guard let delivery = s.leases[task.offset], delivery.lease.id == task.lease.id else { return false }
            _ = s.endLease(task.offset)
            s.retries[task.offset] = Retry(attempts: delivery.attempt - 1, notBefore: now)
            return true
        }
    }
}
