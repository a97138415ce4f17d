import Glibc
import Logging
import SpoolFormat
import Synchronization

/// Acknowledging: with the lease a claim gave, or by offset for other processes.
extension ConsumerGroup {
    /// Acknowledges tasks; returns once the acks are durable (per the root's durability).
    /// Tasks whose lease expired and went to another delivery are `stale` and ignored; tasks
    /// acked before count as `alreadyAcked`.
    /// - Throws: `.invalidArgument` for an offset this group never delivered; write errors (the
    ///   leases are then given back, so the tasks can be acked again).
    @discardableResult
    public func ack(_ tasks: [QueueTask]) async throws -> AckResult {
        let plan = try planAck(tasks)
        guard let record = plan.record else { return plan.result }
        do { try await log.append(batch: [record]) } catch {
            giveBack(plan.taken)
            throw error
        }
        return settle(plan)
    }

    /// ``ack(_:)-([QueueTask])`` for callers on their own threads: the same plan and settling,
    /// with a blocking write in between.
    @discardableResult
    public func ackBlocking(_ tasks: [QueueTask]) throws -> AckResult {
        let plan = try planAck(tasks)
        guard let record = plan.record else { return plan.result }
        do { try log.appendBlocking(batch: [record]) } catch {
            giveBack(plan.taken)
            throw error
        }
        return settle(plan)
    }

    /// An ack worked out under the lock, before its write: what it answers, and the group-log
    /// record to write (nil when there is nothing new to ack). The one core behind both doors.
    struct AckPlan {
        let tasks: [QueueTask]
        let result: AckResult
        let ranges: [Range<Int64>]
        let taken: [(Int64, Delivery)]
        let record: RecordInput?
    }

    /// - Throws: as ``ack(_:)-([QueueTask])`` before any write.
    func planAck(_ tasks: [QueueTask]) throws -> AckPlan {
        let (result, ranges, taken) = try prepareAck(tasks)
        let record =
            ranges.isEmpty
            ? nil : RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds())
        return AckPlan(tasks: tasks, result: result, ranges: ranges, taken: taken, record: record)
    }

    /// After the plan's record was written: the acks take effect in memory and are counted.
    func settle(_ plan: AckPlan) -> AckResult {
        finishAck(plan.ranges, plan.taken)
        recordAcks(plan.tasks, plan.result)
        return plan.result
    }

    @discardableResult
    public func ack(_ batch: TaskBatch) async throws -> AckResult { try await ack(batch.tasks) }

    func prepareAck(_ tasks: [QueueTask]) throws -> (AckResult, [Range<Int64>], [(Int64, Delivery)]) {
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
                    for (o, d) in taken {
                        s.restoreLease(o, d)
                        s.acking.remove(o)
                    }
                    throw SpoolError(
                        .invalidArgument, "offset \(offset) was never delivered to group \(name)",
                        path: log.directory, offset: offset, hint: "ack only tasks this group's claim returned")
                }
            }
            var ranges = Self.ranges(of: offsets)
            if !ranges.isEmpty && !s.passedOverUnwritten.isEmpty {
                // Offsets that hold no task are written with the first ack after them.
                ranges = Self.merged(ranges + s.passedOverUnwritten)
                s.passedOverUnwritten.removeAll()
            }
            return (result, ranges, taken)
        }
    }

    /// `ranges` sorted, with overlapping and touching ones joined.
    static func merged(_ ranges: [Range<Int64>]) -> [Range<Int64>] {
        var out: [Range<Int64>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !range.isEmpty {
            if let last = out.last, range.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<Swift.max(last.upperBound, range.upperBound)
            } else {
                out.append(range)
            }
        }
        return out
    }

    func giveBack(_ taken: [(Int64, Delivery)]) {
        state.withLock { s in
            for (offset, delivery) in taken {
                s.acking.remove(offset)
                s.restoreLease(offset, delivery)
            }
        }
    }

    func finishAck(_ ranges: [Range<Int64>], _ taken: [(Int64, Delivery)]) {
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
            // Sorted, so that the acks on their way to disk are appended in order (``OffsetSet``).
            for offset in Set(offsets).sorted() {
                guard offset >= 0 && offset < end else {
                    throw SpoolError(
                        .invalidArgument, "offset \(offset) is not in queue \(queue.name) (it ends at \(end))",
                        path: queue.directory, offset: offset)
                }
                if s.acked.contains(offset) || s.acking.contains(offset) {
                    result.alreadyAcked += 1
                    continue
                }
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
            try await log.append(batch: [
                RecordInput(value: GroupRecord.ack(ranges).encoded(), timestamp: clock.wallMilliseconds())
            ])
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

    /// Acked-task metrics: the count, each task's end-to-end time, and the group's lag. The
    /// per-task times and the lag (which takes the group's lock) are skipped when no metrics
    /// factory was given: this runs on every ack.
    func recordAcks(_ tasks: [QueueTask], _ result: AckResult) {
        guard result.acked > 0, metrics.isEnabled else { return }
        metrics.acked.increment(by: result.acked)
        let now = clock.wallMilliseconds()
        for task in tasks where task.enqueuedAt <= now {
            metrics.endToEnd.recordMilliseconds(now - task.enqueuedAt)
        }
        recordLag()
    }
}
