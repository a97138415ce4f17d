import Glibc
import SpoolFormat

/// Figures for one queue, as `spool stats` shows them.
public struct QueueStats: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var name: String
        public var watermark: Int64
        /// Tasks in the queue this group has not acknowledged.
        public var lag: Int64
        /// Tasks not acknowledged with at least one failed attempt, from the group log's
        /// attempt records: ``ConsumerGroup/Stats/retrying``, computed by the same code.
        public var retrying: Int
        /// Timestamp (ms) of the group's oldest unacknowledged task (the first timestamp of the
        /// batch holding it, read from its header), nil when none is pending.
        public var oldestPendingTimestamp: Int64?
        /// Why the group's state could not be read, if it could not.
        public var error: String?

        /// The age (ms) of the group's oldest unacknowledged task at `now`, as
        /// ``ConsumerGroup/Stats/oldestPendingAge`` computes it.
        public func oldestPendingAge(now: Int64) -> Int64? {
            oldestPendingTimestamp.map { StatsFigures.age(now: now, enqueuedAt: $0) }
        }

        /// Renamed ``retrying``, the name ``ConsumerGroup/Stats`` uses for the same figure.
        @available(*, deprecated, renamed: "retrying")
        public var waitingForRetry: Int { retrying }
    }

    public var name: String
    public var segments: Int
    public var firstOffset: Int64
    public var nextOffset: Int64
    /// Records held in the log (`nextOffset - firstOffset`).
    public var tasks: Int64 { StatsFigures.tasks(firstOffset: firstOffset, nextOffset: nextOffset) }
    /// Backlog: the largest lag among the queue's groups, or every task held when it has none.
    public var depth: Int64 { groups.isEmpty ? tasks : groups.map(\.lag).max() ?? 0 }
    /// Apparent size of the segment files (the bytes written, up to the end of the data of
    /// preallocated segments) and blocks allocated to every file of the queue (`du`).
    public var logBytes: Int64
    public var diskBytes: Int64
    public var bytesPerTask: Double? { tasks > 0 ? Double(logBytes) / Double(tasks) : nil }
    /// Codec and compression ratio (uncompressed records section / stored section) of the last
    /// batch: a sample, since stats reads no other data.
    public var lastCodec: String?
    public var compressionRatio: Double?
    /// Timestamps (ms) of the oldest and newest records still in the log.
    public var oldestTimestamp: Int64?
    public var newestTimestamp: Int64?
    /// Tasks in the queue's dead-letter queue `<name>.dlq`, nil when it has none.
    public var deadLetters: Int64?
    public var groups: [Group]

    /// The age (ms) of the oldest pending task over all groups at `now`.
    public func oldestPendingAge(now: Int64) -> Int64? {
        groups.compactMap { $0.oldestPendingAge(now: now) }.max()
    }

    /// The age (ms) of the oldest record still in the log at `now`.
    public func retainedAge(now: Int64) -> Int64? {
        oldestTimestamp.map { StatsFigures.age(now: now, enqueuedAt: $0) }
    }
}

/// Gathers ``QueueStats`` for every queue of a root without reading the data: file sizes and
/// blocks, the last segment's index and last batch header (``LogEnd``), one batch header per
/// group for the oldest pending task, and the small group logs. Takes no lock; safe while a
/// writer runs (figures are then a moment's snapshot).
///
/// Thread-safety: a value type; each call works alone.
public struct StatsCollector: Sendable {
    public var limits: FormatLimits
    public var fileSystem: any FileSystem

    public init(limits: FormatLimits = .default, fileSystem: any FileSystem = PosixFileSystem()) {
        self.limits = limits
        self.fileSystem = fileSystem
    }

    /// Stats of the queues under `path` (a root, or one queue directory).
    /// - Throws: `.notFound`, `.invalidArgument` (not a root or queue), I/O errors.
    public func collect(path: String) throws -> [QueueStats] {
        let logs = try SpoolLayout.logs(at: path, fileSystem: fileSystem)
        guard !logs.contains(where: { $0.kind == .file }) else {
            throw SpoolError(
                .invalidArgument, "stats needs a root or a queue directory, not a segment file", path: path,
                hint: "use `spool dump FILE` or `spool verify FILE` for a single segment")
        }
        var result: [QueueStats] = []
        for queueLog in logs where queueLog.kind == .queue {
            result.append(
                try queueStats(queueLog, groups: logs.filter { $0.kind == .group && $0.queue == queueLog.queue }))
        }
        // Dead-letter queues' sizes go on their source queue's row.
        let ends = Dictionary(result.map { ($0.name, $0.tasks) }, uniquingKeysWith: { a, _ in a })
        for i in result.indices { result[i].deadLetters = ends[result[i].name + ".dlq"] }
        return result
    }

    private func queueStats(_ log: SpoolLayout.Log, groups: [SpoolLayout.Log]) throws -> QueueStats {
        let end = try LogEnd.find(log, fileSystem: fileSystem)
        var logBytes: Int64 = 0
        for segment in log.segments {
            logBytes += segment.path == end.lastSegment ? end.endPosition : fileInfo(segment.path).size
        }
        var stats = QueueStats(
            name: log.queue ?? log.name, segments: log.segments.count, firstOffset: end.firstOffset,
            nextOffset: end.nextOffset,
            logBytes: logBytes, diskBytes: log.directory.map(diskUsage) ?? 0,
            oldestTimestamp: end.firstBatch?.baseTimestamp,
            newestTimestamp: end.lastBatch?.maxTimestamp, groups: [])
        if let header = end.lastBatch, let position = end.lastBatchPosition, let path = end.lastSegment {
            (stats.lastCodec, stats.compressionRatio) = try sample(path, position, header)
        }
        for group in groups {
            stats.groups.append(groupStats(group, queue: log, end: end))
        }
        return stats
    }

    /// The last batch's codec and compression ratio.
    private func sample(_ path: String, _ position: Int64, _ header: RecordBatchHeader) throws -> (String?, Double?) {
        guard let codec = try? header.codec() else { return ("invalid(\(header.codecBits))", nil) }
        guard codec != .none else { return (codec.description, 1) }
        let bytes = try SegmentFile(path: path, fileSystem: fileSystem).batchBytes(at: position, header: header)
        let stored = header.totalBytes - RecordBatchHeader.size
        let plain = bytes.withUnsafeBytes { raw in
            try? BatchDecompressor.decompress(
                UnsafeRawBufferPointer(rebasing: raw[RecordBatchHeader.size...]), codec: codec,
                limit: limits.decompressedBytesMax)
        }
        guard let plain, stored > 0 else { return (codec.description, nil) }
        return (codec.description, Double(plain.count) / Double(stored))
    }

    private func groupStats(_ group: SpoolLayout.Log, queue: SpoolLayout.Log, end: LogEnd) -> QueueStats.Group {
        let name = group.group ?? group.name
        do {
            // Lost acks make the figures meaningless (open refuses the group): shown as the error.
            let state = try GroupStateReader(limits: limits, fileSystem: fileSystem).read(
                group, queueStart: end.firstOffset, throwOnLostAcks: true)
            let lag = state.lag(queueEnd: end.nextOffset)
            var oldest: Int64? = nil
            if lag > 0 && state.watermark < end.nextOffset {
                oldest = try timestamp(of: state.watermark, in: queue)
            }
            return QueueStats.Group(
                name: name, watermark: state.watermark, lag: lag, retrying: state.waitingForRetry,
                oldestPendingTimestamp: oldest)
        } catch {
            return QueueStats.Group(
                name: name, watermark: 0, lag: 0, retrying: 0, oldestPendingTimestamp: nil, error: "\(error)")
        }
    }

    /// The timestamp of the batch holding `offset`: its header only, found through the index.
    private func timestamp(of offset: Int64, in log: SpoolLayout.Log) throws -> Int64? {
        guard let segment = log.segments.last(where: { ($0.baseOffset ?? .max) <= offset }) else { return nil }
        let file = try SegmentFile(path: segment.path, fileSystem: fileSystem)
        let indexes = try IndexEntries.read(segment: segment.path, fileSystem: fileSystem)
        let start = try file.seekPosition(forOffset: offset, indexes: indexes)
        var position = start.position
        for _ in 0..<LogEnd.headersMax {
            guard position < file.size, let header = try file.header(at: position, limits: limits) else { return nil }
            if header.nextOffset > offset { return header.baseTimestamp }
            position += Int64(header.totalBytes)
        }
        return nil
    }

    private func fileInfo(_ path: String) -> (size: Int64, blocks: Int64) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return (0, 0) }
        return (Int64(info.st_size), Int64(info.st_blocks) * 512)
    }

    /// Bytes allocated to the files of a queue's directory (groups included), as `du` counts.
    private func diskUsage(_ directory: String) -> Int64 {
        var total: Int64 = 0
        var stack = [directory]
        var visited = 0
        while let dir = stack.popLast(), visited < 100_000 {
            visited += 1
            guard let names = try? fileSystem.listDirectory(dir) else { continue }
            for name in names {
                let path = RootLayout.path(dir, name)
                if fileSystem.fileType(path) == .directory {
                    stack.append(path)
                } else {
                    total += fileInfo(path).blocks
                }
            }
        }
        return total
    }
}
