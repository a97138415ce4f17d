import Glibc
import SpoolFormat
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
    /// The committed next offset, readable without the lock (consumers spin on it).
    let committedNext: Atomic<Int64>
    /// Where waiting consumers park, and how many do.
    private let commitLock = ConditionLock()
    private let parked = Atomic<Int>(0)
    /// Async waiters: resumed once the committed next offset passes their offset.
    private let asyncWaiters = Mutex<[(Int64, CheckedContinuation<Void, Never>)]>([])

    /// The compression of new batches, and the contexts producers borrow to encode them.
    let compressor: CompressorPool
    /// The queue's trained zstd dictionaries, for readers of batches made with one.
    let dictionaries: DictionaryStore
    /// Deleted segments kept to become the next segment (FORMAT.md, "Recycled segments").
    let spares: SpareSegments

    init(
        name: String, directory: String, options: SpoolOptions, state: LogState, compressor: CompressorPool,
        dictionaries: DictionaryStore,
        spares: SpareSegments
    ) {
        self.spares = spares
        self.name = name
        self.directory = directory
        self.options = options
        self.compressor = compressor
        self.dictionaries = dictionaries
        self.committedNext = Atomic(state.committed.nextOffset)
        self.state = Mutex(state)
        self.metrics = LogMetrics(queue: name, factory: options.metricsFactory)
    }

    /// The writer publishes a new committed end, and wakes consumers waiting for it.
    func publish(_ position: LogPosition) {
        state.withLock { $0.committed = position }
        committedNext.store(position.nextOffset, ordering: .sequentiallyConsistent)
        // Sequentially consistent with the waiter's count and check: one of them sees the other.
        if parked.load(ordering: .sequentiallyConsistent) > 0 { commitLock.withLock { commitLock.broadcast() } }
        let ready: [CheckedContinuation<Void, Never>] = asyncWaiters.withLock { waiters in
            guard !waiters.isEmpty else { return [] }
            let due = waiters.filter { $0.0 + 1 < position.nextOffset }.map(\.1)
            waiters.removeAll { $0.0 + 1 < position.nextOffset }
            return due
        }
        for continuation in ready { continuation.resume() }
    }

    /// Blocks until a record past `offset` is committed or `timeoutNanoseconds` pass; spins
    /// (yielding) for up to the spin budget first. Returns whether one is.
    func waitForCommit(beyond offset: Int64, timeoutNanoseconds: UInt64) -> Bool {
        let clock = options.clock
        let start = clock.monotonicNanoseconds()
        let spin = min(UInt64(options.waitSpinMicroseconds) * 1000, timeoutNanoseconds)
        var rounds = 0
        // A record past `offset` exists once the next offset is beyond offset + 1.
        while committedNext.load(ordering: .acquiring) <= offset + 1 {
            rounds += 1
            if rounds & 15 == 0 && clock.monotonicNanoseconds() - start >= spin { break }
            sched_yield()
        }
        if committedNext.load(ordering: .acquiring) > offset + 1 { return true }
        let deadline = start + timeoutNanoseconds
        parked.add(1, ordering: .sequentiallyConsistent)
        defer { parked.subtract(1, ordering: .sequentiallyConsistent) }
        return commitLock.withLock {
            // Bounded by the deadline.
            while committedNext.load(ordering: .sequentiallyConsistent) <= offset + 1 {
                if clock.monotonicNanoseconds() >= deadline { return false }
                commitLock.wait(until: deadline)
            }
            return true
        }
    }

    /// Suspends until a record past `offset` is committed (or returns at once if one is).
    func commit(beyond offset: Int64) async {
        await withCheckedContinuation { continuation in
            let now: Bool = asyncWaiters.withLock { waiters in
                if committedNext.load(ordering: .acquiring) > offset + 1 { return true }
                waiters.append((offset, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    var snapshot: (segments: [Segment], committed: LogPosition) {
        state.withLock { ($0.segments, $0.committed) }
    }

    /// Encodes records into one or more batches, each within the batch limit, compressed as
    /// the queue's compression says.
    /// - Throws: `.invalidArgument` for no records, `.limitExceeded` for a record or append that
    ///   cannot fit a batch or a segment.
    func encode(_ records: [RecordInput]) throws -> [UInt8] {
        guard !records.isEmpty else {
            throw SpoolError(.invalidArgument, "an append needs at least one record", path: directory)
        }
        var limits = options.limits
        limits.batchBytesMax = min(limits.batchBytesMax, options.segmentBytes)
        var out: [UInt8] = []
        do {
            if compressor.codec == .none {
                try RecordBatchEncoder.encode(records, baseOffset: 0, limits: limits, into: &out)
            } else {
                try compressor.withContext { context in
                    try RecordBatchEncoder.encode(records, baseOffset: 0, context: context, limits: limits, into: &out)
                }
            }
        } catch let error as SpoolError {
            throw error.with(path: directory)
        } catch FormatError.batchTooLarge where records.count > 1 {
            // Too big for one batch: halve until each part fits (bounded: log2(records) levels).
            let middle = records.count / 2
            out = try encode(Array(records[..<middle])) + encode(Array(records[middle...]))
        } catch {
            throw SpoolError(
                .limitExceeded, "record batch rejected: \(error)", path: directory,
                hint: "split the payload or raise SpoolOptions.limits", cause: error)
        }
        if out.count > options.segmentBytes {
            throw SpoolError(
                .limitExceeded,
                "an append of \(out.count) bytes does not fit in one segment of \(options.segmentBytes)",
                path: directory)
        }
        return out
    }
}
