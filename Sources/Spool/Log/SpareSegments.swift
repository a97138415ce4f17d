import Glibc
import Synchronization

/// The deleted segments a log keeps for recycling (FORMAT.md, "Recycled segments"), at most
/// ``SpoolOptions/recycledSegmentsMax``: the compactor hands over a segment it took out of the
/// log (``keep(_:)``) and the writer takes one at its next roll (``take()``).
///
/// A spare is handed out only once no reader holds its old ``Segment`` any more: recycling
/// overwrites the very file a reader in the middle of it would still be reading (a deleted
/// file's data outlives its name, a recycled one's does not).
///
/// Thread-safe: the list sits behind a mutex.
final class SpareSegments: Sendable {
    private struct Spare: @unchecked Sendable {
        let path: String
        /// The segment the file was; the spare waits until nothing holds it.
        weak var previous: Segment?
    }

    let directory: String
    private let limit: Int
    private let fileSystem: any FileSystem
    private let spares: Mutex<[Spare]>

    /// Adopts the spares left in `directory` by an earlier run, up to `limit`, and deletes the
    /// others (a lowered limit, or recycling turned off: `limit` 0).
    /// - Throws: `.io` naming the directory or a file when it cannot be listed or deleted.
    init(directory: String, limit: Int, fileSystem fs: any FileSystem) throws {
        self.directory = directory
        self.limit = limit
        self.fileSystem = fs
        var kept: [Spare] = []
        for name in try fs.listDirectory(directory).sorted() where name.hasSuffix(RootLayout.spareSuffix) {
            let path = RootLayout.path(directory, name)
            if kept.count < limit && fs.fileType(path) == .regular {
                kept.append(Spare(path: path, previous: nil))
            } else {
                try fs.unlink(path)
            }
        }
        spares = Mutex(kept)
    }

    /// Smaller files are deleted, not kept: recycling them would save next to nothing (a group
    /// log's segments, trimmed by the compactor, are often a few bytes).
    static let bytesMin: Int64 = 16 << 10

    /// Spares held now (for tests and stats).
    var count: Int { spares.withLock { $0.count } }

    /// Keeps the `.log` of `segment`, which the caller has taken out of the log (and whose
    /// indexes it removed), as a spare: renames it to `<base>.log.spare` instead of deleting
    /// it. Returns false (and does nothing) when the log holds its limit of spares already, or
    /// the file is under ``bytesMin``; the caller then deletes the file. The caller syncs the directory afterwards.
    /// - Throws: `.io` naming the file when the rename fails.
    func keep(_ segment: Segment) throws -> Bool {
        let path = RootLayout.segmentFile(in: directory, base: segment.baseOffset, suffix: RootLayout.spareSuffix)
        return try spares.withLock { spares in
            guard spares.count < limit, fileSystem.fileType(segment.logPath) == .regular,
                fileSystem.fileType(path) == .missing, (try? segment.size()).map({ $0 >= Self.bytesMin }) == true
            else { return false }
            try fileSystem.rename(segment.logPath, to: path)
            spares.append(Spare(path: path, previous: segment))
            return true
        }
    }

    /// A spare no reader holds any more, taken out of the list; nil when there is none.
    func take() -> String? {
        spares.withLock { spares in
            guard let i = spares.firstIndex(where: { $0.previous == nil }) else { return nil }
            return spares.remove(at: i).path
        }
    }
}
