import CoreMetrics

/// The metrics of one queue's log, made from ``SpoolOptions/metricsFactory`` (no metrics when
/// it is nil). Labels start with `spool_`; the queue is a dimension. Thread-safe (swift-metrics
/// handlers are).
struct LogMetrics: Sendable {
    /// Records appended and acknowledged by the writer.
    let enqueued: Counter
    /// Records per group commit.
    let commitRecords: Recorder
    /// Time of each `fdatasync` of a segment.
    let fsync: Timer
    /// Time from an append call to its answer (durability included).
    let enqueueLatency: Timer

    init(queue: String, factory: (any MetricsFactory)?) {
        let factory = factory ?? NOOPMetricsHandler.instance
        let dimensions = [("queue", queue)]
        enqueued = Counter(label: "spool_enqueued_total", dimensions: dimensions, factory: factory)
        commitRecords = Recorder(
            label: "spool_commit_records", dimensions: dimensions, aggregate: true, factory: factory)
        fsync = Timer(label: "spool_fsync_seconds", dimensions: dimensions, factory: factory)
        enqueueLatency = Timer(label: "spool_enqueue_seconds", dimensions: dimensions, factory: factory)
    }
}

/// The metrics of one consumer group: queue and group are dimensions.
struct GroupMetrics: Sendable {
    let acked: Counter
    let nacked: Counter
    let deadLettered: Counter
    /// Deliveries after the first (nack or expired lease).
    let redelivered: Counter
    /// Tasks in the queue not yet acknowledged by the group, after each claim and ack.
    let lag: Gauge
    /// Time from a task's enqueue (its timestamp) to its ack.
    let endToEnd: Timer
    /// False when no factory was given: callers may skip work done only to record.
    let isEnabled: Bool

    init(queue: String, group: String, factory: (any MetricsFactory)?) {
        isEnabled = factory != nil
        let factory = factory ?? NOOPMetricsHandler.instance
        let dimensions = [("queue", queue), ("group", group)]
        acked = Counter(label: "spool_acked_total", dimensions: dimensions, factory: factory)
        nacked = Counter(label: "spool_nacked_total", dimensions: dimensions, factory: factory)
        deadLettered = Counter(label: "spool_dead_lettered_total", dimensions: dimensions, factory: factory)
        redelivered = Counter(label: "spool_redelivered_total", dimensions: dimensions, factory: factory)
        lag = Gauge(label: "spool_group_lag", dimensions: dimensions, factory: factory)
        endToEnd = Timer(label: "spool_end_to_end_seconds", dimensions: dimensions, factory: factory)
    }
}
