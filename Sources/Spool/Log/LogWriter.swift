import Glibc
import Logging
import SpoolFormat
import Synchronization

/// The one writer of a queue's log: a dedicated thread that takes everything producers have
/// queued, stamps offsets, writes it with one `write`, issues one `fdatasync` for the group
/// (under `.always`), then answers every producer of the group (DESIGN.md, "Writing").
///
/// Blocking I/O stays on this thread, never on Swift's cooperative pool. Producers hand over
/// requests under a condition lock; pending bytes are bounded (``SpoolOptions/pendingBytesMax``).
///
/// Thread-safety: ``submit(_:)`` and ``close()`` may be called from any thread; everything else
/// runs on the writer thread.
/// Index entries that became due for one batch (FORMAT.md, "Offset index (.index)", "Time index
/// (.timeindex)"); they are appended once the batch is written.
struct DueIndexEntries {
    var offset: OffsetIndexEntry?
    var time: TimeIndexEntry?
}

final class LogWriter: @unchecked Sendable {
    private let shared: LogShared
    private let options: SpoolOptions
    private let fs: any FileSystem
    private let logger: Logger

    // Guarded by `lock`.
    private let lock = ConditionLock()
    private var queue: [AppendRequest] = []
    private var queuedBytes = 0
    private var waiting: [AppendRequest] = []
    private var closing = false
    private var writerSleeping = false
    /// Set by ``requestRoll()``: seal the active segment at the next idle moment.
    private var rollRequested = false
    /// Roll requests the writer thread has handled (rolled, found nothing to roll, or failed).
    let rollsHandled = Atomic<Int>(0)
    /// Set by producers when they queue work; lets the writer spin without the lock.
    private let hasWork = Atomic<Bool>(false)
    /// Requests queued right now (read without the lock while gathering a group).
    private let queuedRequests = Atomic<Int>(0)
    /// Requests in the last group: how many producers are likely to come back together.
    private var lastGroupSize = 1

    // Writer-thread state.
    private var active: Segment
    private var buffer: [UInt8] = []
    private var lastCheckpoint: RecoveryPoint
    private var syncDeadline: UInt64? = nil
    /// The next offset when the last flush ended: what a flush adds is counted from here.
    private var countedOffset: Int64 = 0
    private var unsynced = false
    /// Whether this writer has written anything: an idle writer prepares space only for a log
    /// that is being written to, never right after open.
    private var hasWritten = false
    private var thread: OSThread? = nil
    private let zeros: [UInt8]

    init(shared: LogShared, active: Segment, checkpoint: RecoveryPoint) {
        self.shared = shared
        self.options = shared.options
        self.fs = shared.options.fileSystem
        self.logger = shared.options.logger
        self.active = active
        self.lastCheckpoint = checkpoint
        self.zeros = [UInt8](repeating: 0, count: min(shared.options.preallocationStepBytes, 1 << 20))
        buffer.reserveCapacity(min(options.groupBytesMax, 8 << 20))
    }

    func start() {
        thread = OSThread { [self] in run() }
    }

    // MARK: Producer side

    /// Queues a request. Throws (without queueing) when the log is closed or failed, or when it
    /// is full under `.fail` backpressure; under `.wait` a full log parks the request until the
    /// writer has room.
    func submit(_ request: AppendRequest) throws {
        let size = request.size
        let error: SpoolError? = lock.withLock {
            if closing { return SpoolError(.closed, "the queue \(shared.name) is closed", path: shared.directory) }
            if let failure = shared.state.withLock({ $0.failure }) { return closedAfterFailure(failure) }
            if queuedBytes + size > options.pendingBytesMax && !queue.isEmpty {
                if options.backpressure == .fail {
                    return SpoolError(
                        .queueFull,
                        "\(queuedBytes) bytes are waiting for the writer, the bound is \(options.pendingBytesMax)",
                        path: shared.directory, hint: "retry later, raise pendingBytesMax, or use backpressure .wait")
                }
                waiting.append(request)
            } else {
                queue.append(request)
                queuedBytes += size
            }
            hasWork.store(true, ordering: .releasing)
            queuedRequests.add(1, ordering: .relaxed)
            if writerSleeping { lock.signal() }
            return nil
        }
        if let error { throw error }
    }

    /// Stops accepting requests, writes what is queued, syncs, records the recovery point and
    /// joins the thread. Idempotent.
    func close() {
        let thread: OSThread? = lock.withLock {
            closing = true
            lock.signal()
            defer { self.thread = nil }
            return self.thread
        }
        thread?.join()
    }

    /// Asks the writer thread to seal the active segment (when it holds anything) and start a
    /// new one, between two groups of appends. The compactor asks this when every consumer
    /// group has acked the whole active segment, which it may never delete itself. Thread-safe.
    func requestRoll() {
        lock.withLock {
            rollRequested = true
            if writerSleeping { lock.signal() }
        }
    }

    private func closedAfterFailure(_ failure: SpoolError) -> SpoolError {
        SpoolError(
            .closed, "the queue \(shared.name) stopped writing after an earlier failure: \(failure.message)",
            path: failure.path ?? shared.directory, errno: failure.errno,
            hint: "close and reopen the root; acknowledged tasks are intact")
    }

    // MARK: Writer thread

    private func run() {
        while true {
            var group: [AppendRequest] = []
            var finish = false
            var syncDue = false
            spinForWork()
            if !hasWork.load(ordering: .acquiring) { prepareWhileIdle() }
            gatherStragglers()
            lock.lock()
            lingerIfDue()
            while queue.isEmpty && !closing && !rollRequested {
                if let deadline = syncDeadline {
                    if options.clock.monotonicNanoseconds() >= deadline {
                        syncDue = true
                        break
                    }
                    lock.wait(until: deadline)
                } else {
                    writerSleeping = true
                    lock.wait()
                    writerSleeping = false
                }
            }
            group = takeGroup()
            finish = closing && queue.isEmpty && waiting.isEmpty
            let rollNow = rollRequested
            rollRequested = false
            lock.unlock()
            if !group.isEmpty {
                process(&group)
            } else if syncDue {
                syncNow()
            }
            if rollNow {
                rollOnRequest()
                rollsHandled.add(1, ordering: .releasing)
            }
            if finish {
                finalize()
                return
            }
        }
    }

    /// Spins (yielding the CPU) for up to `waitSpinMicroseconds` while nothing is queued: a
    /// producer that just got its answer usually comes back within microseconds, and catching it
    /// here saves a sleep and a wake-up per commit.
    private func spinForWork() {
        let spin = UInt64(options.waitSpinMicroseconds) * 1000
        guard spin > 0, !hasWork.load(ordering: .acquiring) else { return }
        let deadline = options.clock.monotonicNanoseconds() + spin
        var rounds = 0
        while !hasWork.load(ordering: .acquiring) {
            rounds += 1
            if rounds & 15 == 0 && options.clock.monotonicNanoseconds() >= deadline { return }
            sched_yield()
        }
    }

    /// With nothing to write (the spin found no work), zero-fills the next preallocation step
    /// ahead of the tail and syncs it, so that the commits that follow neither write nor flush
    /// zeros (issue 19: space ready before it is needed). At most one step, in chunks, stopping
    /// as soon as a producer queues work (the zeros written so far then ride on its commit's
    /// sync, as they would have anyway). Skipped before the first write since open, under
    /// `.never`, with unsynced data pending, and in a recycled segment (its space is written
    /// already). Failures are logged: the
    /// commit that needs the space prepares it again and reports its own error.
    private func prepareWhileIdle() {
        let segment = active
        let step = Int64(options.preallocationStepBytes)
        guard hasWritten, options.durability != .never, !unsynced, segment.recycledEnd == nil,
            segment.preparedEnd - segment.writeEnd < step, segment.preparedEnd < Int64(options.segmentBytes),
            shared.state.withLock({ $0.failure }) == nil
        else { return }
        let target = min(
            segment.preparedEnd + Int64(zeros.count), (segment.writeEnd + step + step - 1) / step * step,
            Int64(options.segmentBytes))
        do {
            // Bounded: each pass prepares one more chunk, up to one step past the tail.
            while segment.preparedEnd < target && !hasWork.load(ordering: .acquiring) {
                try prepare(upTo: min(segment.preparedEnd + Int64(Self.idleChunkBytes), target), step: 1)
            }
            // A producer that came meanwhile is not kept waiting for this sync: its commit's covers the zeros.
            if segment.preparedEnd >= target && !hasWork.load(ordering: .acquiring) { try fs.fdatasync(segment.fd) }
        } catch {
            logger.warning(
                "preparing space while idle failed", metadata: ["queue": "\(shared.name)", "error": "\(error)"])
        }
    }

    /// Zero-filling while idle checks for work after each chunk of this many bytes.
    static let idleChunkBytes = 64 << 10

    /// When the last group had several producers and only some are back, waits a few
    /// microseconds (bounded by a quarter of waitSpinMicroseconds) for the rest: they were
    /// answered together and are encoding their next append now, and one sync for all of them
    /// beats a sync for the first one and another for the rest.
    private func gatherStragglers() {
        let expected = lastGroupSize
        guard expected > 2, options.waitSpinMicroseconds > 0 else { return }
        let first = queuedRequests.load(ordering: .relaxed)
        guard first > 0, first < expected else { return }
        let deadline = options.clock.monotonicNanoseconds() + UInt64(options.waitSpinMicroseconds) * 250
        var rounds = 0
        while queuedRequests.load(ordering: .relaxed) < expected {
            rounds += 1
            if rounds & 15 == 0 && options.clock.monotonicNanoseconds() >= deadline { return }
            sched_yield()
        }
    }

    /// Batch linger (``SpoolOptions/lingerMicroseconds``): when the oldest queued request
    /// lingers, waits until its deadline (its arrival plus the linger), until enough small
    /// appends have gathered to fill a compressed batch, or until as many producers are back as
    /// the last group had (they were answered together, so waiting longer only adds latency),
    /// whichever is first. Lock held.
    private func lingerIfDue() {
        guard options.lingerMicroseconds > 0, let head = queue.first, head.records != nil else { return }
        let deadline = head.arrival + UInt64(options.lingerMicroseconds) * 1000
        let expected = max(lastGroupSize, 2)
        // Bounded: each pass waits until the deadline or a new request, and stops at the deadline.
        while !closing && queuedBytes < Self.lingerTargetBytes && queue.count < expected
            && options.clock.monotonicNanoseconds() < deadline
        {
            writerSleeping = true
            lock.wait(until: deadline)
            writerSleeping = false
        }
    }

    /// Lingering stops once this many bytes wait: enough for a compressor to do well.
    static let lingerTargetBytes = 256 << 10
    /// Lingered records encoded as one batch: at most this many bytes before compression.
    static let lingerBatchBytesMax = 1 << 20

    /// Takes queued requests up to groupBytesMax (at least one), then admits parked ones. Lock held.
    private func takeGroup() -> [AppendRequest] {
        var taken = 0
        var bytes = 0
        while taken < queue.count && (taken == 0 || bytes + queue[taken].size <= options.groupBytesMax) {
            bytes += queue[taken].size
            taken += 1
        }
        let group: [AppendRequest]
        if taken == queue.count {
            group = queue
            queue.removeAll(keepingCapacity: true)
        } else {
            group = Array(queue[0..<taken])
            queue.removeFirst(taken)
        }
        queuedBytes -= bytes
        queuedRequests.subtract(taken, ordering: .relaxed)
        if taken > 0 { lastGroupSize = taken }
        defer { hasWork.store(!queue.isEmpty, ordering: .releasing) }
        while let next = waiting.first, queuedBytes + next.size <= options.pendingBytesMax || queue.isEmpty {
            waiting.removeFirst()
            queue.append(next)
            queuedBytes += next.size
            queuedRequests.add(1, ordering: .relaxed)
        }
        return group
    }

    /// Writes one group: stamps offsets, rolls segments as needed, writes, syncs, answers.
    private func process(_ group: inout [AppendRequest]) {
        if let failure = shared.state.withLock({ $0.failure }) {
            for request in group { request.completion.resume(throwing: closedAfterFailure(failure)) }
            return
        }
        if group.contains(where: { $0.records != nil }) { group = encodeLingering(group) }
        var unflushed: [(AppendRequest.Completion, Int64)] = []
        var done: [(AppendRequest.Completion, Int64)] = []
        var pendingIndex: [DueIndexEntries] = []
        var saved = savedTail()
        countedOffset = active.nextOffset
        buffer.removeAll(keepingCapacity: true)
        do {
            for i in group.indices {
                let size = group[i].bytes.count
                if needsRoll(adding: buffer.count + size, offsets: Self.offsetSpan(of: group[i].bytes)) {
                    try flush(&pendingIndex)
                    done += unflushed
                    unflushed.removeAll()
                    // What was just flushed is acknowledged: a failure from here on must not
                    // roll the tail back over it, or its offsets would be handed out twice.
                    saved = savedTail()
                    try roll()
                    saved = savedTail()
                    countedOffset = active.nextOffset
                }
                let first = active.nextOffset
                stamp(&group[i].bytes, indexEntries: &pendingIndex)
                buffer.append(contentsOf: group[i].bytes)
                unflushed.append((group[i].completion, first))
            }
            try flush(&pendingIndex)
            done += unflushed
            unflushed.removeAll()
        } catch {
            restore(saved)
            buffer.removeAll(keepingCapacity: true)
            for (completion, _) in unflushed { completion.resume(throwing: error) }
            for request in group.dropFirst(done.count + unflushed.count) { request.completion.resume(throwing: error) }
            logger.error("write failed", metadata: ["queue": "\(shared.name)", "error": "\(error)"])
        }
        for (completion, offset) in done { completion.resume(returning: offset) }
    }

    /// Encodes each run of lingering requests as one compressed batch, handed on as one
    /// request that answers all of them. A run that cannot be encoded together (a record over a
    /// limit) is encoded request by request, and only the requests that fail alone fail.
    private func encodeLingering(_ group: [AppendRequest]) -> [AppendRequest] {
        let runBytesMax = min(
            Self.lingerBatchBytesMax, options.segmentBytes / 2, options.limits.decompressedBytesMax / 2)
        var out: [AppendRequest] = []
        var run: [AppendRequest] = []
        var runBytes = 0
        var runRecords = 0
        for request in group {
            guard let records = request.records else {
                out += encodeRun(run)
                run.removeAll()
                out.append(request)
                continue
            }
            if !run.isEmpty
                && (runBytes + request.size > runBytesMax
                    || runRecords + records.count > options.limits.recordsPerBatchMax)
            {
                out += encodeRun(run)
                run.removeAll()
                runBytes = 0
                runRecords = 0
            }
            run.append(request)
            runBytes += request.size
            runRecords += records.count
        }
        out += encodeRun(run)
        return out
    }

    private func encodeRun(_ run: [AppendRequest]) -> [AppendRequest] {
        guard !run.isEmpty else { return [] }
        var records: [RecordInput] = []
        var parts: [(completion: AppendRequest.Completion, delta: Int64)] = []
        for request in run {
            parts.append((request.completion, Int64(records.count)))
            records += request.records ?? []
        }
        if let bytes = try? shared.encode(records) {
            return [AppendRequest(bytes: bytes, completion: .several(parts))]
        }
        return run.compactMap { request in
            do {
                return AppendRequest(bytes: try shared.encode(request.records ?? []), completion: request.completion)
            } catch {
                request.completion.resume(throwing: error)
                return nil
            }
        }
    }

    private struct SavedTail {
        var nextOffset: Int64
        var indexRule: IndexEntryRule
        var maxTimestamp: Int64
        var firstTimestamp: Int64?
    }

    private func savedTail() -> SavedTail {
        SavedTail(
            nextOffset: active.nextOffset, indexRule: active.indexRule,
            maxTimestamp: active.maxTimestamp, firstTimestamp: active.firstTimestamp)
    }

    private func restore(_ saved: SavedTail) {
        active.nextOffset = saved.nextOffset
        active.indexRule = saved.indexRule
        active.maxTimestamp = saved.maxTimestamp
        active.firstTimestamp = saved.firstTimestamp
    }

    /// Whether `bytes` more, holding `offsets` records, would take the active segment past its
    /// size or age bound, or past the last offset its indexes can name (FORMAT.md, "Rolling a
    /// segment": relative offsets fit a `u32`). An empty segment takes any one append.
    private func needsRoll(adding bytes: Int, offsets: Int64) -> Bool {
        let holdsOffsets = active.nextOffset > active.baseOffset
        if holdsOffsets && active.nextOffset - active.baseOffset + offsets - 1 > options.segmentRelativeOffsetMax {
            return true
        }
        guard active.writeEnd > 0 else { return false }
        if active.writeEnd + Int64(bytes) > Int64(options.segmentBytes) { return true }
        if let first = active.firstTimestamp,
            options.clock.wallMilliseconds() - first >= options.segmentMaxAgeMilliseconds
        {
            return true
        }
        return false
    }

    /// The offsets the batches in `bytes` take (each batch's lastOffsetDelta + 1), read from
    /// their headers (FORMAT.md, "Batch header").
    static func offsetSpan(of bytes: [UInt8]) -> Int64 {
        bytes.withUnsafeBytes { raw in
            var p = 0
            var span: Int64 = 0
            while p + RecordBatchHeader.size <= raw.count {
                span += Int64(raw.loadBigEndian(at: p + RecordBatchHeader.lastOffsetDeltaPosition, as: Int32.self)) + 1
                p +=
                    RecordBatchHeader.lengthFieldEnd
                    + Int(raw.loadBigEndian(at: p + RecordBatchHeader.batchLengthPosition, as: Int32.self))
            }
            return span
        }
    }

    /// Stamps base offsets into every batch of `bytes` (FORMAT.md, "Batch header") and notes
    /// the index entries that become due; advances the tail's offset and timestamps.
    private func stamp(_ bytes: inout [UInt8], indexEntries: inout [DueIndexEntries]) {
        let startPosition = active.writeEnd + Int64(buffer.count)
        bytes.withUnsafeMutableBytes { raw in
            var p = 0
            while p + RecordBatchHeader.size <= raw.count {
                let readable = UnsafeRawBufferPointer(raw)
                let length =
                    RecordBatchHeader.lengthFieldEnd
                    + Int(readable.loadBigEndian(at: p + RecordBatchHeader.batchLengthPosition, as: Int32.self))
                let lastDelta = readable.loadBigEndian(
                    at: p + RecordBatchHeader.lastOffsetDeltaPosition, as: Int32.self)
                let maxTimestamp = readable.loadBigEndian(
                    at: p + RecordBatchHeader.maxTimestampPosition, as: Int64.self)
                RecordBatchEncoder.patchBaseOffset(
                    active.nextOffset, in: UnsafeMutableRawBufferPointer(rebasing: raw[p..<p + length]))
                let position = startPosition + Int64(p)
                precondition(
                    lastDelta >= 0 && length >= RecordBatchHeader.size && p + length <= raw.count,
                    "the writer stamps only batches its own encoder framed")
                let lastOffset = active.nextOffset + Int64(lastDelta)
                assert(
                    lastOffset - active.baseOffset <= options.segmentRelativeOffsetMax
                        || active.nextOffset == active.baseOffset,
                    "a segment rolls before its relative offsets pass the limit")
                let due = active.indexRule.add(lastOffset: lastOffset, maxTimestamp: maxTimestamp, at: position)
                if due.offset != nil || due.time != nil {
                    indexEntries.append(DueIndexEntries(offset: due.offset, time: due.time))
                }
                active.maxTimestamp = max(active.maxTimestamp, maxTimestamp)
                active.nextOffset = lastOffset + 1
                p += length
            }
        }
        if active.firstTimestamp == nil { active.firstTimestamp = options.clock.wallMilliseconds() }
    }

    /// Writes the buffer at the tail, syncs per the durability policy, then publishes.
    private func flush(_ indexEntries: inout [DueIndexEntries]) throws {
        guard !buffer.isEmpty else { return }
        let segment = active
        let end = segment.writeEnd + Int64(buffer.count)
        assert(segment.writeEnd >= 0 && end > segment.writeEnd, "a flush appends at the tail, past the last write")
        // Zero-filling ahead only pays off for syncs; under `.never` appends just grow the file.
        // A recycled segment's end marker, and a header's length after it, stay inside the file.
        let markerRoom = segment.recycledEnd == nil ? 0 : Int64(RecordBatchHeader.size)
        if options.durability != .never { try prepare(upTo: end + markerRoom) }
        if segment.recycledEnd != nil {
            try keepFence(beyond: end)
            buffer += RecycledSpace.marker(base: segment.baseOffset, position: end)
        }
        do {
            try buffer.withUnsafeBytes { (raw) in try fs.write(segment.fd, from: raw, at: segment.writeEnd) }
        } catch {
            throw error.with(path: segment.logPath, segment: segment.baseOffset)
        }
        var synced = false
        switch options.durability {
        case .always:
            try dataSync(segment)
            synced = true
        case .interval(let ms):
            // Under steady load the writer never idles, so the deadline is checked here too.
            let now = options.clock.monotonicNanoseconds()
            if let deadline = syncDeadline, now >= deadline {
                try dataSync(segment)
                synced = true
            } else {
                unsynced = true
                if syncDeadline == nil { syncDeadline = now + UInt64(ms) * 1_000_000 }
            }
        case .never:
            unsynced = true
        }
        segment.writeEnd = end
        hasWritten = true
        if let (offsets, times) = segment.openIndexes {
            for due in indexEntries {
                assert(
                    due.offset.map { Int64($0.position) < end } ?? true, "an index entry points inside the written data"
                )
                if let entry = due.offset { offsets.append(entry) }
                if let entry = due.time { times.append(entry) }
            }
        }
        indexEntries.removeAll()
        buffer.removeAll(keepingCapacity: true)
        let records = active.nextOffset - countedOffset
        countedOffset = active.nextOffset
        shared.metrics.enqueued.increment(by: records)
        shared.metrics.commitRecords.record(records)
        publish()
        if synced { checkpointIfDue() }
    }

    /// fdatasync of the active segment; a failure poisons the log.
    private func dataSync(_ segment: Segment) throws {
        let started = options.clock.monotonicNanoseconds()
        defer { shared.metrics.fsync.recordNanoseconds(Int64(options.clock.monotonicNanoseconds() &- started)) }
        do {
            try fs.fdatasync(segment.fd)
        } catch {
            let failure = error.asSpoolError.with(path: segment.logPath, segment: segment.baseOffset)
            shared.state.withLock { $0.failure = failure }
            throw failure
        }
        unsynced = false
        syncDeadline = nil
    }

    /// The interval policy's deferred sync.
    private func syncNow() {
        guard unsynced else {
            syncDeadline = nil
            return
        }
        do {
            try dataSync(active)
            checkpointIfDue()
        } catch {
            logger.error("interval sync failed", metadata: ["queue": "\(shared.name)", "error": "\(error)"])
        }
    }

    /// Makes the tail visible to readers. Under `.always` nothing is visible before it is
    /// synced: the committed end never passes the synced end.
    private func publish() {
        assert(
            options.durability != .always || !unsynced, "under .always the committed end never passes the synced end")
        assert(
            active.writeEnd >= 0 && active.nextOffset >= active.baseOffset
                && (active.nextOffset == active.baseOffset) == (active.writeEnd == 0),
            "the tail is inside the active segment, and it holds offsets exactly when it holds bytes")
        shared.publish(
            LogPosition(segment: active.baseOffset, position: active.writeEnd, nextOffset: active.nextOffset))
    }

    /// Zero-fills the active segment ahead of the tail in steps, so the appends that follow
    /// overwrite written blocks and their syncs do not change the file's size. On a disk too
    /// full for a whole step it prepares only what this append needs, so small appends (a
    /// group's acks) go on while any space is left. `step` overrides the step (the idle
    /// writer's chunks).
    private func prepare(upTo end: Int64, step stepBytes: Int64? = nil) throws {
        guard end > active.preparedEnd else { return }
        let step = stepBytes ?? Int64(options.preallocationStepBytes)
        var target = (end + step - 1) / step * step
        if target > Int64(options.segmentBytes) { target = max(end, Int64(options.segmentBytes)) }
        do {
            try fill(upTo: target)
        } catch let error as SpoolError where error.code == .diskFull && target > end {
            try fill(upTo: end)
        }
    }

    /// Writes zeros from the active segment's prepared end up to `target`.
    private func fill(upTo target: Int64) throws {
        let segment = active
        var position = segment.preparedEnd
        do {
            while position < target {
                let n = Int(min(Int64(zeros.count), target - position))
                try zeros.withUnsafeBytes { (raw) in
                    try fs.write(segment.fd, from: UnsafeRawBufferPointer(rebasing: raw[0..<n]), at: position)
                }
                position += Int64(n)
            }
        } catch {
            // Give back what the partial fill took, so a full disk keeps its last blocks for others.
            try? fs.truncate(segment.fd, to: max(segment.preparedEnd, segment.writeEnd))
            throw error.with(
                path: segment.logPath, segment: segment.baseOffset, position: position,
                hint: "the tail could not be extended; acknowledged tasks are intact")
        }
        segment.preparedEnd = target
    }

    /// In a recycled segment, keeps the fence (FORMAT.md, "Recycled segments") at least one
    /// preallocation step past the end marker that follows `end`, within the recycled space.
    /// A fence that the coming write would overwrite is replaced first, durably (one extra
    /// `fdatasync`, only for writes longer than a step); otherwise the new fence rides on the
    /// write's own sync, and the old one still stands until then.
    private func keepFence(beyond end: Int64) throws {
        let segment = active
        guard let recycledEnd = segment.recycledEnd else { return }
        let size = Int64(RecycledSpace.markerSize)
        let step = Int64(options.preallocationStepBytes)
        let last = recycledEnd - size  // the last place a marker fits in the recycled space
        guard segment.fence < end + size + step, segment.fence < last else { return }
        let target = min((end + size + step + step - 1) / step * step, last)
        guard target > segment.fence, target >= end + size else { return }
        do {
            try RecycledSpace.marker(base: segment.baseOffset, position: target).withUnsafeBytes { (raw) in
                try fs.write(segment.fd, from: raw, at: target)
            }
            if segment.fence < end + size && options.durability != .never { try dataSync(segment) }
        } catch {
            throw error.with(path: segment.logPath, segment: segment.baseOffset, position: target)
        }
        segment.fence = target
    }

    /// Moves the recovery point forward without an fsync when enough synced bytes passed: the
    /// point claims only what a completed fdatasync covers (DESIGN.md, "Recovery").
    private func checkpointIfDue() {
        guard
            lastCheckpoint.segment != active.baseOffset
                || active.writeEnd - lastCheckpoint.position >= Int64(options.recoveryCheckpointBytes)
        else { return }
        let point = RecoveryPoint(segment: active.baseOffset, position: active.writeEnd, nextOffset: active.nextOffset)
        do {
            try writeRecoveryPoint(point, durable: false)
        } catch {
            logger.warning("recovery point not moved", metadata: ["queue": "\(shared.name)", "error": "\(error)"])
        }
    }

    private func writeRecoveryPoint(_ point: RecoveryPoint, durable: Bool) throws {
        try point.write(in: shared.directory, durable: durable, fileSystem: fs)
        lastCheckpoint = point
    }

    /// ``requestRoll()``'s roll: only a segment holding data is sealed. The new segment's
    /// recovery point is written durably at once, so that the sealed one can be deleted or
    /// rewritten without a recovery point naming it.
    private func rollOnRequest() {
        guard shared.state.withLock({ $0.failure }) == nil, active.writeEnd > 0 else { return }
        do {
            try roll()
            try writeRecoveryPoint(
                RecoveryPoint(segment: active.baseOffset, position: active.writeEnd, nextOffset: active.nextOffset),
                durable: true)
            publish()
        } catch {
            logger.error("roll on request failed", metadata: ["queue": "\(shared.name)", "error": "\(error)"])
        }
    }

    /// Seals the active segment and starts the next (FORMAT.md, "Rolling a segment").
    private func roll() throws {
        try seal(active)
        let next = try nextSegment(base: active.nextOffset)
        try LogRecovery.installWritableIndexes(next, options: options)
        try fs.syncDirectory(shared.directory)
        let sealed = active
        active = next
        shared.state.withLock { $0.segments.append(next) }
        // The sealed segment's writable index mappings go (only now that the roll succeeded):
        // readers map them read-only when they need them, so a writer's memory does not grow
        // with every segment it fills.
        sealed.closeIndexes()
        sealed.unpinSealed()  // its descriptor is budgeted like any sealed segment's from now on
        logger.info("segment rolled", metadata: ["queue": "\(shared.name)", "segment": "\(next.baseOffset)"])
    }

    /// The next active segment: a spare the compactor kept, recycled, when one is ready
    /// (FORMAT.md, "Recycled segments"), else a new file. A spare that cannot be prepared is
    /// deleted and a new file made instead.
    /// - Throws: I/O errors creating the new file.
    private func nextSegment(base: Int64) throws -> Segment {
        if options.durability != .never, let spare = shared.spares.take() {
            do {
                return try recycle(spare, base: base)
            } catch {
                logger.warning(
                    "spare segment not recycled; deleting it", metadata: ["file": "\(spare)", "error": "\(error)"])
                try? fs.unlink(spare)
            }
        }
        return try Segment(
            directory: shared.directory, baseOffset: base, writable: true, create: true, fileSystem: fs,
            descriptors: active.descriptors)
    }

    /// Makes `spare` segment `base`: writes an end marker at position 0 and a fence a step
    /// further, syncs them, then renames the file to `<base>.log` (the roll syncs the
    /// directory). A crash before the rename leaves a spare; after it, an empty recycled
    /// segment whose scan ends at its first marker.
    /// - Throws: I/O errors; `.invalidArgument` when the spare is too small to be worth it.
    private func recycle(_ spare: String, base: Int64) throws -> Segment {
        let fd = try fs.open(spare, flags: O_RDWR, mode: 0o600)
        defer { fs.close(fd) }
        let size = try fs.size(fd)
        let markerSize = Int64(RecycledSpace.markerSize)
        guard size >= 4 * markerSize + Int64(RecordBatchHeader.size) else {
            throw SpoolError(.invalidArgument, "a spare of \(size) bytes is too small to recycle", path: spare)
        }
        let fence = min(Int64(options.preallocationStepBytes), size - markerSize)
        for position in [0, fence] {
            try RecycledSpace.marker(base: base, position: position).withUnsafeBytes { (raw) in
                try fs.write(fd, from: raw, at: position)
            }
        }
        try fs.fdatasync(fd)
        let segment = try Segment(
            directory: shared.directory, baseOffset: base, writable: true, create: false, fileSystem: fs,
            descriptors: active.descriptors)
        guard fs.fileType(segment.logPath) == .missing else {
            throw SpoolError(.invalidArgument, "the next segment's file exists already", path: segment.logPath)
        }
        try fs.rename(spare, to: segment.logPath)
        segment.preparedEnd = size
        segment.recycledEnd = size
        segment.fence = fence
        logger.info(
            "segment recycled", metadata: ["queue": "\(shared.name)", "from": "\(spare)", "segment": "\(base)"])
        return segment
    }

    /// Syncs the segment, trims its preallocated space and index files, and moves the recovery
    /// point (durably) to its end.
    private func seal(_ segment: Segment) throws {
        do {
            try fs.truncate(segment.fd, to: segment.writeEnd)
            try fs.fsync(segment.fd)
        } catch {
            let failure = error.asSpoolError.with(path: segment.logPath, segment: segment.baseOffset)
            shared.state.withLock { $0.failure = failure }
            throw failure
        }
        segment.preparedEnd = segment.writeEnd
        segment.recycledEnd = nil
        unsynced = false
        syncDeadline = nil
        try closeIndexes(of: segment)
        try writeRecoveryPoint(
            RecoveryPoint(segment: segment.baseOffset, position: segment.writeEnd, nextOffset: segment.nextOffset),
            durable: true)
    }

    /// Gives the time index its closing entry, trims both index files to their entries (no
    /// zero tail, as Kafka leaves them on roll and close: FORMAT.md, "Offset index (.index)") and syncs
    /// them. Appends after a reopen map them larger again.
    private func closeIndexes(of segment: Segment) throws {
        guard let (offsets, times) = segment.openIndexes else { return }
        if let closing = segment.indexRule.closingTimeEntry() { times.append(closing) }
        try offsets.file.trimToCount()
        try times.file.trimToCount()
        try offsets.file.sync()
        try times.file.sync()
    }

    /// On close: sync, trim the preallocated zeros, and record the recovery point durably.
    private func finalize() {
        guard shared.state.withLock({ $0.failure }) == nil else { return }
        let segment = active
        do {
            try fs.truncate(segment.fd, to: segment.writeEnd)
            try fs.fsync(segment.fd)
            segment.preparedEnd = segment.writeEnd
            segment.recycledEnd = nil
            try closeIndexes(of: segment)
            try writeRecoveryPoint(
                RecoveryPoint(segment: segment.baseOffset, position: segment.writeEnd, nextOffset: segment.nextOffset),
                durable: true)
        } catch {
            logger.error("close could not sync", metadata: ["queue": "\(shared.name)", "error": "\(error)"])
        }
    }
}
