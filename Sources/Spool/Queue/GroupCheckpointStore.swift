import Glibc

/// The checkpoint files of one consumer group (FORMAT.md, "Group checkpoint"):
/// `<group>/checkpoint` (newest) and `<group>/checkpoint.old` (the one before it).
///
/// Saving moves `checkpoint` to `checkpoint.old` (a rename), then writes the new one as an
/// atomic file (temp, fsync, rename, fsync the directory). Loading takes the newest that
/// decodes; a truncated or corrupt one is ignored and reported, and the group replays its log
/// from the older one. The compactor deletes group-log segments only below the *older*
/// checkpoint, so one bad file never loses an ack.
///
/// Not thread-safe: the compactor saves (one pass at a time); a group reads it when it opens.
struct GroupCheckpointStore {

    let directory: String
    let fileSystem: any FileSystem

    /// Whether `name` is one of the two checkpoint files of a group directory.
    static func isCheckpointFile(_ name: String) -> Bool {
        name == RootLayout.checkpointFileName || name == RootLayout.oldCheckpointFileName
    }

    /// What loading found.
    struct Loaded {
        var newest: GroupCheckpoint?
        /// The offset of the group log below which segments may be deleted: the older of the
        /// two valid checkpoints (0 when fewer than two are valid).
        var deletableBelow: Int64
        /// Files that were present but ignored, and why.
        var ignored: [String]
    }

    /// Reads both files. Never throws for bad content (that is reported in `ignored`).
    /// - Throws: I/O errors other than a missing file.
    func load() throws -> Loaded {
        var found: [GroupCheckpoint] = []
        var ignored: [String] = []
        for name in [RootLayout.checkpointFileName, RootLayout.oldCheckpointFileName] {
            let path = RootLayout.path(directory, name)
            guard let bytes = try read(path) else { continue }
            do {
                found.append(try GroupCheckpoint.decode(bytes))
            } catch {
                ignored.append("\(path): \(error)")
            }
        }
        let newest = found.max { $0.logOffset < $1.logOffset }
        let deletable = found.count == 2 ? found.map(\.logOffset).min()! : 0
        return Loaded(newest: newest, deletableBelow: deletable, ignored: ignored)
    }

    /// The file's bytes (at most ``GroupCheckpoint/encodedBytesMax`` + 1); nil when missing.
    private func read(_ path: String) throws -> [UInt8]? {
        let fd: Int32
        do {
            fd = try fileSystem.open(path, flags: O_RDONLY, mode: 0)
        } catch let error as SpoolError where error.code == .notFound {
            return nil
        }
        defer { fileSystem.close(fd) }
        let size = Int(min(try fileSystem.size(fd), Int64(GroupCheckpoint.encodedBytesMax + 1)))
        var bytes = [UInt8](repeating: 0, count: size)
        let got = try bytes.withUnsafeMutableBytes { try fileSystem.read(fd, into: $0, at: 0) }
        return Array(bytes[0..<got])
    }

    /// Saves `checkpoint` as the newest, keeping the previous newest as `checkpoint.old`.
    /// - Throws: I/O errors naming the file (`.diskFull` on a full disk); the previous files
    ///   stay usable.
    func save(_ checkpoint: GroupCheckpoint) throws {
        let path = RootLayout.path(directory, RootLayout.checkpointFileName)
        if fileSystem.fileType(path) == .regular {
            try fileSystem.rename(path, to: RootLayout.path(directory, RootLayout.oldCheckpointFileName))
        }
        try AtomicFile.write(
            checkpoint.encoded(), to: path, directory: directory, durable: true, fileSystem: fileSystem)
    }
}

/// Rebuilds a group's state from its checkpoint and the tail of its log.
enum GroupReplay {
    /// Applies the group log's records from `start.logOffset` to its committed end, or to
    /// `limit` (exclusive) when given.
    /// - Throws: `.corruption` for a record that is not a group record; read errors.
    static func advance(
        _ start: GroupCheckpoint, log: QueueLog, upTo limit: Int64? = nil
    ) throws -> (GroupCheckpoint, records: Int64) {
        var state = start
        var records: Int64 = 0
        var reader = log.reader(from: max(start.logOffset, log.firstOffset))
        // Bounded by the committed end (or `limit`).
        while reader.nextOffset < (limit ?? .max), let batch = try reader.nextBatch() {
            for record in batch.records {
                if let limit, record.offset >= limit {
                    state.logOffset = max(state.logOffset, limit)
                    return (state, records)
                }
                guard let value = record.value, let decoded = GroupRecord(decoding: value) else {
                    throw SpoolError(
                        .corruption, "a record of the group log is not a group record", path: log.directory,
                        offset: record.offset,
                        hint: "the group log was written by something else; move it away to reset the group")
                }
                state.apply(decoded)
                records += 1
            }
        }
        state.logOffset = max(state.logOffset, min(reader.nextOffset, limit ?? .max))
        return (state, records)
    }
}
