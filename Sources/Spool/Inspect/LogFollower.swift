import SpoolFormat

/// Reads a queue's log from an offset onwards and keeps up with a writer in another process,
/// like `tail -f`: read-only, no lock, no mmap. Each ``poll(maxRecords:)`` returns the records of the
/// whole batches written since the last one (header, CRC and records checked); a batch still
/// being written (short, or failing its CRC) is left for a later poll, and when the segment
/// holds no more data and the next segment exists, it moves on to it.
///
/// Records become visible once written, which under `.always` durability is just before the
/// writer's sync returns.
///
/// Not thread-safe: one thread polls.
public final class LogFollower {
    public let directory: String
    private let limits: FormatLimits
    private let fileSystem: any FileSystem
    private var file: SegmentFile?
    private var position: Int64 = 0
    /// Offset of the batch expected at `position`.
    private var expected: Int64
    /// Records below this are skipped (the start may be inside a batch).
    public private(set) var startOffset: Int64

    /// A follower of the queue log in `directory`, starting at `offset`, or at the last
    /// `lastRecords` records when `offset` is nil.
    /// - Throws: `.notFound`, `.invalidArgument` for a directory without a log; I/O errors.
    public init(
        directory: String, from offset: Int64? = nil, lastRecords: Int64 = 0, limits: FormatLimits = .default,
        fileSystem: any FileSystem = PosixFileSystem()
    ) throws {
        self.directory = directory
        self.limits = limits
        self.fileSystem = fileSystem
        guard let log = try SpoolLayout.logs(at: directory, fileSystem: fileSystem).first, log.kind != .file else {
            throw SpoolError(
                .invalidArgument, "not a queue directory", path: directory,
                hint: "follow a queue's directory, not the root")
        }
        let end = try LogEnd.find(log, fileSystem: fileSystem)
        let start = max(end.firstOffset, offset ?? (end.nextOffset - max(0, lastRecords)))
        startOffset = start
        expected = start
        let segments = log.segments.filter { $0.baseOffset != nil }
        if let segment = segments.last(where: { $0.baseOffset! <= start }) ?? segments.first {
            let opened = try SegmentFile(path: segment.path, fileSystem: fileSystem)
            let seek = try opened.seekPosition(
                forOffset: start, indexes: IndexEntries.read(segment: segment.path, fileSystem: fileSystem))
            file = opened
            position = seek.position
            expected = seek.offset ?? segment.baseOffset!
        }
    }

    /// The offset of the next record a poll returns.
    public var nextOffset: Int64 { max(expected, startOffset) }

    /// Returns the records written since the last call (at most about `maxRecords`, whole
    /// batches), or none when nothing new is complete.
    /// - Throws: `.corruption` for a whole batch with a sound CRC whose records cannot be
    ///   decoded (it will not change); I/O errors.
    public func poll(maxRecords: Int = 100_000) throws -> [Record] {
        var out: [Record] = []
        for _ in 0..<1024 {
            if file == nil { guard try moveToNextSegment() else { return out } }
            guard let current = file else { return out }
            try current.refreshSize()
            var failure: SpoolError? = nil
            try current.forEachBatch(from: position, expectedOffset: expected, limits: limits) { entry in
                guard entry.crcOK, entry.header.baseOffset == expected else { return false }
                switch entry.batch {
                case .success(let batch)?:
                    out += batch.records.filter { $0.offset >= startOffset }
                case .failure(let error)?:
                    failure = error
                    return false
                case nil:
                    return false
                }
                position = entry.position + Int64(entry.header.totalBytes)
                expected = entry.header.nextOffset
                return out.count < maxRecords
            }
            if let failure { throw failure }
            if out.count >= maxRecords { return out }
            // No more whole batches here: move on only once the next segment exists.
            guard try moveToNextSegment() else { return out }
        }
        return out
    }

    /// Switches to the segment whose base offset is `expected`, if it exists.
    private func moveToNextSegment() throws -> Bool {
        let path = RootLayout.segmentFile(in: directory, base: expected, suffix: RootLayout.logSuffix)
        guard fileSystem.fileType(path) == .regular, path != file?.path else { return false }
        file = try SegmentFile(path: path, fileSystem: fileSystem)
        position = 0
        return true
    }
}
