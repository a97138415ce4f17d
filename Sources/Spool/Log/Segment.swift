import Glibc
import SpoolFormat
import Synchronization

/// One segment of a queue's log: `<base>.log` with its `.index` and `.timeindex`.
///
/// The writer appends to the active segment and owns its tail fields (`writeEnd`,
/// `preparedEnd`, `nextOffset`); readers only pread below the committed end the log publishes,
/// and look up the indexes. Sealed segments are immutable; their indexes are opened lazily
/// on first lookup and rebuilt from the log when they fail their checks.
///
/// Thread-safety: `@unchecked Sendable`; the writer-owned fields are touched by the writer
/// thread only, the lazy indexes sit behind a mutex, and pread is safe concurrently.
final class Segment: @unchecked Sendable {
    let baseOffset: Int64
    let directory: String
    let logPath: String
    let indexPath: String
    let timeIndexPath: String
    let fileSystem: any FileSystem
    private let writable: Bool
    /// The `.log` file's descriptor (-1 until first used, or after ``DescriptorBudget`` closed
    /// it while idle: opening a queue opens only the segments recovery reads), how many reads
    /// (and scanners, ``scanner(limits:)``) are using it, and whether it is pinned: opened
    /// through ``fd`` (the active segment's writer, recovery) or retired, so it is never closed
    /// before the segment goes. The writer unpins a segment when it seals it
    /// (``unpinSealed()``), so a log holds no descriptor per sealed segment.
    private struct Descriptor {
        var fd: Int32 = -1
        var uses = 0
        var pinned = false
    }
    private let descriptor = Mutex(Descriptor())
    /// The log's bound on descriptors held for reads of sealed segments (shared by its segments).
    let descriptors: DescriptorBudget

    // Writer-owned state of the active segment.
    /// Position just after the last batch written.
    var writeEnd: Int64 = 0
    /// Bytes from 0 that are zero-filled (or data): appends below it do not grow the file.
    var preparedEnd: Int64 = 0
    /// Offset of the next record to append.
    var nextOffset: Int64
    /// Greatest record timestamp so far, and the first batch's timestamp (for age rolls).
    var maxTimestamp: Int64 = .min
    var firstTimestamp: Int64? = nil
    /// Which batches get index entries (Kafka's rule); set with the writable indexes.
    var indexRule: IndexEntryRule
    /// Set while the segment is a recycled file whose old bytes lie past the tail: the end of
    /// that recycled space (FORMAT.md, "Recycled segments"). Nil for a new file, and once sealed.
    var recycledEnd: Int64? = nil
    /// In a recycled segment: where the fence marker stands (past the tail).
    var fence: Int64 = 0

    private struct Indexes {
        var offsets: OffsetIndex?
        var times: TimeIndex?
    }
    private let indexes = Mutex(Indexes())
    /// Set once the compactor deleted or replaced this segment's file: readers that still hold
    /// it finish on the open descriptor, but it never writes index files again (they would
    /// describe the old file under the live file's name).
    private let retiredFlag = Atomic<Bool>(false)

    /// Facts about a sealed segment the compactor asks for once: its record count and greatest
    /// timestamp (sealed segments never change; a rewrite makes a new ``Segment``).
    struct Summary: Sendable, Equatable {
        var records: Int64
        var maxTimestamp: Int64
        var bytes: Int64
    }
    private let summaryCache = Mutex<Summary?>(nil)
    private let maxTimestampCache = Mutex<Int64?>(nil)

    /// Opens (or creates) the segment file. `writable` opens it read-write.
    init(
        directory: String, baseOffset: Int64, writable: Bool, create: Bool, fileSystem fs: any FileSystem,
        descriptors: DescriptorBudget = DescriptorBudget()
    ) throws {
        self.descriptors = descriptors
        self.baseOffset = baseOffset
        self.directory = directory
        logPath = RootLayout.segmentFile(in: directory, base: baseOffset, suffix: RootLayout.logSuffix)
        indexPath = RootLayout.segmentFile(in: directory, base: baseOffset, suffix: RootLayout.indexSuffix)
        timeIndexPath = RootLayout.segmentFile(in: directory, base: baseOffset, suffix: RootLayout.timeIndexSuffix)
        fileSystem = fs
        nextOffset = baseOffset
        indexRule = IndexEntryRule(baseOffset: baseOffset, intervalBytes: SpoolOptions.defaultIndexIntervalBytes)
        self.writable = writable
        if create {
            let fd = try fs.open(logPath, flags: (writable ? O_RDWR : O_RDONLY) | O_CREAT | O_EXCL, mode: 0o600)
            descriptor.withLock { $0 = Descriptor(fd: fd, uses: 0, pinned: true) }
        }
    }

    deinit {
        let fd = descriptor.withLock { $0.fd }
        if fd >= 0 { fileSystem.close(fd) }
    }

    /// Opens the `.log` file. Call with `descriptor` locked.
    private func openFile() throws -> Int32 {
        do {
            return try fileSystem.open(logPath, flags: writable ? O_RDWR : O_RDONLY, mode: 0o600)
        } catch {
            throw error.with(path: logPath, segment: baseOffset)
        }
    }

    /// The `.log` file's descriptor, opened on first use (thread-safe; opened once). The
    /// compactor opens it before it deletes or replaces the file, so a segment object always
    /// reads the file it was made for.
    /// - Throws: `.notFound` or `.io` naming the file when it cannot be opened.
    /// Pins the descriptor: callers (the writer of the active segment, recovery, the compactor
    /// before it deletes or replaces the file) keep using the number they get. Scanners take a
    /// counted use instead (``scanner(limits:)``), and the writer unpins on seal.
    var fd: Int32 {
        get throws {
            try descriptor.withLock { state in
                if state.fd < 0 { state.fd = try openFile() }
                state.pinned = true
                return state.fd
            }
        }
    }

    /// Runs `body` with the descriptor, counted as in use so ``closeIfIdle()`` cannot close it
    /// under the call; an unpinned descriptor is opened on demand and counted against the
    /// log's ``DescriptorBudget``, which may close other idle ones. Thread-safe.
    private func withDescriptor<T>(_ body: (Int32) throws -> T) throws -> T {
        let fd = try acquireDescriptor()
        defer { releaseDescriptor() }
        return try body(fd)
    }

    /// Opens the descriptor when it is closed and counts one more use of it (see
    /// ``withDescriptor(_:)``); each call must be matched by one ``releaseDescriptor()``.
    /// - Throws: `.notFound` or `.io` naming the file (`.io` with EMFILE when the process is out
    ///   of descriptors). Thread-safe.
    fileprivate func acquireDescriptor() throws -> Int32 {
        let (fd, budgeted) = try descriptor.withLock { state in
            if state.fd < 0 { state.fd = try openFile() }
            state.uses += 1
            return (state.fd, !state.pinned)
        }
        if budgeted { descriptors.used(self) }
        return fd
    }

    /// Ends one use counted by ``acquireDescriptor()``. Thread-safe.
    fileprivate func releaseDescriptor() {
        descriptor.withLock { $0.uses -= 1 }
    }

    /// Called by the writer once it sealed this segment: the descriptor it pinned is counted
    /// against the log's ``DescriptorBudget`` from now on, closed while idle and reopened on
    /// demand like any other sealed segment's (so a writer that rolls 10,000 segments does not
    /// hold 10,000 descriptors). A retired segment stays pinned. Thread-safe.
    func unpinSealed() {
        let counted = descriptor.withLock { state -> Bool in
            guard state.pinned, !isRetired else { return false }
            state.pinned = false
            return state.fd >= 0
        }
        if counted { descriptors.used(self) }
    }

    /// Closes the descriptor when no read is using it and it is not pinned; returns whether
    /// the segment no longer holds one. Called by ``DescriptorBudget`` only.
    func closeIfIdle() -> Bool {
        descriptor.withLock { state in
            guard state.fd >= 0 else { return true }
            guard state.uses == 0, !state.pinned else { return false }
            fileSystem.close(state.fd)
            state.fd = -1
            return true
        }
    }

    /// Whether the descriptor is pinned (never closed by the budget).
    var isPinned: Bool { descriptor.withLock { $0.pinned } }

    func size() throws -> Int64 {
        do { return try withDescriptor { try fileSystem.size($0) } } catch {
            throw error.with(path: logPath, segment: baseOffset)
        }
    }

    /// Reads bytes at `position` into `buffer`; returns how many were read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        do { return try withDescriptor { try fileSystem.read($0, into: buffer, at: position) } } catch {
            throw error.with(path: logPath, segment: baseOffset, position: position)
        }
    }

    /// The batch header at `position`, or nil when the bytes there are not one (short or
    /// malformed). For checking index entries against the log.
    /// - Throws: I/O errors reading the file.
    func batchHeader(at position: Int64, limits: FormatLimits) throws -> RecordBatchHeader? {
        var header = [UInt8](repeating: 0, count: RecordBatchHeader.size)
        let got = try header.withUnsafeMutableBytes { try read(into: $0, at: position) }
        guard got == RecordBatchHeader.size else { return nil }
        return try? header.withUnsafeBytes { try RecordBatchHeader.decode($0, limits: limits) }
    }

    /// A scanner over the `.log` file. It holds a counted use of the descriptor (not a pin)
    /// for as long as it exists: the budget cannot close the descriptor under it, and once the
    /// scanner is gone the descriptor is idle again (closed by the budget when it needs room).
    /// - Throws: `.notFound` or `.io` naming the file when it cannot be opened.
    func scanner(limits: FormatLimits) throws -> SegmentScanner {
        let lease = try DescriptorLease(self)
        var scanner = SegmentScanner(fileSystem: fileSystem, path: logPath, fd: lease.fd, limits: limits)
        scanner.lease = lease
        return scanner
    }

    /// Whether the compactor deleted or replaced this segment's file.
    var isRetired: Bool { retiredFlag.load(ordering: .acquiring) }

    /// Marks the segment deleted or replaced (see `retiredFlag`). Thread-safe.
    func retire() {
        // Readers finish on the old file: its descriptor must outlive the unlink or rename.
        // Set under the descriptor's lock, so ``unpinSealed()`` never unpins a retired segment.
        // The descriptor is closed when the last holder (a reader's cursor) lets the segment go.
        descriptor.withLock { state in
            state.pinned = true
            retiredFlag.store(true, ordering: .releasing)
        }
    }

    /// Record count, greatest timestamp and size of a sealed segment, from its batch headers
    /// alone (``BatchWalker`` reading headers only: one 61-byte read per batch, no CRC check; a
    /// bad batch is found when it is read), cached after the first call.
    /// - Throws: I/O errors reading the file; `.corruption` naming the position where the
    ///   batches stop making sense.
    func summary(limits: FormatLimits) throws -> Summary {
        if let cached = summaryCache.withLock({ $0 }) { return cached }
        let end = try size()
        var summary = Summary(records: 0, maxTimestamp: .min, bytes: end)
        let lease = try DescriptorLease(self)
        var walker = BatchWalker(
            fileSystem: fileSystem, fd: lease.fd, path: logPath, headerLimits: SegmentScanner.framingLimits)
        walker.headersOnly = true
        let walked = try walker.walk(from: 0, limit: end) { batch in
            summary.records += Int64(batch.header.recordCount)
            summary.maxTimestamp = max(summary.maxTimestamp, batch.header.maxTimestamp)
            return true
        }
        guard walked.stop == .endOfData else {
            throw SpoolError(
                .corruption, "no valid batch header in a sealed segment", path: logPath, segment: baseOffset,
                position: walked.end,
                hint: "check it with `spool verify`")
        }
        summaryCache.withLock { $0 = summary }
        return summary
    }

    /// The greatest record timestamp of a sealed segment (for retention by age): the time
    /// index's last entry covers the batches before it, and the batches after it are scanned
    /// (at most one index interval). Cached.
    /// - Throws: I/O errors reading the file.
    func maxTimestamp(options: SpoolOptions) throws -> Int64 {
        if let cached = maxTimestampCache.withLock({ $0 }) { return cached }
        let end = try size()
        var start: (position: Int64, offset: Int64, best: Int64) = (0, baseOffset, .min)
        if let (offsets, times) = sealedIndexes(validEnd: end, options: options), offsets.file.count > 0,
            let header = try batchHeader(at: offsets.lastPosition, limits: options.limits),
            header.baseOffset == baseOffset + Int64(offsets.relativeOffset(offsets.file.count - 1))
        {
            start = (offsets.lastPosition, header.baseOffset, times.timestamp(times.file.count - 1))
        }
        var scanner = try scanner(limits: options.limits)
        scanner.checkCRC = false
        scanner.allowOffsetGaps = true
        let result = try scanner.scan(from: start.position, limit: end, nextOffset: start.offset)
        let best = max(start.best, result.maxTimestamp)
        maxTimestampCache.withLock { $0 = best }
        return best
    }

    // MARK: Indexes

    /// Index capacity for a segment of `segmentBytes`: one entry per interval, plus slack.
    static func indexCapacity(segmentBytes: Int, interval: Int) -> Int {
        segmentBytes / interval + 2
    }

    /// Installs writable, preallocated indexes (active segment).
    func installIndexes(offsets: OffsetIndex, times: TimeIndex) {
        indexes.withLock { $0 = Indexes(offsets: offsets, times: times) }
    }

    /// The indexes if they are open.
    var openIndexes: (OffsetIndex, TimeIndex)? {
        indexes.withLock { i in
            guard let o = i.offsets, let t = i.times else { return nil }
            return (o, t)
        }
    }

    /// Drops the open indexes (after a rebuild replaced the files).
    func closeIndexes() {
        indexes.withLock { $0 = Indexes() }
    }

    /// The indexes of a sealed segment, opened read-only on first use. When they are missing or
    /// fail their checks they are rebuilt from the log first (FORMAT.md: indexes are derived
    /// data). Nil only when the rebuild itself failed: the caller then scans from the start.
    func sealedIndexes(validEnd: Int64, options: SpoolOptions) -> (OffsetIndex, TimeIndex)? {
        indexes.withLock { i in
            if let o = i.offsets, let t = i.times { return (o, t) }
            if let loaded = loadSealedIndexes(validEnd: validEnd) {
                (i.offsets, i.times) = (loaded.0, loaded.1)
                return loaded
            }
            // A deleted or replaced file: its index files now belong to the live one.
            if isRetired { return nil }
            options.logger.warning("rebuilding a missing or inconsistent index", metadata: ["file": "\(indexPath)"])
            do {
                try rebuildIndexFiles(end: validEnd, options: options)
            } catch {
                options.logger.error(
                    "index rebuild failed; reads scan the segment",
                    metadata: ["file": "\(indexPath)", "error": "\(error)"])
                return nil
            }
            guard let loaded = loadSealedIndexes(validEnd: validEnd) else { return nil }
            (i.offsets, i.times) = (loaded.0, loaded.1)
            return loaded
        }
    }

    /// Drops the indexes a reader found pointing at the wrong batch, and rebuilds them.
    func discardIndexes(validEnd: Int64, options: SpoolOptions) {
        indexes.withLock { i in
            i = Indexes()
            if isRetired { return }
            try? fileSystem.unlink(indexPath)
            try? fileSystem.unlink(timeIndexPath)
        }
        _ = sealedIndexes(validEnd: validEnd, options: options)
    }

    private func loadSealedIndexes(validEnd: Int64) -> (OffsetIndex, TimeIndex)? {
        guard
            let of = try? MappedIndexFile(
                path: indexPath, entrySize: OffsetIndex.entrySize, capacity: 0, writable: false,
                    fileSystem: fileSystem),
            let tf = try? MappedIndexFile(
                path: timeIndexPath, entrySize: TimeIndex.entrySize, capacity: 0, writable: false,
                fileSystem: fileSystem)
        else { return nil }
        let o = OffsetIndex(file: of)
        let t = TimeIndex(file: tf)
        guard o.loadReadOnly(validEnd: validEnd), t.loadReadOnly() else { return nil }
        // An index copied from another segment, or written with another meaning (before Kafka's
        // was adopted), passes the order checks; its last entries must agree with the log.
        if let last = o.lastEntry, (try? offsetEntryBatch(last, limits: .default)) ?? nil == nil { return nil }
        if let last = t.lastEntry,
            !((try? timeEntryMatchesLog(last, offsets: o, end: validEnd, limits: .default)) ?? false)
        {
            return nil
        }
        return (o, t)
    }

    /// The header of the batch an offset-index entry points at, when it is one and it ends at
    /// the entry's offset (FORMAT.md, "Offset index (.index)"); nil otherwise.
    /// - Throws: I/O errors reading the file.
    func offsetEntryBatch(_ entry: OffsetIndexEntry, limits: FormatLimits) throws -> RecordBatchHeader? {
        guard let header = try batchHeader(at: Int64(entry.position), limits: limits),
            header.lastOffset == baseOffset + Int64(entry.relativeOffset)
        else { return nil }
        return header
    }

    /// Whether a time-index entry names a batch of this segment that ends at its offset and
    /// holds its timestamp as greatest (FORMAT.md, "Time index (.timeindex)"): walks from the offset-index
    /// entry at or before the offset, so at most about one index interval of headers.
    /// - Throws: I/O errors reading the file.
    func timeEntryMatchesLog(
        _ entry: TimeIndexEntry, offsets: OffsetIndex, end: Int64, limits: FormatLimits
    ) throws -> Bool {
        let target = baseOffset + Int64(entry.relativeOffset)
        let start = offsets.lookup(entry.relativeOffset)
        var position = Int64(start.position)
        if position > 0,
            try offsetEntryBatch(
                OffsetIndexEntry(relativeOffset: start.relativeOffset, position: start.position), limits: limits) == nil
        {
            position = 0
        }
        // Bounded: positions strictly increase up to `end`.
        while position < end, let header = try batchHeader(at: position, limits: limits) {
            if header.lastOffset >= target {
                return header.lastOffset == target && header.maxTimestamp == entry.timestamp
            }
            position += Int64(header.totalBytes)
        }
        return false
    }

    /// Scans the segment's batch headers and writes both index files anew (temp file, fsync,
    /// rename, directory fsync), by ``IndexEntryRule``, with the closing time entry of a sealed
    /// segment.
    func rebuildIndexFiles(end: Int64, options: SpoolOptions) throws {
        var offsets: [UInt8] = []
        var times: [UInt8] = []
        var rule = IndexEntryRule(baseOffset: baseOffset, intervalBytes: options.indexIntervalBytes)
        var scanner = try scanner(limits: options.limits)
        scanner.checkCRC = false
        scanner.allowOffsetGaps = true
        _ = try scanner.scan(from: 0, limit: end, nextOffset: baseOffset) { header, position in
            let due = rule.add(header, at: position)
            due.offset?.append(to: &offsets)
            due.time?.append(to: &times)
        }
        rule.closingTimeEntry()?.append(to: &times)
        // Durable: an unsynced rename can survive a power cut with the file's bytes lost.
        try AtomicFile.write(offsets, to: indexPath, directory: directory, durable: true, fileSystem: fileSystem)
        try AtomicFile.write(times, to: timeIndexPath, directory: directory, durable: true, fileSystem: fileSystem)
    }
}

/// One counted use of a segment's descriptor, held by a ``SegmentScanner`` for its lifetime
/// and ended when the scanner goes (see ``Segment/scanner(limits:)``). Thread-safe.
final class DescriptorLease: Sendable {
    let segment: Segment
    let fd: Int32

    /// - Throws: as ``Segment/fd``, when the file cannot be opened.
    init(_ segment: Segment) throws {
        self.segment = segment
        fd = try segment.acquireDescriptor()
    }

    deinit { segment.releaseDescriptor() }
}

/// Bounds the descriptors one log holds open for reads of its sealed segments: at most
/// `limit`, the least recently used idle one closed first (reopened on its next read), so
/// reading a queue of 10,000 segments does not run into EMFILE. Pinned descriptors (the active
/// segment, recovery, retired segments that readers finish on) are not counted,
/// and a descriptor a read is using is never closed. Thread-safe behind a mutex; it takes a
/// segment's lock inside its own, never the reverse.
final class DescriptorBudget: Sendable {
    /// The default bound per log.
    static let defaultLimit = 64
    let limit: Int

    private struct Entry {
        weak var segment: Segment?
        var lastUse: UInt64
    }
    private struct State {
        var open: [ObjectIdentifier: Entry] = [:]
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())

    init(limit: Int = DescriptorBudget.defaultLimit) { self.limit = max(1, limit) }

    /// How many unpinned descriptors it counts now (for tests).
    var openCount: Int { state.withLock { $0.open.count } }

    /// Records a read of `segment`, then closes least recently used idle descriptors while
    /// more than `limit` are open. Bounded: each pass looks at each entry at most once.
    func used(_ segment: Segment) {
        state.withLock { state in
            state.clock += 1
            state.open[ObjectIdentifier(segment)] = Entry(segment: segment, lastUse: state.clock)
            guard state.open.count > limit else { return }
            let oldest = state.open.sorted { $0.value.lastUse < $1.value.lastUse }
            for (key, entry) in oldest where state.open.count > limit && key != ObjectIdentifier(segment) {
                guard let other = entry.segment else {
                    state.open[key] = nil
                    continue
                }
                if other.isPinned || other.closeIfIdle() { state.open[key] = nil }
            }
        }
    }
}
