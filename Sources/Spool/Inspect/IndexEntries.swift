import Glibc

/// The entries of a segment's `.index` and `.timeindex` files, read with pread (FORMAT.md,
/// "Offset index", "Time index"), for tools that must not map or change them: the used part
/// ends at the first all-zero entry; what follows it is counted, not trusted.
///
/// A value type; reading is not synchronised with a writer appending entries, so the last
/// entries of an active segment may be missing from a read (never half-read: an entry is
/// ignored when its bytes are all zero).
public struct IndexEntries: Sendable, Equatable {
    public struct Offset: Sendable, Equatable {
        public var relativeOffset: UInt32
        public var position: UInt32
    }

    public struct Time: Sendable, Equatable {
        public var timestamp: Int64
        public var relativeOffset: UInt32
    }

    /// Index files are at most this big (a 1 GiB segment indexed every 64 bytes): larger ones
    /// are refused rather than read into memory.
    public static let fileBytesMax: Int64 = 256 << 20

    public var offsets: [Offset] = []
    public var times: [Time] = []
    /// Whether each file exists.
    public var offsetFileExists = false
    public var timeFileExists = false
    /// Non-zero entries after the first all-zero one (stale or damaged bytes).
    public var offsetEntriesAfterEnd = 0
    public var timeEntriesAfterEnd = 0
    /// Bytes at the end of a file that do not make a whole entry.
    public var offsetPartialBytes = 0
    public var timePartialBytes = 0

    public init() {}

    /// Reads the index files of the segment at `logPath` (`<stem>.log`).
    /// - Throws: `.io` naming the file; `.limitExceeded` for a file above ``fileBytesMax``.
    public static func read(
        segment logPath: String, fileSystem fs: any FileSystem = PosixFileSystem()
    ) throws -> IndexEntries {
        let stem = String(logPath.dropLast(RootLayout.logSuffix.count))
        var result = IndexEntries()
        if let bytes = try readFile(stem + RootLayout.indexSuffix, fs) {
            result.offsetFileExists = true
            result.offsetPartialBytes = bytes.count % OffsetIndexEntry.size
            bytes.withUnsafeBytes { raw in
                var i = 0
                var ended = false
                while i + OffsetIndexEntry.size <= raw.count {
                    let entry = OffsetIndexEntry(decoding: raw, at: i)
                    if entry.isZero {
                        ended = true
                    } else if ended {
                        result.offsetEntriesAfterEnd += 1
                    } else {
                        result.offsets.append(Offset(relativeOffset: entry.relativeOffset, position: entry.position))
                    }
                    i += OffsetIndexEntry.size
                }
            }
        }
        if let bytes = try readFile(stem + RootLayout.timeIndexSuffix, fs) {
            result.timeFileExists = true
            result.timePartialBytes = bytes.count % TimeIndexEntry.size
            bytes.withUnsafeBytes { raw in
                var i = 0
                var ended = false
                while i + TimeIndexEntry.size <= raw.count {
                    let entry = TimeIndexEntry(decoding: raw, at: i)
                    if entry.isZero {
                        ended = true
                    } else if ended {
                        result.timeEntriesAfterEnd += 1
                    } else {
                        result.times.append(Time(timestamp: entry.timestamp, relativeOffset: entry.relativeOffset))
                    }
                    i += TimeIndexEntry.size
                }
            }
        }
        return result
    }

    private static func readFile(_ path: String, _ fs: any FileSystem) throws -> [UInt8]? {
        guard fs.fileType(path) == .regular else { return nil }
        let fd = try fs.open(path, flags: O_RDONLY, mode: 0)
        defer { fs.close(fd) }
        let size: Int64
        do { size = try fs.size(fd) } catch { throw error.with(path: path) }
        guard size <= fileBytesMax else {
            throw SpoolError(
                .limitExceeded, "index file of \(size) bytes is larger than any index Spool writes (\(fileBytesMax))",
                path: path,
                hint: "the file is damaged; `spool repair` rebuilds it from the log")
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let got = try bytes.withUnsafeMutableBytes { raw in
            do { return try fs.read(fd, into: raw, at: 0) } catch { throw error.with(path: path) }
        }
        return Array(bytes[0..<got])
    }

    /// The last offset-index entry at or below `relativeOffset` whose fields increase from the
    /// start (the part a reader may trust before checking the log); nil when none.
    public func offsetEntry(atOrBelow relativeOffset: UInt32) -> Offset? {
        var best: Offset? = nil
        var previous = Offset(relativeOffset: 0, position: 0)
        for entry in offsets {
            if entry.position == 0 || entry.relativeOffset <= previous.relativeOffset
                || entry.position <= previous.position
            {
                break
            }
            if entry.relativeOffset > relativeOffset { break }
            best = entry
            previous = entry
        }
        return best
    }

    /// The last time-index entry whose timestamp is at most `timestamp` (Kafka's
    /// `TimeIndex.lookup`: the first record at or after the time lies at or after its offset),
    /// among the leading entries that strictly increase; nil when none.
    public func timeEntry(atOrBelow timestamp: Int64) -> Time? {
        var best: Time? = nil
        var previous: Time? = nil
        for entry in times {
            if let previous, entry.relativeOffset <= previous.relativeOffset || entry.timestamp <= previous.timestamp {
                break
            }
            if entry.timestamp > timestamp { break }
            best = entry
            previous = entry
        }
        return best
    }
}

extension SegmentFile {
    /// Where a walk for offset `offset` may start: the position of the batch the offset index
    /// points at (it ends at or before `offset`; checked against the log), or 0. Returns the
    /// position and the batch's base offset.
    /// - Throws: I/O errors.
    public func seekPosition(forOffset offset: Int64, indexes: IndexEntries) throws -> (position: Int64, offset: Int64?)
    {
        guard let base = nameOffset, offset > base else { return (0, nil) }
        let relative = UInt32(clamping: offset - base)
        guard let entry = indexes.offsetEntry(atOrBelow: relative) else { return (0, nil) }
        return try checked(entry, base: base)
    }

    /// Where a walk for the first record with a timestamp at or after `timestamp` may start,
    /// through the time index then the offset index (checked against the log), or 0.
    /// - Throws: I/O errors.
    public func seekPosition(
        forTimestamp timestamp: Int64, indexes: IndexEntries
    ) throws -> (position: Int64, offset: Int64?) {
        guard let base = nameOffset, let time = indexes.timeEntry(atOrBelow: timestamp),
            let entry = indexes.offsetEntry(atOrBelow: time.relativeOffset)
        else { return (0, nil) }
        return try checked(entry, base: base)
    }

    private func checked(_ entry: IndexEntries.Offset, base: Int64) throws -> (position: Int64, offset: Int64?) {
        let position = Int64(entry.position)
        guard position < size, let header = try header(at: position),
            header.lastOffset == base + Int64(entry.relativeOffset)
        else {
            return (0, nil)  // the index is wrong: the walk starts at the beginning instead
        }
        return (position, header.baseOffset)
    }
}
