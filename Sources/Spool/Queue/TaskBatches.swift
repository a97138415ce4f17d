/// A consumer group's claims as an `AsyncSequence` of ``TaskBatch``es: each iteration claims up
/// to `max` tasks, waiting `idleMilliseconds` between empty claims. It never ends by itself;
/// it ends when the iterating task is cancelled (then `next()` returns nil).
public struct TaskBatches: AsyncSequence, Sendable {
    public typealias Element = TaskBatch

    let group: ConsumerGroup
    let max: Int
    let idleMilliseconds: Int64

    public struct AsyncIterator: AsyncIteratorProtocol {
        let group: ConsumerGroup
        let max: Int
        let idleMilliseconds: Int64

        /// - Throws: the claim's errors.
        public mutating func next() async throws -> TaskBatch? {
            // Bounded by cancellation: each empty claim sleeps, and a cancelled sleep ends it.
            while !Task.isCancelled {
                let batch = try await group.claim(max: max)
                if !batch.isEmpty { return batch }
                do {
                    try await Task.sleep(for: .milliseconds(idleMilliseconds))
                } catch {
                    return nil
                }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(group: group, max: max, idleMilliseconds: idleMilliseconds)
    }
}

extension ConsumerGroup {
    /// Claims as an async sequence of non-empty batches of up to `max` tasks.
    ///
    /// ```swift
    /// for try await batch in group.batches(max: 100) {
    ///     for task in batch.tasks { try await send(task) }
    ///     try await group.ack(batch)
    /// }
    /// ```
    /// - Parameters:
    ///   - max: tasks per batch at most, as ``claim(max:)``.
    ///   - idle: how long to wait before claiming again when nothing was ready (at least 1 ms).
    public func batches(max: Int = 100, idle: Duration = .milliseconds(20)) -> TaskBatches {
        TaskBatches(group: self, max: max, idleMilliseconds: Swift.max(1, Worker.milliseconds(idle)))
    }

    @available(*, deprecated, message: "use batches(max:idle:) with a Duration")
    public func batches(max: Int = 100, idleMilliseconds: Int64) -> TaskBatches {
        batches(max: max, idle: .milliseconds(idleMilliseconds))
    }
}
