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
    /// Group logs by "queue/group": a group's own, or one the compactor opened to checkpoint a
    /// group nobody opened (a later ``group(_:on:options:)`` takes it over: one writer per log).
    private let groupLogs = Mutex<[String: QueueLog]>([:])
    private let isClosed = Atomic<Bool>(false)
    let compactor = Compactor()
    private let background = Mutex<BackgroundCompactor?>(nil)

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
                try fs.makeDurableDirectory(path)
            } catch let error as SpoolError {
                throw error.with(hint: error.code == .notFound ? "its parent directory does not exist; create it first" : nil)
            }
        case .regular, .other:
            throw SpoolError(.invalidArgument, "the data directory path is not a directory", path: path,
                             hint: "point --dir (or SPOOL_DIR) at a directory")
        }
        lock = Mutex(try DirectoryLock(root: path, fileSystem: fs))
        // Every directory is durable in its parent before anything inside it is acknowledged
        // (FORMAT.md, "Directories"): a power cut must not take queues/ away with its tasks.
        try fs.makeDurableDirectory(path + "/queues")
        if let interval = options.compactionIntervalMilliseconds {
            let compactor = BackgroundCompactor(intervalMilliseconds: interval, clock: options.clock, logger: options.logger) { [weak self] in
                guard let self else { return }
                let report = try self.compact()
                for problem in report.problems {
                    self.options.logger.warning("background compaction problem", metadata: ["problem": "\(problem)"])
                }
            }
            background.withLock { $0 = compactor }
        }
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
            try options.fileSystem.makeDurableDirectory(directory)
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
            let log = try groupLog(name, on: queue)  // creates the group's directory when missing
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

    /// The log of group `name` on `queue` (its directory created when missing), opened once.
    func groupLog(_ name: String, on queue: String) throws -> QueueLog {
        try QueueName.validate(name)
        let source = try self.queue(queue)
        return try groupLogs.withLock { (open) throws -> QueueLog in
            let key = queue + "/" + name
            if let existing = open[key] { return existing }
            try checkOpen()
            let fs = options.fileSystem
            let parent = source.directory + "/groups"
            let directory = parent + "/" + name
            try fs.makeDurableDirectory(parent)
            try fs.makeDurableDirectory(directory)
            let log = try QueueLog(name: queue + "/groups/" + name, directory: directory, options: Self.groupLogOptions(options), compression: .none)
            open[key] = log
            return log
        }
    }

    /// A group log's options: its records are small, so a small preallocation step and segment
    /// (and so small index files) keep what it asks of a nearly full disk small: acks, and the
    /// compaction that frees space, must still work there (FORMAT.md, "Preallocation").
    static func groupLogOptions(_ options: SpoolOptions) -> SpoolOptions {
        var options = options
        options.preallocationStepBytes = min(options.preallocationStepBytes, groupLogPreallocationStepBytes)
        options.segmentBytes = min(options.segmentBytes, groupLogSegmentBytesMax)
        return options
    }

    static let groupLogPreallocationStepBytes = 64 << 10
    static let groupLogSegmentBytesMax = 16 << 20

    /// Names of the consumer groups of `queue` on disk (directories under `<queue>/groups/`).
    /// - Throws: `.invalidArgument` for a bad queue name; I/O errors listing the directory.
    public func groupNames(of queue: String) throws -> [String] {
        try QueueName.validate(queue)
        let fs = options.fileSystem
        let parent = directory(ofQueue: queue) + "/groups"
        guard fs.fileType(parent) == .directory else { return [] }
        return try fs.listDirectory(parent).filter { fs.fileType(parent + "/" + $0) == .directory }.sorted()
    }

    /// Runs the compactor now, over `queues` (every queue on disk when nil): deletes what every
    /// consumer group acked and what is past retention, rewrites sparse segments, checkpoints
    /// the groups (see ``SpoolOptions`` for the retention and compaction options, and
    /// FORMAT.md "Log start" for what happens to tasks a group never acked). Waits for a
    /// background pass in progress first. Blocks the calling thread: call it from a thread
    /// of your own or wrap it in a detached task.
    ///
    /// - Parameter progress: called after each batch a rewrite reads, on the calling thread.
    /// - Returns: what it did, per queue; a queue whose compaction failed says why in its
    ///   report (`error`) while the others go on.
    /// - Throws: `.closed` after ``close()``; I/O errors listing the queues.
    public func compact(queues: [String]? = nil, progress: (@Sendable (CompactionProgress) -> Void)? = nil) throws -> CompactionReport {
        try checkOpen()
        return try compactor.run(root: self, queues: queues, progress: progress)
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
        compactor.stop()
        let compactorThread = background.withLock { b in defer { b = nil }; return b }
        compactorThread?.stop()
        let openGroups = groups.withLock { g in defer { g.removeAll() }; return Array(g.values) }
        for group in openGroups { group.log.close() }
        let openGroupLogs = groupLogs.withLock { g in defer { g.removeAll() }; return Array(g.values) }
        for log in openGroupLogs { log.close() }
        let open = queues.withLock { q in defer { q.removeAll() }; return Array(q.values) }
        for log in open { log.close() }
        lock.withLock { l in l?.release(fileSystem: options.fileSystem); l = nil }
    }
}
