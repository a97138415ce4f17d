import Glibc
import Logging
import SpoolFormat
import Synchronization

/// Dead letters: tasks whose attempts are used up move to `<queue>.dlq`.
extension ConsumerGroup {
    func deadLetterRecords(_ dead: [DeadLetter]) throws -> [RecordInput] {
        var reader = queue.reader(from: 0)
        var records: [RecordInput] = []
        for letter in dead {
            reader.seek(to: letter.offset)
            guard let record = try reader.read(max: 1).first, record.offset == letter.offset else { continue }
            var headers = record.headers.filter { !TaskHeaders.deadLetterNames.contains($0.name) }
            headers.append(RecordHeader(name: TaskHeaders.deadLetterReasonName, value: Array(letter.reason.utf8)))
            headers.append(RecordHeader(name: TaskHeaders.attemptName, value: Array(String(letter.attempts).utf8)))
            headers.append(RecordHeader(name: TaskHeaders.sourceOffsetName, value: Array(String(letter.offset).utf8)))
            headers.append(RecordHeader(name: TaskHeaders.sourceGroupName, value: Array(name.utf8)))
            records.append(
                RecordInput(value: record.value, key: record.key, headers: headers, timestamp: record.timestamp))
        }
        return records
    }

    /// Moves `dead` to `<queue>.dlq`: their records there first, then the group's ack of them.
    func moveToDeadLetters(_ dead: [DeadLetter]) async throws {
        guard !dead.isEmpty else { return }
        let move = try planDeadLetterMove(dead)
        if !move.records.isEmpty { try await deadLetters().append(batch: move.records) }
        try await log.append(batch: [move.ack])
        settle(move)
    }

    /// ``moveToDeadLetters(_:)`` with blocking writes, for callers on their own threads.
    func moveToDeadLettersBlocking(_ dead: [DeadLetter]) throws {
        guard !dead.isEmpty else { return }
        let move = try planDeadLetterMove(dead)
        if !move.records.isEmpty { try deadLetters().appendBlocking(batch: move.records) }
        try log.appendBlocking(batch: [move.ack])
        settle(move)
    }

    /// A move to the DLQ worked out before its writes: the records for `<queue>.dlq` and the
    /// group-log record that acks their offsets. The one core behind both doors.
    struct DeadLetterMove {
        let dead: [DeadLetter]
        let records: [RecordInput]
        let ranges: [Range<Int64>]
        let ack: RecordInput
    }

    /// - Throws: `.corruption` or `.io` reading the tasks from the queue.
    func planDeadLetterMove(_ dead: [DeadLetter]) throws -> DeadLetterMove {
        let ranges = Self.ranges(of: dead.map(\.offset))
        return DeadLetterMove(
            dead: dead, records: try deadLetterRecords(dead), ranges: ranges,
            ack: RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds()))
    }

    /// After both writes: the offsets count as acked, and the move is counted and logged.
    func settle(_ move: DeadLetterMove) {
        finishAck(
            move.ranges,
            move.dead.map { ($0.offset, Delivery(lease: .init(id: 0, expiresAt: 0), attempt: $0.attempts)) })
        metrics.deadLettered.increment(by: move.dead.count)
        logger.notice(
            "tasks moved to the dead-letter queue", metadata: ["group": "\(name)", "count": "\(move.dead.count)"])
    }
}

extension ConsumerGroup {
    /// Moves a delivered task to `<queue>.dlq` now, whatever attempts it has left, with `reason`
    /// in its `spool.dlq-reason` header: for work that will never succeed. Returns false when
    /// the lease was stale (the task was redelivered or acked meanwhile): nothing changed.
    /// - Throws: `.invalidArgument` for a task this group never delivered; write errors (the
    ///   task is then delivered again, with the attempt counted).
    @discardableResult
    public func deadLetter(_ task: QueueTask, reason: String) async throws -> Bool {
        let letter: DeadLetter? = try state.withLock { s in
            guard let delivery = s.leases[task.offset], delivery.lease.id == task.lease.id else {
                if s.leases[task.offset] == nil && s.retries[task.offset] == nil && !s.acked.contains(task.offset)
                    && !s.acking.contains(task.offset)
                {
                    throw SpoolError(
                        .invalidArgument, "offset \(task.offset) was never delivered to group \(name)",
                        path: log.directory, offset: task.offset)
                }
                return nil
            }
            _ = s.endLease(task.offset)
            s.acking.insert(task.offset)
            return DeadLetter(offset: task.offset, attempts: delivery.attempt, reason: reason)
        }
        guard let letter else { return false }
        do {
            try await moveToDeadLetters([letter])
        } catch {
            // Not moved: the offset waits for redelivery like an expired lease.
            state.withLock { s in
                s.acking.remove(letter.offset)
                s.retries[letter.offset] = Retry(attempts: letter.attempts, notBefore: clock.wallMilliseconds())
            }
            throw error
        }
        return true
    }
}
