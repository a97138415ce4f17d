import Glibc
import SpoolFormat
import Synchronization

/// A queue's trained zstd dictionaries (FORMAT.md, "Zstd dictionaries"): each in
/// `<queue>/dictionaries/<id>.zdict`, written atomically, and the one new batches use named
/// by `<queue>/dictionaries/current`. Dictionaries are never deleted by Spool: batches written
/// with one need it as long as they exist.
///
/// Readers look dictionaries up by the id in each zstd frame; this loads each file once and
/// keeps it. Thread-safe.
public final class DictionaryStore: Sendable {
    public let directory: String
    private let fileSystem: any FileSystem
    private let loaded = Mutex<[UInt32: ZstdDictionary]>([:])
    static let currentName = "current"
    static let fileSuffix = ".zdict"

    /// The store of the queue in `queueDirectory`.
    public init(queueDirectory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.directory = RootLayout.path(queueDirectory, RootLayout.dictionariesDirectoryName)
        self.fileSystem = fileSystem
    }

    /// The path of dictionary `id`.
    public func path(of id: UInt32) -> String { directory + "/\(id)" + Self.fileSuffix }

    /// Dictionary `id`, read from its file the first time; nil when there is no such file.
    /// - Throws: `.io` naming the file when it cannot be read; `.corruption` when its bytes are
    ///   not a zstd dictionary or carry another id.
    public func dictionary(id: UInt32) throws -> ZstdDictionary? {
        if let cached = loaded.withLock({ $0[id] }) { return cached }
        let path = path(of: id)
        guard let bytes = try AtomicFile.read(path, limit: ZstdDictionary.bytesMax + 1, fileSystem: fileSystem) else {
            return nil
        }
        let dictionary: ZstdDictionary
        do {
            dictionary = try ZstdDictionary(bytes: bytes)
        } catch {
            throw SpoolError(
                .corruption, "not a zstd dictionary: \(error)", path: path,
                hint: "restore the file from a copy of the root; batches compressed with it cannot be read without it",
                cause: error)
        }
        guard dictionary.id == id else {
            throw SpoolError(
                .corruption, "the file holds dictionary \(dictionary.id), not \(id)", path: path,
                hint: "rename it to \(dictionary.id)\(Self.fileSuffix), and restore \(id) from a copy")
        }
        loaded.withLock { $0[id] = dictionary }
        return dictionary
    }

    /// The dictionary new batches use, if one was installed.
    /// - Throws: as ``dictionary(id:)``, and `.corruption` when `current` names a missing one.
    public func current() throws -> ZstdDictionary? {
        let path = RootLayout.path(directory, Self.currentName)
        guard let bytes = try AtomicFile.read(path, limit: 32, fileSystem: fileSystem) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters()
        guard let id = UInt32(text) else {
            throw SpoolError(
                .corruption, "'current' does not hold a dictionary id: '\(text)'", path: path,
                hint: "write the id of a file in \(directory) into it, or delete it to compress without a dictionary")
        }
        guard let dictionary = try dictionary(id: id) else {
            throw SpoolError(
                .notFound, "'current' names dictionary \(id), but \(self.path(of: id)) is missing", path: path,
                hint: "restore the dictionary file, or delete 'current' to compress without a dictionary")
        }
        return dictionary
    }

    /// Stores `dictionary` (temp file, fsync, rename, fsync the directory) and makes it the
    /// one new batches use. Queues that are open keep the dictionary they opened with until
    /// they are reopened.
    /// - Throws: ``SpoolError`` naming the file.
    public func install(_ dictionary: ZstdDictionary) throws {
        try fileSystem.makeDurableDirectory(directory)
        try AtomicFile.write(
            dictionary.bytes, to: path(of: dictionary.id), directory: directory, durable: true, fileSystem: fileSystem)
        try AtomicFile.write(
            Array("\(dictionary.id)\n".utf8), to: RootLayout.path(directory, Self.currentName), directory: directory,
            durable: true, fileSystem: fileSystem)
        loaded.withLock { $0[dictionary.id] = dictionary }
    }

    /// A lookup for a `DecompressionContext` (SpoolFormat): errors reading a dictionary file read as
    /// "missing", and the batch then fails naming the id it needs.
    public var lookup: @Sendable (UInt32) -> ZstdDictionary? {
        { [self] id in (try? dictionary(id: id)) ?? nil }
    }
}
