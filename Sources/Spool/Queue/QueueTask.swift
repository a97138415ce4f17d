import SpoolFormat

/// One task delivered to a consumer under a lease: its record, how many times it has been
/// delivered, and the lease that acknowledging it must present.
public struct QueueTask: Sendable, Equatable {
    /// The task's offset in its queue: its identity.
    public var offset: Int64
    public var key: [UInt8]?
    public var headers: [RecordHeader]
    public var payload: [UInt8]?
    /// 1 on first delivery, then one more per redelivery.
    public var attempt: Int
    /// When it was enqueued (the record's timestamp, ms since the epoch).
    public var enqueuedAt: Int64
    /// The lease this delivery holds; an ack after it expired (and the task went to someone
    /// else) is stale and ignored.
    public var lease: Lease

    /// A delivery's lease: an id unique within the group, and when it expires (ms since epoch).
    public struct Lease: Sendable, Equatable, Hashable {
        public var id: UInt64
        public var expiresAt: Int64
    }
}

/// The tasks one claim delivered, in offset order, read straight from the segments.
public struct TaskBatch: Sendable, Equatable {
    public var tasks: [QueueTask]
    public var isEmpty: Bool { tasks.isEmpty }
    public var count: Int { tasks.count }
}

/// What an ack did, per task.
public struct AckResult: Sendable, Equatable {
    public init() {}
    /// Tasks whose lease was current: now acknowledged, durably.
    public var acked = 0
    /// Tasks acknowledged before (a double ack): nothing changed.
    public var alreadyAcked = 0
    /// Tasks whose lease had expired and been handed to another delivery: ignored.
    public var stale = 0
}
