import Glibc
import Synchronization

/// A Spool data directory: the writer lock and the queues under `<root>/queues/`.
///
/// ```swift
/// let root = try SpoolRoot.open(at: "/var/lib/myapp/spool")
/// let emails = try root.queue("emails")
/// let offset = try await emails.append(Array("hello".utf8))
/// root.close()
/// ```
///
/// Thread-safety: `Sendable`. One process at a time may open a root for writing (the lock
/// file); a second gets `.locked`.
public final class SpoolRoot: Sendable {
    public let path: String
    public let options: SpoolOptions
    private let lock: Mutex<DirectoryLock?>
    private let queues = Mutex<[String: QueueLog]>([:])
    private let groups = Mutex<[String: ConsumerGroup]>([:])
    private let isClosed = Atomic<Bool>(false)

    /// Opens (creating when allowed) the root at `path` and takes its writer lock.
    ///
    /// - Throws: `.notFound` when the root (with `createIfMissing` false) or its parent does not
    ///   exist; `.io` when it is not a directory or not writable; `.locked` when another process
    ///   writes to it; `.invalidArgument` for options out of range.
    public static func open(at path: String, options: SpoolOptions = SpoolOptions()) throws -> SpoolRoot {
        try SpoolRoot(path: path, options: options)
    }

    private init(path: String, options: SpoolOptions) throws {
        try options.validate()
        let fs = options.fileSystem
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.path = path
        self.options = options
        switch fs.fileType(path) {
        case .directory:
            break
        case .missing:
            guard options.createIfMissing else {
                throw SpoolError(.notFound, "the data directory does not exist", path: path,
                                 hint: "create it, or pass the right --dir")
            }
            do {
                try fs.makeDirectory(path, mode: 0o700)
            } catch let error as SpoolError {
                throw error.with(hint: error.code == .notFound ? "its parent directory does not exist; create it first" : nil)
            }
        case .regular, .other:
            throw SpoolError(.invalidArgument, "the data directory path is not a directory", path: path,
                             hint: "point --dir (or SPOOL_DIR) at a directory")
        }
        lock = Mutex(try DirectoryLock(root: path, fileSystem: fs))
        try fs.makeDirectory(path + "/queues", mode: 0o700)
    }

    deinit {
        close()
    }

    /// The directory of queue `name`.
    public func directory(ofQueue name: String) -> String { path + "/queues/" + name }

    /// Opens (creating when missing) queue `name`, recovering its log. Repeated calls return
    /// the same ``QueueLog``.
    ///
    /// - Parameter compression: how this queue compresses new batches; nil means
    ///   ``SpoolOptions/compression``. It applies from this open on: batches already written
    ///   keep their codec, so it may change from one open of the root to the next.
    /// - Throws: `.invalidArgument` for a bad name, or when the queue is already open with
    ///   another compression; recovery errors (`.corruption`, ...); for `.zstdDictionary`,
    ///   errors reading the queue's current dictionary.
    public func queue(_ name: String, compression: Compression? = nil) throws -> QueueLog {
        try QueueName.validate(name)
        try compression?.validate()
        return try queues.withLock { (open) throws -> QueueLog in
            if let existing = open[name] {
                if let compression, compression != existing.compression {
                    throw SpoolError(.invalidArgument, "queue \(name) is open with \(existing.compression) compression, not \(compression)",
                                     path: existing.directory, hint: "close the root and open it again to change a queue's compression")
                }
                return existing
            }
            try checkOpen()
            let directory = directory(ofQueue: name)
            if options.fileSystem.fileType(directory) == .missing {
                try options.fileSystem.makeDirectory(directory, mode: 0o700)
                try options.fileSystem.syncDirectory(path + "/queues")
            }
            let log = try QueueLog(name: name, directory: directory, options: options, compression: compression ?? options.compression)
            open[name] = log
            return log
        }
    }

    /// Opens (creating when missing) consumer group `name` on queue `queue`, replaying its log
    /// of acks. Repeated calls return the same group; `options` apply when it is first opened.
    /// - Throws: `.invalidArgument` for a bad queue or group name or options; recovery errors.
    public func group(_ name: String, on queue: String, options groupOptions: GroupOptions = GroupOptions()) throws -> ConsumerGroup {
        try QueueName.validate(name)
        let source = try self.queue(queue)
        return try groups.withLock { open in
            let key = queue + "/" + name
            if let existing = open[key] { return existing }
            try checkOpen()
            let fs = options.fileSystem
            let parent = source.directory + "/groups"
            let directory = parent + "/" + name
            if fs.fileType(directory) == .missing {
                try fs.makeDirectory(parent, mode: 0o700)
                try fs.makeDirectory(directory, mode: 0o700)
                try fs.syncDirectory(parent)
                try fs.syncDirectory(source.directory)
            }
            let log = try QueueLog(name: queue + "/groups/" + name, directory: directory, options: options, compression: .none)
            let group = try ConsumerGroup(
                name: name, queue: source, log: log, options: groupOptions, rootOptions: options,
                deadLetters: { [weak self] in
                    guard let self else { throw SpoolError(.closed, "the root is closed") }
                    return try self.queue(queue + ".dlq")
                })
            open[key] = group
            return group
        }
    }

    /// Throws `.closed` once ``close()`` ran: the lock is gone, so opening a log would make a
    /// second writer possible.
    private func checkOpen() throws {
        if isClosed.load(ordering: .acquiring) {
            throw SpoolError(.closed, "the root is closed", path: path, hint: "open it again with SpoolRoot.open")
        }
    }

    /// Names of the queues on disk.
    public func queueNames() throws -> [String] {
        try options.fileSystem.listDirectory(path + "/queues").filter { options.fileSystem.fileType(directory(ofQueue: $0)) == .directory }.sorted()
    }

    /// Closes every queue (each syncs and records its recovery point) and releases the lock.
    /// Idempotent.
    public func close() {
        isClosed.store(true, ordering: .releasing)
        let openGroups = groups.withLock { g in defer { g.removeAll() }; return Array(g.values) }
        for group in openGroups { group.log.close() }
        let open = queues.withLock { q in defer { q.removeAll() }; return Array(q.values) }
        for log in open { log.close() }
        lock.withLock { l in l?.release(fileSystem: options.fileSystem); l = nil }
    }
}
