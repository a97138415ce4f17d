import Glibc
import SpoolFormat

/// The durable, segmented log of one queue: producers append records to it, readers read them
/// back by offset or timestamp.
///
/// Appends are async: the caller encodes its batch on its own thread, hands it to the queue's
/// writer thread, and resumes once the batch is durable under the root's ``Durability``
/// (group commit: one `fdatasync` covers every producer waiting at that moment).
///
/// Thread-safety: `Sendable`; call it from any task or thread. ``reader(from:)`` returns a
/// reader that one thread at a time uses.
public final class QueueLog: Sendable {
    /// The queue's name (its directory under `<root>/queues/`).
    public let name: String
    /// The queue's directory.
    public let directory: String
    /// What opening it did: time, bytes scanned, bytes cut from a torn tail.
    public let recoveryReport: RecoveryReport
    let shared: LogShared
    private let writer: LogWriter

    /// How new batches are compressed (older batches keep the codec they were written with).
    public let compression: Compression

    /// - Throws: recovery errors; `.corruption`/`.notFound` naming the file when
    ///   `.zstdDictionary` is asked for and the queue's current dictionary cannot be read.
    init(name: String, directory: String, options: SpoolOptions, compression: Compression) throws {
        self.name = name
        self.directory = directory
        self.compression = compression
        let dictionaries = DictionaryStore(queueDirectory: directory, fileSystem: options.fileSystem)
        var dictionary: ZstdDictionary? = nil
        if case .zstdDictionary = compression { dictionary = try dictionaries.current() }
        let compressor = CompressorPool(codec: compression.codec, level: compression.level, dictionary: dictionary)
        let outcome = try LogRecovery.recover(directory: directory, name: name, options: options)
        recoveryReport = outcome.report
        let committed = LogPosition(
            segment: outcome.active.baseOffset, position: outcome.active.writeEnd, nextOffset: outcome.active.nextOffset
        )
        let spares = try SpareSegments(
            directory: directory, limit: options.durability == .never ? 0 : options.recycledSegmentsMax,
            fileSystem: options.fileSystem)
        shared = LogShared(
            name: name, directory: directory, options: options,
            state: LogState(segments: outcome.segments, committed: committed),
            compressor: compressor, dictionaries: dictionaries, spares: spares)
        writer = LogWriter(shared: shared, active: outcome.active, checkpoint: outcome.checkpoint)
        writer.start()
    }

    deinit {
        writer.close()
    }

    /// Appends one record and returns its offset once it is durable (per the durability policy).
    ///
    /// - Parameters:
    ///   - value: the payload; nil is a null value (a tombstone in Kafka's terms).
    ///   - key: optional key.
    ///   - headers: optional headers; Spool's own use names starting with `spool.`.
    ///   - timestamp: milliseconds since the epoch; the root's clock when nil.
    ///   - notBefore: a delayed task: consumer groups do not deliver it before this time (ms
    ///     since the epoch). Stored as the `spool.not-before` header.
    /// - Throws: `.limitExceeded` for a record above `limits.recordBytesMax`; `.queueFull` under
    ///   `.fail` backpressure; `.closed`; `.diskFull` or `.io` naming the segment when the write
    ///   or sync failed (the record is then not acknowledged, though it may survive a crash).
    @discardableResult
    public func append(
        _ value: [UInt8]?, key: [UInt8]? = nil, headers: [RecordHeader] = [], timestamp: Int64? = nil,
        notBefore: Int64? = nil
    ) async throws -> Int64 {
        var headers = headers
        if let notBefore { headers.append(TaskHeaders.notBefore(notBefore)) }
        let record = RecordInput(
            value: value, key: key, headers: headers, timestamp: timestamp ?? shared.options.clock.wallMilliseconds())
        return try await append(batch: [record])
    }

    /// Appends records as one atomic unit: they get consecutive offsets, are written together,
    /// and become durable together. Returns the first record's offset.
    ///
    /// Records are split into batches of at most `limits.batchBytesMax` bytes (and never larger
    /// than a segment); all of them must fit in one segment.
    /// - Throws: as ``append(_:key:headers:timestamp:notBefore:)``, and `.invalidArgument` for an empty batch.
    @discardableResult
    public func append(batch records: [RecordInput]) async throws -> Int64 {
        let started = shared.options.clock.monotonicNanoseconds()
        defer { recordLatency(since: started) }
        do {
            return try await withUnsafeThrowingContinuation { continuation in
                do {
                    try submit(records, arrival: started, completion: .continuation(continuation))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } catch let error as SpoolError {
            throw error
        } catch {
            throw SpoolError(.io, "append failed: \(error)", path: directory, cause: error)
        }
    }

    /// The same as ``append(batch:)`` for callers on their own threads (not Swift's cooperative
    /// pool, which it would block): encodes on the calling thread, then waits for the writer,
    /// spinning briefly before it parks. Thread-based producers avoid a task wake-up per commit.
    /// - Throws: as ``append(batch:)``.
    @discardableResult
    public func appendBlocking(batch records: [RecordInput]) throws -> Int64 {
        let started = shared.options.clock.monotonicNanoseconds()
        defer { recordLatency(since: started) }
        let waiter = BlockingWaiter()
        try submit(records, arrival: started, completion: .waiter(waiter))
        return try waiter.wait(
            spinNanoseconds: UInt64(shared.options.waitSpinMicroseconds) * 1000, clock: shared.options.clock)
    }

    /// Appends batches that are already encoded, as they came (a Kafka Produce's records, for
    /// `spool serve`): each batch needs a sound header and CRC, records that decode within the
    /// root's limits, and no transactional or control flag (Spool does not write
    /// transactions); then the writer stamps their offsets and group-commits them as bytes, as
    /// it does any append. Returns the first offset.
    /// - Throws: `.invalidArgument` for no bytes, a transactional or control batch, or bytes
    ///   after the last whole batch; `.corruption` with the position in `bytes` for a bad
    ///   batch; `.limitExceeded` above the limits or a segment's size; as ``append(batch:)``
    ///   for the write.
    @discardableResult
    public func append(encodedBatches bytes: [UInt8]) async throws -> Int64 {
        let started = shared.options.clock.monotonicNanoseconds()
        defer { recordLatency(since: started) }
        var limits = shared.options.limits
        limits.batchBytesMax = min(limits.batchBytesMax, shared.options.segmentBytes)
        _ = try EncodedBatches.validate(
            bytes, limits: limits, segmentBytes: shared.options.segmentBytes, directory: directory)
        return try await withUnsafeThrowingContinuation { continuation in
            do {
                try writer.submit(AppendRequest(bytes: bytes, completion: .continuation(continuation)))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// The one core behind both doors: encodes `records` here (or leaves a small append to
    /// linger for the writer to compress with others) and hands it to the writer, which
    /// answers `completion` once it is durable.
    /// - Throws: encoding errors (`.limitExceeded`, `.invalidArgument`); `.queueFull`, `.closed`.
    private func submit(_ records: [RecordInput], arrival: UInt64, completion: AppendRequest.Completion) throws {
        let lingering = lingerSize(records)
        let bytes = lingering == nil ? try shared.encode(records) : []
        try writer.submit(
            request(records, bytes: bytes, lingering: lingering, arrival: arrival, completion: completion))
    }

    private func recordLatency(since started: UInt64) {
        shared.metrics.enqueueLatency.recordNanoseconds(Int64(shared.options.clock.monotonicNanoseconds() &- started))
    }

    private func request(
        _ records: [RecordInput], bytes: [UInt8], lingering: Int?, arrival: UInt64, completion: AppendRequest.Completion
    ) -> AppendRequest {
        guard let lingering else { return AppendRequest(bytes: bytes, completion: completion) }
        return AppendRequest(lingering: records, size: lingering, arrival: arrival, completion: completion)
    }

    /// The size a small append counts for when it lingers for the writer to compress it with
    /// others (``SpoolOptions/lingerMicroseconds``); nil when it is encoded here as usual.
    private func lingerSize(_ records: [RecordInput]) -> Int? {
        let options = shared.options
        guard options.lingerMicroseconds > 0, shared.compressor.codec != .none, !records.isEmpty else { return nil }
        var size = 0
        for record in records {
            size += RecordInput.estimatedSize(record)
            if size > options.lingerAppendBytesMax { return nil }
        }
        return size
    }

    /// Blocks the calling thread until a record past `offset` is committed, or the timeout
    /// passes; spins briefly first, then parks. Returns whether one is. For consumer threads
    /// that follow the log (a reader at its end waits here instead of polling).
    public func waitForCommit(beyond offset: Int64, timeoutMilliseconds: Int64) -> Bool {
        shared.waitForCommit(beyond: offset, timeoutNanoseconds: UInt64(max(timeoutMilliseconds, 0)) * 1_000_000)
    }

    /// Suspends until a record past `offset` is committed. Cancellation does not end the wait
    /// early; pair it with a timeout task if needed.
    public func commit(beyond offset: Int64) async {
        await shared.commit(beyond: offset)
    }

    /// Where the log ends for readers: records below `nextOffset` can be read.
    public var committed: LogPosition { shared.snapshot.committed }

    /// Offset of the first record still in the log: the log start. It is the first segment's
    /// base offset (FORMAT.md, "Log start"), and moves up when retention or the compactor
    /// deletes segments; the records below it are gone.
    public var firstOffset: Int64 { shared.snapshot.segments.first?.baseOffset ?? 0 }

    /// A reader positioned at `offset`.
    public func reader(from offset: Int64) -> LogReader {
        LogReader(shared: shared, from: offset)
    }

    /// Asks the writer to seal the active segment between appends (see `LogWriter.requestRoll`).
    func requestRoll() {
        writer.requestRoll()
    }

    /// Asks for a roll and waits (polling, at most `timeoutMilliseconds`) until the writer has
    /// published a new active segment. Returns whether it did.
    func rollAndWait(timeoutMilliseconds: Int64) -> Bool {
        let clock = shared.options.clock
        let before = shared.snapshot.committed.segment
        let handled = writer.rollsHandled.load(ordering: .acquiring)
        writer.requestRoll()
        let deadline = clock.monotonicNanoseconds() + UInt64(max(timeoutMilliseconds, 0)) * 1_000_000
        // Bounded by the deadline; ends as soon as the writer handled the request.
        while writer.rollsHandled.load(ordering: .acquiring) == handled {
            if clock.monotonicNanoseconds() >= deadline { return false }
            usleep(200)
        }
        return shared.snapshot.committed.segment != before
    }

    /// Writes what is queued, syncs, records the recovery point durably and stops the writer.
    /// Appends after close throw `.closed`. Idempotent; also done on deinit.
    public func close() {
        writer.close()
        shared.state.withLock { $0.closed = true }
    }
}

extension RecordInput {
    /// Roughly the bytes a record takes in a records section: payload, key, headers and a
    /// little framing. For bounds on lingering appends, not for layout.
    static func estimatedSize(_ record: RecordInput) -> Int {
        var size = 16 + (record.value?.count ?? 0) + (record.key?.count ?? 0)
        for header in record.headers { size += 8 + header.name.utf8.count + (header.value?.count ?? 0) }
        return size
    }
}
