import SpoolFormat

/// The one definition of each statistic, shared by ``ConsumerGroup/stats()`` (from the group's
/// memory) and ``StatsCollector`` (`spool stats`, from the files): both call these, so the
/// figures mean the same wherever they are read.
enum StatsFigures {
    /// Records held in a queue's log, from its first offset to its committed end.
    static func tasks(firstOffset: Int64, nextOffset: Int64) -> Int64 { Swift.max(0, nextOffset - firstOffset) }

    /// Tasks below `queueEnd` a group has not acknowledged.
    static func lag(queueEnd: Int64, watermark: Int64, ackedAboveWatermark: Int64) -> Int64 {
        Swift.max(0, queueEnd - watermark - ackedAboveWatermark)
    }

    /// Retrying: tasks not acknowledged with at least one failed attempt, whether they wait
    /// for their next delivery or are being redelivered now. `attempts` gives each task's
    /// failed attempts (the group log's attempt records); acknowledged tasks are not counted.
    static func retrying(attempts: some Sequence<(offset: Int64, failed: Int)>, isAcknowledged: (Int64) -> Bool) -> Int
    {
        attempts.reduce(0) { $0 + ($1.failed > 0 && !isAcknowledged($1.offset) ? 1 : 0) }
    }

    /// How long ago `enqueuedAt` was at `now`, in ms; 0 for a timestamp in the future.
    static func age(now: Int64, enqueuedAt: Int64) -> Int64 { Swift.max(0, now - enqueuedAt) }
}

/// In-process statistics: what an app's admin endpoint or a dashboard shows, from the group's
/// memory (plus at most one record read for the oldest pending task's age), never a disk scan.
/// Each figure is computed by the same code (`StatsFigures`) as `spool stats` computes it from
/// the files, so both mean the same.
extension ConsumerGroup {
    /// A consistent view of one group on its queue.
    public struct Stats: Sendable, Equatable {
        /// Records held in the queue's log (from its first offset to its committed end): the
        /// TASKS column of `spool stats`. (The DEPTH column of `spool stats` is the largest lag
        /// among the queue's groups; for one group, ``lag``.)
        public var tasks: Int64
        /// Tasks in the queue not yet acknowledged by this group.
        public var lag: Int64
        /// Every offset below this is acknowledged.
        public var watermark: Int64
        /// How long the oldest unacknowledged task (the one at the watermark) has waited since
        /// it was enqueued; nil when none.
        public var oldestPendingAge: Duration?
        /// Tasks leased to a consumer now.
        public var inFlight: Int
        /// Tasks not acknowledged with at least one failed attempt (a thrown error, a timeout,
        /// a nack, an expired lease), whether they wait for their next delivery or are being
        /// redelivered now. The same figure as RETRYING in `spool stats`, which reads it from
        /// the group log's attempt records, and as ``Progress/waitingForRetry``.
        public var retrying: Int
        /// Tasks waiting for a time before which they must not be delivered (`notBefore`)
        /// that never failed: delayed tasks, not retries.
        public var delayed: Int
        /// Tasks in flight per priority lane ("" is the default lane).
        public var inFlightByLane: [String: Int]

        /// Records held in the queue's log; renamed ``tasks`` because `spool stats` calls the
        /// slowest group's backlog its depth.
        @available(*, deprecated, renamed: "tasks")
        public var depth: Int64 { tasks }
    }

    /// The group's statistics now. Reads at most one record (the oldest pending task's, for its
    /// age). Thread-safe.
    /// - Throws: `.corruption` or `.io` reading that record.
    public func stats() throws -> Stats {
        let end = queue.committed.nextOffset
        let start = queue.firstOffset
        let now = clock.wallMilliseconds()
        var stats = state.withLock { s in
            var byLane: [String: Int] = [:]
            for delivery in s.leases.values { byLane[delivery.lane, default: 0] += 1 }
            let delayed = s.retries.values.reduce(0) { $0 + ($1.attempts == 0 && $1.notBefore > now ? 1 : 0) }
            return Stats(
                tasks: StatsFigures.tasks(firstOffset: start, nextOffset: end),
                lag: StatsFigures.lag(
                    queueEnd: end, watermark: s.acked.watermark, ackedAboveWatermark: s.acked.ackedAboveWatermark),
                watermark: s.acked.watermark, oldestPendingAge: nil, inFlight: s.leases.count,
                retrying: Self.retrying(s), delayed: delayed, inFlightByLane: byLane)
        }
        if stats.lag > 0 {
            var reader = queue.reader(from: Swift.max(stats.watermark, start))
            if let record = try reader.read(max: 1).first {
                stats.oldestPendingAge = .milliseconds(StatsFigures.age(now: now, enqueuedAt: record.timestamp))
            }
        }
        return stats
    }

    /// ``Stats/retrying`` from the group's memory: waiting retries with a failed attempt, and
    /// tasks leased on a later attempt than their first.
    static func retrying(_ s: State) -> Int {
        let waiting = s.retries.lazy.map { (offset: $0.key, failed: $0.value.attempts) }
        let redelivered = s.leases.lazy.map { (offset: $0.key, failed: $0.value.attempt - 1) }
        let acked = s.acked
        return StatsFigures.retrying(attempts: waiting, isAcknowledged: acked.contains)
            + StatsFigures.retrying(attempts: redelivered, isAcknowledged: acked.contains)
    }

    /// A task in the dead-letter queue, as ``listDeadLetters(max:)`` lists it.
    public struct DeadLetterEntry: Sendable, Equatable {
        /// Its offset in `<queue>.dlq`.
        public var offset: Int64
        /// Its offset in the queue it came from.
        public var sourceOffset: Int64?
        /// The group that gave up on it.
        public var sourceGroup: String?
        public var reason: String
        /// Deliveries it had.
        public var attempts: Int?
        /// Its typed job's name, if it is one.
        public var job: String?
        /// When it was first enqueued, ms since the epoch.
        public var enqueuedAt: Int64
        public var key: [UInt8]?
        public var payload: [UInt8]?
    }

    /// The first `max` dead letters of this group's queue (every group's: see
    /// ``DeadLetterEntry/sourceGroup``), oldest first. Reads `<queue>.dlq` (creating it when
    /// missing), at most `max` records. Thread-safe.
    /// - Throws: `.invalidArgument` for `max` outside 1...100,000; errors opening or reading
    ///   the dead-letter queue.
    public func listDeadLetters(max: Int = 100) throws -> [DeadLetterEntry] {
        guard (1...100_000).contains(max) else {
            throw SpoolError(.invalidArgument, "listDeadLetters(max:) needs max in 1...100000")
        }
        let dlq = try deadLetters()
        var reader = dlq.reader(from: dlq.firstOffset)
        var entries: [DeadLetterEntry] = []
        // Bounded: each pass reads at least one record or ends.
        while entries.count < max {
            let records = try reader.read(max: max - entries.count)
            if records.isEmpty { break }
            entries += records.map(Self.entry)
        }
        return entries
    }

    static func entry(_ record: Record) -> DeadLetterEntry {
        func text(_ name: String) -> String? { TaskHeaders.text(name, in: record.headers, bytesMax: 4096) }
        return DeadLetterEntry(
            offset: record.offset, sourceOffset: text(TaskHeaders.sourceOffsetName).flatMap { Int64($0) },
            sourceGroup: text(TaskHeaders.sourceGroupName), reason: text(TaskHeaders.deadLetterReasonName) ?? "",
            attempts: text(TaskHeaders.attemptName).flatMap { Int($0) }, job: text(TaskHeaders.jobName),
            enqueuedAt: record.timestamp, key: record.key, payload: record.value)
    }
}
