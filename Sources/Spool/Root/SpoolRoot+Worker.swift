import Logging

extension SpoolRoot {
    /// A ``Worker`` that runs `handler` over `queue`'s raw tasks as consumer group `group`: acks
    /// when it returns, retries when it throws. Add it to a `ServiceGroup`, or call its `run()`.
    /// - Throws: `.invalidArgument` for bad names or options; recovery errors opening the queue.
    public func worker(
        queue: String, group: String, options: WorkerOptions = WorkerOptions(),
        groupOptions: GroupOptions = GroupOptions(),
        handler: @escaping @Sendable (QueueTask) async throws -> Void
    ) throws -> Worker {
        try Worker(
            group: self.group(group, on: queue, options: groupOptions), options: options,
            logger: self.options.logger, handler: handler)
    }

    /// A ``Worker`` over `queue`'s raw tasks whose handler gets a ``JobContext`` and returns each
    /// task's ``JobOutcome``.
    /// - Throws: `.invalidArgument` for bad names or options; recovery errors opening the queue.
    public func worker(
        queue: String, group: String, options: WorkerOptions = WorkerOptions(),
        groupOptions: GroupOptions = GroupOptions(),
        outcome handler: @escaping @Sendable (QueueTask, JobContext) async throws -> JobOutcome
    ) throws -> Worker {
        try Worker(
            group: self.group(group, on: queue, options: groupOptions), options: options,
            logger: self.options.logger, outcome: handler)
    }

    /// A ``Worker`` that runs typed jobs from `queue`, each by the handler `jobs` has for its name
    /// (see ``JobRegistry``).
    /// - Throws: `.invalidArgument` for bad names or options, or an empty registry; recovery
    ///   errors opening the queue.
    public func worker(
        queue: String, group: String, jobs: JobRegistry, options: WorkerOptions = WorkerOptions(),
        groupOptions: GroupOptions = GroupOptions()
    ) throws -> Worker {
        try Worker(
            group: self.group(group, on: queue, options: groupOptions), jobs: jobs, options: options,
            logger: self.options.logger)
    }

    /// Runs `handler` over `queue`'s tasks as group `group` with `concurrency` handlers at once,
    /// until the calling task is cancelled or a graceful shutdown comes: acks on success, nacks on
    /// throw (see ``Worker``).
    public func process(
        queue: String, group: String, concurrency: Int = 4,
        handler: @escaping @Sendable (QueueTask) async throws -> Void
    ) async throws {
        var options = WorkerOptions()
        options.concurrency = concurrency
        try await worker(queue: queue, group: group, options: options, handler: handler).run()
    }
}
