import Glibc
import Logging
import SpoolFormat
import Synchronization

/// Claiming: expired leases back to retries, due retries first, then new tasks (FIFO or by lane).
extension ConsumerGroup {
    /// Claims up to `max` tasks: first those due for redelivery, then new ones in offset order.
    /// Returns an empty batch when nothing is ready. Expired leases are taken back first.
    /// - Throws: `.corruption` or `.io` from reading the queue; errors persisting attempts.
    public func claim(max: Int) async throws -> TaskBatch {
        let (batch, records, dead) = try prepareClaim(max: max)
        if !records.isEmpty { try await log.append(batch: records) }
        try await moveToDeadLetters(dead)
        recordClaim(batch)
        return batch
    }

    /// ``claim(max:)`` for callers on their own threads (see ``QueueLog/appendBlocking(batch:)``).
    public func claimBlocking(max: Int) throws -> TaskBatch {
        let (batch, records, dead) = try prepareClaim(max: max)
        if !records.isEmpty { try log.appendBlocking(batch: records) }
        try moveToDeadLettersBlocking(dead)
        recordClaim(batch)
        return batch
    }

    func recordClaim(_ batch: TaskBatch) {
        let again = batch.tasks.reduce(0) { $0 + ($1.attempt > 1 ? 1 : 0) }
        if again > 0 { metrics.redelivered.increment(by: again) }
        recordLag()
    }

    /// Sets the `spool_group_lag` gauge to the lag now: on every claim and ack, and on the
    /// worker's metrics timer (so a stalled consumer's gauge still shows its backlog). Skipped
    /// when no metrics factory was given (it takes the group's lock). Thread-safe.
    func recordLag() {
        guard metrics.isEnabled else { return }
        metrics.lag.record(Double(progress.lag))
    }

    /// A task whose attempts are used up, with why.
    struct DeadLetter: Sendable {
        var offset: Int64
        var attempts: Int
        var reason: String
    }

    func prepareClaim(max: Int) throws -> (TaskBatch, [RecordInput], [DeadLetter]) {
        guard max > 0 else { throw SpoolError(.invalidArgument, "claim needs max > 0") }
        let now = clock.wallMilliseconds()
        return try state.withLock { s in
            var records: [RecordInput] = []
            let dead = expireLeases(&s, now: now, records: &records)
            let room = Swift.min(max, options.inFlightMax - s.leases.count)
            var tasks: [QueueTask] = []
            if room > 0 {
                try claimRetries(&s, now: now, room: room, into: &tasks)
                try claimNew(&s, now: now, room: room - tasks.count, into: &tasks)
            }
            tasks.sort { $0.offset < $1.offset }
            return (TaskBatch(tasks: tasks), records, dead)
        }
    }

    /// Moves expired leases to retries (or to the dead letters when attempts are used up).
    func expireLeases(_ s: inout State, now: Int64, records: inout [RecordInput]) -> [DeadLetter] {
        var dead: [DeadLetter] = []
        for (offset, delivery) in s.leases where delivery.lease.expiresAt <= now {
            _ = s.endLease(offset)
            if let letter = fail(
                &s, offset: offset, attempts: delivery.attempt, delay: nil, now: now,
                reason: "lease expired after attempt \(delivery.attempt)", records: &records)
            {
                dead.append(letter)
            }
        }
        return dead
    }

    /// Records a failed delivery: a retry after backoff, or a dead letter.
    /// `attemptsMax` (a job's own limit) can only lower the group's.
    func fail(
        _ s: inout State, offset: Int64, attempts: Int, delay: Int64?, now: Int64, reason: String,
        records: inout [RecordInput], attemptsMax: Int? = nil
    ) -> DeadLetter? {
        if attempts >= Swift.min(options.retry.maxAttempts, attemptsMax ?? .max) {
            s.acking.insert(offset)
            return DeadLetter(offset: offset, attempts: attempts, reason: reason)
        }
        let wait = delay ?? options.retry.delay(afterAttempts: attempts, unit: s.random.nextUnit())
        let retry = Retry(attempts: attempts, notBefore: now + wait)
        s.retries[offset] = retry
        records.append(
            RecordInput(
                value: GroupRecord.attempt(offset: offset, attempts: attempts, notBefore: retry.notBefore).encoded(),
                timestamp: now))
        return nil
    }

    func claimRetries(_ s: inout State, now: Int64, room: Int, into tasks: inout [QueueTask]) throws {
        guard room > 0, !s.retries.isEmpty else { return }
        let due = s.retries.filter { $0.value.notBefore <= now }.keys.sorted().prefix(room)
        var reader = queue.reader(from: 0)
        for offset in due {
            reader.seek(to: offset)
            let found: Record?
            do {
                found = try reader.read(max: 1).first
            } catch let error as SpoolError where error.code == .offsetOutOfRange {
                found = nil
            }
            guard let record = found, record.offset == offset else {
                // Gone from the log (retention): nothing left to deliver.
                s.retries[offset] = nil
                continue
            }
            let lane = LaneScheduler.lane(of: record.headers)
            guard s.lanes.hasRoom(lane) else { continue }
            let attempts = s.retries.removeValue(forKey: offset)!.attempts
            s.lanes.started(lane)
            tasks.append(lease(&s, record, attempt: attempts + 1, now: now, lane: lane))
        }
    }

    func claimNew(_ s: inout State, now: Int64, room: Int, into tasks: inout [QueueTask]) throws {
        guard room > 0 else { return }
        if options.lanes.isEmpty {
            // Plain FIFO: read just what this claim delivers.
            var left = room
            while left > 0 && s.retries.count < options.inFlightMax,
                let record = try nextClaimable(&s, now: now, max: left)
            {
                tasks.append(lease(&s, record, attempt: 1, now: now, lane: ""))
                left -= 1
            }
            return
        }
        // Lanes: read ahead up to lookaheadMax so a claim can look past a flooded lane, then
        // hand out by weight within each lane's concurrency limit.
        while s.lanes.buffered < options.lookaheadMax && s.retries.count < options.inFlightMax,
            let record = try nextClaimable(&s, now: now, max: options.lookaheadMax - s.lanes.buffered)
        {
            s.lanes.add(record)
        }
        let acked = s.acked
        let acking = s.acking
        let retries = s.retries
        let leases = s.leases
        let picked = s.lanes.pick(room: room) { record in
            acked.contains(record.offset) || acking.contains(record.offset) || retries[record.offset] != nil
                || leases[record.offset] != nil
        }
        for (record, lane) in picked {
            tasks.append(lease(&s, record, attempt: 1, now: now, lane: lane))
        }
    }

    /// The next record past the cursor that may be delivered now: not acked, leased or waiting
    /// for a retry; a delayed one goes to the retries instead. Reads up to `max` records at a
    /// time into `pending`. Nil at the committed end.
    func nextClaimable(_ s: inout State, now: Int64, max: Int) throws -> Record? {
        // Bounded: each pass consumes a pending record or reads more (nil at the end).
        while true {
            if s.pendingHead == s.pending.count {
                skipToLogStart(&s)
                // Seeking drops what the reader kept of its last batch: only when it is elsewhere.
                if s.reader.nextOffset != s.cursor { s.reader.seek(to: s.cursor) }
                do {
                    s.pending = try s.reader.read(max: Swift.max(max, 1))
                } catch let error as SpoolError where error.code == .offsetOutOfRange {
                    // Retention deleted segments between the check and the read: once more.
                    skipToLogStart(&s)
                    s.reader.seek(to: s.cursor)
                    s.pending = try s.reader.read(max: Swift.max(max, 1))
                }
                s.absorbPassedOver()
                if s.pending.isEmpty { s.cursor = Swift.max(s.cursor, s.reader.nextOffset) }
                s.pendingHead = 0
                if s.pending.isEmpty { return nil }
            }
            let record = s.pending[s.pendingHead]
            s.pendingHead += 1
            s.cursor = record.offset + 1
            if s.acked.contains(record.offset) || s.leases[record.offset] != nil || s.retries[record.offset] != nil
                || s.acking.contains(record.offset)
            {
                continue
            }
            if let notBefore = TaskHeaders.notBefore(in: record.headers), notBefore > now {
                // A delayed task waits with the retries until its time comes.
                s.retries[record.offset] = Retry(attempts: 0, notBefore: notBefore)
                continue
            }
            return record
        }
    }

    /// When retention or the compactor deleted segments this group had not finished, the
    /// tasks in them are gone (FORMAT.md, "Log start"): the group moves on to the log start, and
    /// counts what is below it as done (in memory; the next open starts there anyway).
    func skipToLogStart(_ s: inout State) {
        let start = queue.firstOffset
        guard s.cursor < start else { return }
        logger.warning(
            "tasks below the log start were deleted by retention before this group acked them; skipping them",
            metadata: ["queue": "\(queue.name)", "group": "\(name)", "from": "\(s.cursor)", "to": "\(start)"])
        s.cursor = start
        s.acked.insert(0..<start)
        s.retries = s.retries.filter { $0.key >= start }
    }

    /// Leases `record` (its lane's slot is already taken by the caller).
    func lease(_ s: inout State, _ record: Record, attempt: Int, now: Int64, lane: String) -> QueueTask {
        let lease = QueueTask.Lease(id: s.nextLeaseID, expiresAt: now + leaseMs)
        s.nextLeaseID &+= 1
        s.leases[record.offset] = Delivery(lease: lease, attempt: attempt, lane: lane)
        return QueueTask(
            offset: record.offset, key: record.key, headers: record.headers, payload: record.value,
            attempt: attempt, enqueuedAt: record.timestamp, lease: lease)
    }
}
