import Synchronization

/// A place in a queue's log: the segment (by base offset), the byte position just after the
/// last batch, and the offset the next record gets.
public struct LogPosition: Sendable, Equatable, CustomStringConvertible {
    public var segment: Int64
    public var position: Int64
    public var nextOffset: Int64

    public var description: String { "segment \(segment) position \(position) next offset \(nextOffset)" }
}

/// What the writer publishes and readers read: the segments and the committed end.
struct LogState {
    /// Sorted by base offset; the last one is active.
    var segments: [Segment]
    /// Readers see records below this (synced under `.always`, written otherwise).
    var committed: LogPosition
    /// Set when a sync failed: the log refuses further writes until reopened (fsync errors
    /// cannot be retried safely: the kernel may have dropped the dirty pages).
    var failure: SpoolError?
    var closed = false
}

/// State shared by a queue's writer thread and its readers. Thread-safe behind a mutex.
final class LogShared: Sendable {
    let name: String
    let directory: String
    let options: SpoolOptions
    let state: Mutex<LogState>
    let metrics: LogMetrics

    init(name: String, directory: String, options: SpoolOptions, state: LogState) {
        self.name = name
        self.directory = directory
        self.options = options
        self.state = Mutex(state)
        self.metrics = LogMetrics(queue: name, factory: options.metricsFactory)
    }

    var snapshot: (segments: [Segment], committed: LogPosition) {
        state.withLock { ($0.segments, $0.committed) }
    }
}
