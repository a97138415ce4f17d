import SpoolFormat

extension SpoolRoot {
    /// The consumer group, on a dead-letter queue, that remembers which letters were replayed.
    public static let replayGroupName = "spool-replay"

    /// Moves the dead letters of `queue` (those in `<queue>.dlq` not replayed before) back into
    /// `queue` as new tasks, without Spool's dead-letter headers, so they get a fresh set of
    /// attempts. Returns how many were replayed. A crash in the middle may replay a letter twice
    /// (at-least-once), never lose one.
    /// Creates nothing when `queue` has no dead letters (no `<queue>.dlq`): returns 0.
    /// - Throws: `.invalidArgument` for a bad queue name; `.notFound` when `queue` does not
    ///   exist; read and write errors.
    @discardableResult
    public func replayDeadLetters(of queue: String, max: Int = 1_000_000) async throws -> Int {
        try requireQueue(queue)
        let deadLetterQueue = QueueName.deadLetters(of: queue)
        guard queueExists(deadLetterQueue) else { return 0 }
        let source = try self.queue(queue)
        let replay = try group(Self.replayGroupName, on: deadLetterQueue)
        var replayed = 0
        // Bounded by `max` and by the letters present.
        while replayed < max {
            let batch = try await replay.claim(max: Swift.min(1000, max - replayed))
            if batch.isEmpty { break }
            let records = batch.tasks.map { task in
                RecordInput(
                    value: task.payload, key: task.key,
                    headers: task.headers.filter { !TaskHeaders.deadLetterNames.contains($0.name) },
                    timestamp: options.clock.wallMilliseconds())
            }
            try await source.append(batch: records)
            try await replay.ack(batch)
            replayed += batch.count
        }
        return replayed
    }
}
