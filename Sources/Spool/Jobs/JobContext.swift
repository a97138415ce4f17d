import Logging
import Synchronization

/// What a handler knows about the task it runs: where it is, which attempt this is, when it was
/// enqueued, a logger that says so, and whether the worker is shutting down.
///
/// Cancellation: the worker cancels the handler's Swift task at its timeout and when the
/// shutdown grace period ends; `Task.isCancelled`, `Task.checkCancellation()` and cancellable
/// calls such as `Task.sleep` see it. ``isShuttingDown`` turns true as soon as shutdown begins,
/// before the grace period, for handlers that want to stop early.
///
/// Thread-safety: a `Sendable` value.
public struct JobContext: Sendable {
    /// A logger whose metadata carries `spool.queue`, `spool.group`, `spool.offset`,
    /// `spool.attempt` and, for typed jobs, `spool.job`.
    public var logger: Logger
    public let queue: String
    public let group: String
    /// The task's offset in its queue: its identity.
    public let offset: Int64
    /// The job's name (`spool.job` header); nil for a raw task.
    public let job: String?
    /// 1 on first delivery, then one more per redelivery.
    public let attempt: Int
    /// When the task was enqueued, ms since the Unix epoch (the record's timestamp).
    public let enqueuedAt: Int64
    /// The raw task: key, headers, payload, lease.
    public let task: QueueTask
    let shutdown: ShutdownFlag

    /// True once the worker began shutting down (its handlers are cancelled when the grace
    /// period ends).
    public var isShuttingDown: Bool { shutdown.isSet }

    init(task: QueueTask, queue: String, group: String, job: String?, logger: Logger, shutdown: ShutdownFlag) {
        var logger = logger
        logger[metadataKey: "spool.queue"] = "\(queue)"
        logger[metadataKey: "spool.group"] = "\(group)"
        logger[metadataKey: "spool.offset"] = "\(task.offset)"
        logger[metadataKey: "spool.attempt"] = "\(task.attempt)"
        if let job { logger[metadataKey: "spool.job"] = "\(job)" }
        self.logger = logger
        self.queue = queue
        self.group = group
        self.offset = task.offset
        self.job = job
        self.attempt = task.attempt
        self.enqueuedAt = task.enqueuedAt
        self.task = task
        self.shutdown = shutdown
    }
}

/// A worker's "shutting down" flag, shared with its handlers' contexts.
final class ShutdownFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
