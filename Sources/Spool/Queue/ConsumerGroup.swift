import Glibc
import Logging
import SpoolFormat
import Synchronization

/// A consumer group on a queue: consumers claim tasks under a lease, then ack or nack them.
/// Each group keeps its own progress, so several groups read the same queue independently.
///
/// Progress is a low watermark plus ranges of acked offsets above it (acks may come in any
/// order), persisted in the group's own log (`<queue>/groups/<group>/`, FORMAT.md "Group log")
/// under the root's durability policy: under `.always` an ack returns only once it is synced,
/// and an acked task is never delivered again, even after SIGKILL or a power cut. A task
/// claimed but not acked before a crash is delivered again: delivery is at-least-once.
///
/// A nack or an expired lease counts an attempt; the task comes back after the retry policy's
/// backoff, and after the last attempt it moves to the dead-letter queue `<queue>.dlq` with the
/// reason and attempt count in `spool.*` headers.
///
/// Thread-safety: `Sendable`. Any number of consumers may claim, ack and nack concurrently;
/// leases keep them from getting the same task.
public final class ConsumerGroup: Sendable {
    public let name: String
    /// The queue the group consumes.
    public let queue: QueueLog
    /// The group's own log of acks and attempts.
    let log: QueueLog
    let options: GroupOptions
    private let clock: any SpoolClock
    private let logger: Logger
    private let deadLetters: @Sendable () throws -> QueueLog
    private let state: Mutex<State>
    private let metrics: GroupMetrics

    /// One delivery in flight.
    struct Delivery: Sendable {
        var lease: QueueTask.Lease
        var attempt: Int
        var lane: String = ""
    }

    /// A task waiting to be delivered again.
    struct Retry: Sendable {
        var attempts: Int
        var notBefore: Int64
    }

    struct State: Sendable {
        var acked: OffsetRanges
        /// The next offset not yet read (into the lane buffers) since the group was opened.
        var cursor: Int64
        var leases: [Int64: Delivery] = [:]
        var retries: [Int64: Retry] = [:]
        var nextLeaseID: UInt64
        var random: SplitMix64
        var reader: LogReader
        /// Offsets acked but not yet durable: neither claimable nor ackable again meanwhile.
        var acking: Set<Int64> = []
        /// Read-ahead buffers and in-flight counts per priority lane.
        var lanes: LaneScheduler
        /// Records read but not yet looked at (the rest of the last read), from `pendingHead`.
        var pending: [Record] = []
        var pendingHead = 0

        /// Ends the lease on `offset` (ack, nack, expiry, release) and frees its lane's slot.
        mutating func endLease(_ offset: Int64) -> Delivery? {
            guard let delivery = leases.removeValue(forKey: offset) else { return nil }
            lanes.finished(delivery.lane)
            return delivery
        }

        /// Puts back a lease that `endLease` ended (an ack whose write failed).
        mutating func restoreLease(_ offset: Int64, _ delivery: Delivery) {
            leases[offset] = delivery
            lanes.started(delivery.lane)
        }
    }

    init(name: String, queue: QueueLog, log: QueueLog, options: GroupOptions, rootOptions: SpoolOptions,
         deadLetters: @escaping @Sendable () throws -> QueueLog) throws {
        try options.validate()
        self.name = name
        self.queue = queue
        self.log = log
        self.options = options
        self.clock = rootOptions.clock
        self.logger = rootOptions.logger
        self.deadLetters = deadLetters
        self.metrics = GroupMetrics(queue: queue.name, group: name, factory: rootOptions.metricsFactory)
        let seed = UInt64(bitPattern: rootOptions.clock.wallMilliseconds()) ^ UInt64(rootOptions.clock.monotonicNanoseconds()) ^ UInt64(getpid())
        var random = SplitMix64(seed: seed)
        let replayed = try Self.replay(log, queueStart: queue.firstOffset)
        let cursor = replayed.acked.watermark
        state = Mutex(State(
            acked: replayed.acked, cursor: cursor, retries: replayed.retries, nextLeaseID: random.next() | 1,
            random: random, reader: queue.reader(from: cursor), lanes: LaneScheduler(lanes: options.lanes)))
    }

    /// Rebuilds acks and pending retries from the group's log.
    private static func replay(_ log: QueueLog, queueStart: Int64) throws -> (acked: OffsetRanges, retries: [Int64: Retry]) {
        var acked = OffsetRanges(watermark: queueStart)
        var retries: [Int64: Retry] = [:]
        var reader = log.reader(from: log.firstOffset)
        while let batch = try reader.nextBatch() {
            for record in batch.records {
                guard let value = record.value, let decoded = GroupRecord(decoding: value) else {
                    throw SpoolError(.corruption, "a record of the group log is not a group record", path: log.directory,
                                     offset: record.offset, hint: "the group log was written by something else; move it away to reset the group")
                }
                switch decoded {
                case .ack(let ranges):
                    for range in ranges { acked.insert(range) }
                case .attempt(let offset, let attempts, let notBefore):
                    retries[offset] = Retry(attempts: attempts, notBefore: notBefore)
                }
            }
        }
        retries = retries.filter { !acked.contains($0.key) }
        return (acked, retries)
    }

    // MARK: Claim

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

    private func recordClaim(_ batch: TaskBatch) {
        let again = batch.tasks.reduce(0) { $0 + ($1.attempt > 1 ? 1 : 0) }
        if again > 0 { metrics.redelivered.increment(by: again) }
    }

    /// Acked-task metrics: the count, each task's end-to-end time, and the group's lag.
    private func recordAcks(_ tasks: [QueueTask], _ result: AckResult) {
        guard result.acked > 0 else { return }
        metrics.acked.increment(by: result.acked)
        let now = clock.wallMilliseconds()
        for task in tasks where task.enqueuedAt <= now {
            metrics.endToEnd.recordMilliseconds(now - task.enqueuedAt)
        }
        metrics.lag.record(Double(progress.lag))
    }

    /// A task whose attempts are used up, with why.
    struct DeadLetter: Sendable {
        var offset: Int64
        var attempts: Int
        var reason: String
    }

    private func prepareClaim(max: Int) throws -> (TaskBatch, [RecordInput], [DeadLetter]) {
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
    private func expireLeases(_ s: inout State, now: Int64, records: inout [RecordInput]) -> [DeadLetter] {
        var dead: [DeadLetter] = []
        for (offset, delivery) in s.leases where delivery.lease.expiresAt <= now {
            _ = s.endLease(offset)
            if let letter = fail(&s, offset: offset, attempts: delivery.attempt, delay: nil, now: now,
                                 reason: "lease expired after attempt \(delivery.attempt)", records: &records) {
                dead.append(letter)
            }
        }
        return dead
    }

    /// Records a failed delivery: a retry after backoff, or a dead letter.
    private func fail(_ s: inout State, offset: Int64, attempts: Int, delay: Int64?, now: Int64, reason: String,
                      records: inout [RecordInput]) -> DeadLetter? {
        if attempts >= options.retry.maxAttempts {
            s.acking.insert(offset)
            return DeadLetter(offset: offset, attempts: attempts, reason: reason)
        }
        let wait = delay ?? options.retry.delay(afterAttempts: attempts, unit: s.random.nextUnit())
        let retry = Retry(attempts: attempts, notBefore: now + wait)
        s.retries[offset] = retry
        records.append(RecordInput(value: GroupRecord.attempt(offset: offset, attempts: attempts, notBefore: retry.notBefore).encoded(), timestamp: now))
        return nil
    }

    private func claimRetries(_ s: inout State, now: Int64, room: Int, into tasks: inout [QueueTask]) throws {
        guard room > 0, !s.retries.isEmpty else { return }
        let due = s.retries.filter { $0.value.notBefore <= now }.keys.sorted().prefix(room)
        var reader = queue.reader(from: 0)
        for offset in due {
            reader.seek(to: offset)
            guard let record = try reader.read(max: 1).first, record.offset == offset else {
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

    private func claimNew(_ s: inout State, now: Int64, room: Int, into tasks: inout [QueueTask]) throws {
        guard room > 0 else { return }
        if options.lanes.isEmpty {
            // Plain FIFO: read just what this claim delivers.
            var left = room
            while left > 0 && s.retries.count < options.inFlightMax, let record = try nextClaimable(&s, now: now, max: left) {
                tasks.append(lease(&s, record, attempt: 1, now: now, lane: ""))
                left -= 1
            }
            return
        }
        // Lanes: read ahead up to lookaheadMax so a claim can look past a flooded lane, then
        // hand out by weight within each lane's concurrency limit.
        while s.lanes.buffered < options.lookaheadMax && s.retries.count < options.inFlightMax,
              let record = try nextClaimable(&s, now: now, max: options.lookaheadMax - s.lanes.buffered) {
            s.lanes.add(record)
        }
        let acked = s.acked, acking = s.acking, retries = s.retries, leases = s.leases
        let picked = s.lanes.pick(room: room) { record in
            acked.contains(record.offset) || acking.contains(record.offset) || retries[record.offset] != nil || leases[record.offset] != nil
        }
        for (record, lane) in picked {
            tasks.append(lease(&s, record, attempt: 1, now: now, lane: lane))
        }
    }

    /// The next record past the cursor that may be delivered now: not acked, leased or waiting
    /// for a retry; a delayed one goes to the retries instead. Reads up to `max` records at a
    /// time into `pending`. Nil at the committed end.
    private func nextClaimable(_ s: inout State, now: Int64, max: Int) throws -> Record? {
        // Bounded: each pass consumes a pending record or reads more (nil at the end).
        while true {
            if s.pendingHead == s.pending.count {
                s.reader.seek(to: s.cursor)
                s.pending = try s.reader.read(max: Swift.max(max, 1))
                s.pendingHead = 0
                if s.pending.isEmpty { return nil }
            }
            let record = s.pending[s.pendingHead]
            s.pendingHead += 1
            s.cursor = record.offset + 1
            if s.acked.contains(record.offset) || s.leases[record.offset] != nil || s.retries[record.offset] != nil
                || s.acking.contains(record.offset) { continue }
            if let notBefore = TaskHeaders.notBefore(in: record.headers), notBefore > now {
                // A delayed task waits with the retries until its time comes.
                s.retries[record.offset] = Retry(attempts: 0, notBefore: notBefore)
                continue
            }
            return record
        }
    }

    /// Leases `record` (its lane's slot is already taken by the caller).
    private func lease(_ s: inout State, _ record: Record, attempt: Int, now: Int64, lane: String) -> QueueTask {
        let lease = QueueTask.Lease(id: s.nextLeaseID, expiresAt: now + options.leaseMilliseconds)
        s.nextLeaseID &+= 1
        s.leases[record.offset] = Delivery(lease: lease, attempt: attempt, lane: lane)
        return QueueTask(offset: record.offset, key: record.key, headers: record.headers, payload: record.value,
                         attempt: attempt, enqueuedAt: record.timestamp, lease: lease)
    }

    // MARK: Ack

    /// Acknowledges tasks; returns once the acks are durable (per the root's durability).
    /// Tasks whose lease expired and went to another delivery are `stale` and ignored; tasks
    /// acked before count as `alreadyAcked`.
    /// - Throws: `.invalidArgument` for an offset this group never delivered; write errors (the
    ///   leases are then given back, so the tasks can be acked again).
    @discardableResult
    public func ack(_ tasks: [QueueTask]) async throws -> AckResult {
        let (result, ranges, taken) = try prepareAck(tasks)
        guard !ranges.isEmpty else { return result }
        do {
            try await log.append(batch: [RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds())])
        } catch {
            giveBack(taken)
            throw error
        }
        finishAck(ranges, taken)
        recordAcks(tasks, result)
        return result
    }

    /// ``ack(_:)`` for callers on their own threads.
    @discardableResult
    public func ackBlocking(_ tasks: [QueueTask]) throws -> AckResult {
        let (result, ranges, taken) = try prepareAck(tasks)
        guard !ranges.isEmpty else { return result }
        do {
            try log.appendBlocking(batch: [RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds())])
        } catch {
            giveBack(taken)
            throw error
        }
        finishAck(ranges, taken)
        recordAcks(tasks, result)
        return result
    }

    @discardableResult
    public func ack(_ batch: TaskBatch) async throws -> AckResult { try await ack(batch.tasks) }

    private func prepareAck(_ tasks: [QueueTask]) throws -> (AckResult, [Range<Int64>], [(Int64, Delivery)]) {
        try state.withLock { s in
            var result = AckResult()
            var offsets: [Int64] = []
            var taken: [(Int64, Delivery)] = []
            for task in tasks {
                let offset = task.offset
                if s.acked.contains(offset) || s.acking.contains(offset) {
                    result.alreadyAcked += 1
                } else if let delivery = s.leases[offset], delivery.lease.id == task.lease.id {
                    _ = s.endLease(offset)
                    s.acking.insert(offset)
                    taken.append((offset, delivery))
                    offsets.append(offset)
                    result.acked += 1
                } else if s.leases[offset] != nil || s.retries[offset] != nil {
                    // Its lease expired (it waits for redelivery) or went to another delivery.
                    result.stale += 1
                } else {
                    // Give back what this call took before refusing it whole.
                    for (o, d) in taken { s.restoreLease(o, d); s.acking.remove(o) }
                    throw SpoolError(.invalidArgument, "offset \(offset) was never delivered to group \(name)",
                                     path: log.directory, offset: offset, hint: "ack only tasks this group's claim returned")
                }
            }
            return (result, Self.ranges(of: offsets), taken)
        }
    }

    private func giveBack(_ taken: [(Int64, Delivery)]) {
        state.withLock { s in
            for (offset, delivery) in taken {
                s.acking.remove(offset)
                s.restoreLease(offset, delivery)
            }
        }
    }

    private func finishAck(_ ranges: [Range<Int64>], _ taken: [(Int64, Delivery)]) {
        state.withLock { s in
            for range in ranges { s.acked.insert(range) }
            for (offset, _) in taken { s.acking.remove(offset) }
        }
    }

    /// Sorted, merged ranges of `offsets`.
    public static func ranges(of offsets: [Int64]) -> [Range<Int64>] {
        var ranges: [Range<Int64>] = []
        for offset in offsets.sorted() {
            if let last = ranges.last, last.upperBound == offset {
                ranges[ranges.count - 1] = last.lowerBound..<(offset + 1)
            } else if ranges.last?.contains(offset) != true {
                ranges.append(offset..<(offset + 1))
            }
        }
        return ranges
    }

    /// Acknowledges offsets without a lease: for operators and tools in another process (the
    /// `spool ack` command), where the claim's lease is not known. Offsets already acked count
    /// as `alreadyAcked`; a current lease on one is dropped.
    /// - Throws: `.invalidArgument` for an offset past the queue's end; write errors.
    @discardableResult
    public func acknowledge(offsets: [Int64]) async throws -> AckResult {
        let end = queue.committed.nextOffset
        let (result, ranges, taken): (AckResult, [Range<Int64>], [(Int64, Delivery)]) = try state.withLock { s in
            var result = AckResult()
            var fresh: [Int64] = []
            var taken: [(Int64, Delivery)] = []
            for offset in Set(offsets) {
                guard offset >= 0 && offset < end else {
                    throw SpoolError(.invalidArgument, "offset \(offset) is not in queue \(queue.name) (it ends at \(end))",
                                     path: queue.directory, offset: offset)
                }
                if s.acked.contains(offset) || s.acking.contains(offset) { result.alreadyAcked += 1; continue }
                if let delivery = s.endLease(offset) { taken.append((offset, delivery)) }
                s.retries[offset] = nil
                s.acking.insert(offset)
                fresh.append(offset)
                result.acked += 1
            }
            return (result, Self.ranges(of: fresh), taken)
        }
        guard !ranges.isEmpty else { return result }
        do {
            try await log.append(batch: [RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds())])
        } catch {
            state.withLock { s in for range in ranges { for o in range { s.acking.remove(o) } } }
            giveBack(taken)
            throw error
        }
        state.withLock { s in
            for range in ranges {
                s.acked.insert(range)
                for o in range { s.acking.remove(o) }
            }
        }
        return result
    }

    // MARK: Nack

    /// Gives a task back: it counts an attempt and is delivered again after `delay` (or the
    /// retry policy's backoff), or moves to the dead-letter queue when its attempts are used up.
    /// Returns false when the lease was stale (the task was already redelivered or acked).
    /// - Throws: `.invalidArgument` for a delay above `nackDelayMaxMilliseconds` or a task never
    ///   delivered; write errors.
    @discardableResult
    public func nack(_ task: QueueTask, reason: String = "nack", delayMilliseconds: Int64? = nil) async throws -> Bool {
        if let delay = delayMilliseconds, delay < 0 || delay > options.nackDelayMaxMilliseconds {
            throw SpoolError(.invalidArgument, "nack delay \(delay) ms is outside 0...\(options.nackDelayMaxMilliseconds)",
                             path: log.directory, offset: task.offset)
        }
        let now = clock.wallMilliseconds()
        let outcome: (Bool, [RecordInput], [DeadLetter]) = try state.withLock { s in
            guard let delivery = s.leases[task.offset], delivery.lease.id == task.lease.id else {
                if s.leases[task.offset] == nil && s.retries[task.offset] == nil && !s.acked.contains(task.offset)
                    && !s.acking.contains(task.offset) {
                    throw SpoolError(.invalidArgument, "offset \(task.offset) was never delivered to group \(name)",
                                     path: log.directory, offset: task.offset)
                }
                return (false, [], [])
            }
            _ = s.endLease(task.offset)
            var records: [RecordInput] = []
            let dead = fail(&s, offset: task.offset, attempts: delivery.attempt, delay: delayMilliseconds, now: now,
                            reason: reason, records: &records)
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
        if let delay = delayMilliseconds, delay < 0 || delay > options.nackDelayMaxMilliseconds {
            throw SpoolError(.invalidArgument, "nack delay \(delay) ms is outside 0...\(options.nackDelayMaxMilliseconds)", path: log.directory)
        }
        let end = queue.committed.nextOffset
        let now = clock.wallMilliseconds()
        let (count, records, dead): (Int, [RecordInput], [DeadLetter]) = try state.withLock { s in
            var records: [RecordInput] = []
            var dead: [DeadLetter] = []
            var count = 0
            for offset in Set(offsets).sorted() {
                guard offset >= 0 && offset < end else {
                    throw SpoolError(.invalidArgument, "offset \(offset) is not in queue \(queue.name) (it ends at \(end))",
                                     path: queue.directory, offset: offset)
                }
                if s.acked.contains(offset) || s.acking.contains(offset) { continue }
                let attempts = s.endLease(offset)?.attempt ?? ((s.retries[offset]?.attempts ?? 0) + 1)
                if let letter = fail(&s, offset: offset, attempts: attempts, delay: delayMilliseconds, now: now, reason: reason, records: &records) {
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

    // MARK: Dead letters

    private func deadLetterRecords(_ dead: [DeadLetter]) throws -> [RecordInput] {
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
            records.append(RecordInput(value: record.value, key: record.key, headers: headers, timestamp: record.timestamp))
        }
        return records
    }

    private func moveToDeadLetters(_ dead: [DeadLetter]) async throws {
        guard !dead.isEmpty else { return }
        let records = try deadLetterRecords(dead)
        if !records.isEmpty { try await deadLetters().append(batch: records) }
        let ranges = Self.ranges(of: dead.map(\.offset))
        try await log.append(batch: [RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds())])
        finishAck(ranges, dead.map { ($0.offset, Delivery(lease: .init(id: 0, expiresAt: 0), attempt: $0.attempts)) })
        metrics.deadLettered.increment(by: dead.count)
        logger.notice("tasks moved to the dead-letter queue", metadata: ["group": "\(name)", "count": "\(dead.count)"])
    }

    private func moveToDeadLettersBlocking(_ dead: [DeadLetter]) throws {
        guard !dead.isEmpty else { return }
        let records = try deadLetterRecords(dead)
        if !records.isEmpty { try deadLetters().appendBlocking(batch: records) }
        let ranges = Self.ranges(of: dead.map(\.offset))
        try log.appendBlocking(batch: [RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds())])
        finishAck(ranges, dead.map { ($0.offset, Delivery(lease: .init(id: 0, expiresAt: 0), attempt: $0.attempts)) })
        metrics.deadLettered.increment(by: dead.count)
    }

    // MARK: Inspection

    /// A consistent view of the group's progress.
    public struct Progress: Sendable, Equatable {
        /// Every offset below this is acknowledged.
        public var watermark: Int64
        /// Acked offsets above the watermark (out-of-order acks).
        public var ackedAboveWatermark: Int64
        public var inFlight: Int
        public var waitingForRetry: Int
        /// Tasks in the queue not yet acknowledged by this group.
        public var lag: Int64
    }

    public var progress: Progress {
        let end = queue.committed.nextOffset
        return state.withLock { s in
            Progress(watermark: s.acked.watermark, ackedAboveWatermark: s.acked.ackedAboveWatermark, inFlight: s.leases.count,
                     waitingForRetry: s.retries.count, lag: Swift.max(0, end - s.acked.watermark - s.acked.ackedAboveWatermark))
        }
    }
}

/// A small, fast, seedable generator for jitter (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
