import CoreMetrics

/// The compactor's metrics for one queue, made from ``SpoolOptions/metricsFactory`` (none when
/// it is nil). Thread-safe (swift-metrics handlers are).
struct CompactionMetrics: Sendable {
    let bytesRead: Counter
    let bytesWritten: Counter
    let bytesDeleted: Counter
    let segmentsDeleted: Counter
    let segmentsRewritten: Counter
    let recordsRemoved: Counter
    let checkpoints: Counter
    /// Bytes of the queue's segments after each pass.
    let segmentBytes: Gauge

    init(queue: String, factory: (any MetricsFactory)?) {
        let factory = factory ?? NOOPMetricsHandler.instance
        let dimensions = [("queue", queue)]
        bytesRead = Counter(label: "spool_compaction_read_bytes_total", dimensions: dimensions, factory: factory)
        bytesWritten = Counter(label: "spool_compaction_written_bytes_total", dimensions: dimensions, factory: factory)
        bytesDeleted = Counter(label: "spool_compaction_deleted_bytes_total", dimensions: dimensions, factory: factory)
        segmentsDeleted = Counter(
            label: "spool_compaction_segments_deleted_total", dimensions: dimensions, factory: factory)
        segmentsRewritten = Counter(
            label: "spool_compaction_segments_rewritten_total", dimensions: dimensions, factory: factory)
        recordsRemoved = Counter(
            label: "spool_compaction_records_removed_total", dimensions: dimensions, factory: factory)
        checkpoints = Counter(label: "spool_compaction_checkpoints_total", dimensions: dimensions, factory: factory)
        segmentBytes = Gauge(label: "spool_segment_bytes", dimensions: dimensions, factory: factory)
    }

    func record(_ pass: QueueCompaction) {
        bytesRead.increment(by: pass.bytesRead)
        bytesWritten.increment(by: pass.bytesWritten)
        bytesDeleted.increment(by: pass.bytesDeleted)
        segmentsDeleted.increment(by: pass.segmentsDeleted)
        segmentsRewritten.increment(by: pass.segmentsRewritten)
        recordsRemoved.increment(by: pass.recordsRemoved)
        checkpoints.increment(by: pass.checkpointsWritten)
        segmentBytes.record(Double(pass.segmentBytes))
    }
}
