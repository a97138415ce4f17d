import SpoolFormat

/// In-process statistics: what an app's admin endpoint or a dashboard shows, from the group's
/// memory (plus at most one record read for the oldest pending task's age), never a disk scan.
extension ConsumerGroup {
    /// A consistent view of one group on its queue.
    public struct Stats: Sendable, Equatable {
        /// Records in the queue (from its log start to its committed end).
        public var depth: Int64
        /// Tasks in the queue not yet acknowledged by this group.
        public var lag: Int64
        /// Every offset below this is acknowledged.
        public var watermark: Int64
        /// How long the oldest unacknowledged task has waited since it was enqueued; nil when none.
        public var oldestPendingAge: Duration?
        /// Tasks leased to a consumer now.
        public var inFlight: Int
        /// Tasks that failed and wait for their next attempt.
        public var retrying: Int
        /// Delayed tasks (`notBefore`) waiting for their time.
        public var delayed: Int
        /// Tasks in flight per priority lane ("" is the default lane).
        public var inFlightByLane: [String: Int]
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
            let retrying = s.retries.values.reduce(0) { $0 + ($1.attempts > 0 ? 1 : 0) }
            return Stats(depth: Swift.max(0, end - start),
                         lag: Swift.max(0, end - s.acked.watermark - s.acked.ackedAboveWatermark),
                         watermark: s.acked.watermark, oldestPendingAge: nil, inFlight: s.leases.count,
                         retrying: retrying, delayed: s.retries.count - retrying, inFlightByLane: byLane)
        }
        if stats.lag > 0 {
            var reader = queue.reader(from: Swift.max(stats.watermark, start))
            if let record = try reader.read(max: 1).first, record.timestamp <= now {
                stats.oldestPendingAge = .milliseconds(now - record.timestamp)
            }
        }
        return stats
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
        guard (1...100_000).contains(max) else { throw SpoolError(.invalidArgument, "listDeadLetters(max:) needs max in 1...100000") }
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
