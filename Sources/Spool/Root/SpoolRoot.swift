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
    ///   writes to it; `.invalidArgument` for options out of range, or for a new root inside
    ///   another root (a queue's directory given as the root).
    public static func open(at path: String, options: SpoolOptions = SpoolOptions()) throws -> SpoolRoot {
        try SpoolRoot(path: path, options: options)
    }

    private init(path: String, options: SpoolOptions) throws {
        try options.validate()
        var fs = options.fileSystem
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.path = path
        if fs.fileType(RootLayout(root: path).queuesDirectory) != .directory {
            try Self.refuseNestedRoot(path, fileSystem: fs)
        }
        switch fs.fileType(path) {
        case .directory:
            break
        case .missing:
            guard options.createIfMissing else {
                throw SpoolError(
                    .notFound, "the data directory does not exist", path: path,
                    hint: "create it, or open the root at the right directory")
            }
            do {
                try fs.makeDurableDirectory(path)
            } catch let error as SpoolError {
                throw error.with(
                    hint: error.code == .notFound ? "its parent directory does not exist; create it first" : nil)
            }
        case .regular, .other:
            throw SpoolError(
                .invalidArgument, "the data directory path is not a directory", path: path,
                hint: "open the root at a directory")
        }
        // From here on, every path below the root resolves beneath its directory descriptor.
        fs = try fs.confined(toRoot: path)
        var options = options
        options.fileSystem = fs
        self.options = options
        lock = Mutex(try DirectoryLock(root: path, fileSystem: fs))
        // Every directory is durable in its parent before anything inside it is acknowledged
        // (FORMAT.md, "Directories"): a power cut must not take queues/ away with its tasks.
        try fs.makeDurableDirectory(RootLayout(root: path).queuesDirectory)
        if let interval = options.compactionIntervalMilliseconds {
            let compactor = BackgroundCompactor(
                intervalMilliseconds: interval, clock: options.clock, logger: options.logger
            ) { [weak self] in
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

    /// Refuses to make a new root inside another root (`--dir <root>/queues/q` would otherwise
    /// create `queues/` and `spool.lock` inside a queue's directory).
    /// - Throws: `.invalidArgument` naming the enclosing root.
    private static func refuseNestedRoot(_ path: String, fileSystem fs: any FileSystem) throws {
        var absolute = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else { return }
            absolute = String(cString: buffer) + "/" + path
        }
        var components = absolute.split(separator: "/").map(String.init).filter { $0 != "." }
        let normalized = "/" + components.joined(separator: "/")
        // Bounded by the path's depth. Only a path at or under an ancestor root's `queues/`
        // counts: that is where the engine's own directories are.
        while !components.isEmpty {
            components.removeLast()
            let prefix = components.isEmpty ? "" : "/" + components.joined(separator: "/")
            let ancestor = prefix.isEmpty ? "/" : prefix
            let queues = RootLayout(root: prefix).queuesDirectory
            if normalized == queues || normalized.hasPrefix(queues + "/"),
                fs.fileType(RootLayout.path(prefix, RootLayout.lockFileName)) == .regular,
                fs.fileType(queues) == .directory
            {
                throw SpoolError(
                    .invalidArgument,
                    "the data directory is inside the Spool root \(ancestor): a root inside a root is refused",
                    path: path, hint: "open the root itself, \(ancestor)")
            }
        }
    }

    /// The directory of queue `name`.
    public func directory(ofQueue name: String) -> String { RootLayout(root: path).queueDirectory(name) }

    /// Opens (creating when missing) queue `name`, recovering its log. Repeated calls return
    /// the same ``QueueLog``.
    ///
    /// - Parameters:
    ///   - name: the queue's name (``QueueName``).
    ///   - compression: how this queue compresses new batches; nil means
    ///     ``SpoolOptions/compression``. It applies from this open on: batches already written
    ///     keep their codec, so it may change from one open of the root to the next.
    /// - Throws: `.invalidArgument` for a bad name, or when the queue is already open with
    ///   another compression; recovery errors (`.corruption`, ...); for `.zstdDictionary`,
    ///   errors reading the queue's current dictionary.
    public func queue(_ name: String, compression: Compression? = nil) throws -> QueueLog {
        if QueueName.isDeadLetter(name) && !queueExists(name) { try QueueName.validateUserCreated(name) }
        return try openQueue(name, compression: compression)
    }

    /// Whether queue `name` exists on disk (its directory under `queues/`); false for a bad name.
    /// Creates nothing.
    public func queueExists(_ name: String) -> Bool {
        guard (try? QueueName.validate(name)) != nil else { return false }
        return queues.withLock { $0[name] != nil }
            || options.fileSystem.fileType(directory(ofQueue: name)) == .directory
    }

    /// Throws `.notFound` unless queue `name` exists: for commands that act on a queue and must
    /// not create it (`dlq list/replay`, `compact --queue`).
    /// - Throws: `.invalidArgument` for a bad name; `.notFound` naming the directory.
    public func requireQueue(_ name: String) throws {
        try QueueName.validate(name)
        guard queueExists(name) else {
            throw SpoolError(
                .notFound, "no queue named \(name)", path: directory(ofQueue: name),
                hint: "check the root directory and the queue name; SpoolRoot.queueNames() lists the queues")
        }
    }

    /// ``queue(_:compression:)`` without the reserved-suffix check: the engine's own dead-letter
    /// queues go through here.
    func openQueue(_ name: String, compression: Compression? = nil) throws -> QueueLog {
        try QueueName.validate(name)
        try compression?.validate()
        return try queues.withLock { (open) throws -> QueueLog in
            if let existing = open[name] {
                if let compression, compression != existing.compression {
                    throw SpoolError(
                        .invalidArgument,
                        "queue \(name) is open with \(existing.compression) compression, not \(compression)",
                        path: existing.directory,
                        hint: "close the root and open it again to change a queue's compression")
                }
                return existing
            }
            try checkOpen()
            let directory = directory(ofQueue: name)
            try options.fileSystem.makeDurableDirectory(directory)
            let log = try QueueLog(
                name: name, directory: directory, options: options, compression: compression ?? options.compression)
            open[name] = log
            return log
        }
    }

    /// Opens (creating when missing) consumer group `name` on queue `queue`, replaying its log
    /// of acks. Repeated calls return the same group; `options` apply when it is first opened.
    /// - Throws: `.invalidArgument` for a bad queue or group name or options; recovery errors.
    public func group(
        _ name: String, on queue: String, options groupOptions: GroupOptions = GroupOptions()
    ) throws -> ConsumerGroup {
        try QueueName.validateGroup(name)
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
                    return try self.openQueue(QueueName.deadLetters(of: queue))
                })
            open[key] = group
            return group
        }
    }

    /// The log of group `name` on `queue` (its directory created when missing), opened once.
    func groupLog(_ name: String, on queue: String) throws -> QueueLog {
        try QueueName.validateGroup(name)
        let source = try self.queue(queue)
        return try groupLogs.withLock { (open) throws -> QueueLog in
            let key = queue + "/" + name
            if let existing = open[key] { return existing }
            try checkOpen()
            let fs = options.fileSystem
            let parent = RootLayout.groupsDirectory(in: source.directory)
            let directory = RootLayout.path(parent, name)
            try fs.makeDurableDirectory(parent)
            try fs.makeDurableDirectory(directory)
            // A group's own log is internal: its appends are not enqueues, so it gets no metrics
            // (the group reports its acks, nacks and lag itself).
            var logOptions = Self.groupLogOptions(options)
            logOptions.metricsFactory = nil
            let log = try QueueLog(
                name: RootLayout.groupLogName(queue: queue, group: name), directory: directory, options: logOptions,
                compression: .none)
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
        let parent = RootLayout.groupsDirectory(in: directory(ofQueue: queue))
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
    /// - Parameters:
    ///   - queues: the queues to compact; nil for every queue on disk.
    ///   - progress: called after each batch a rewrite reads, on the calling thread.
    /// - Returns: what it did, per queue; a queue whose compaction failed says why in its
    ///   report (`error`) while the others go on.
    /// - Throws: `.closed` after ``close()``; `.notFound` for a queue in `queues` that does not
    ///   exist (nothing is created); I/O errors listing the queues.
    public func compact(
        queues: [String]? = nil, progress: (@Sendable (CompactionProgress) -> Void)? = nil
    ) throws -> CompactionReport {
        try checkOpen()
        for name in queues ?? [] { try requireQueue(name) }
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
        try options.fileSystem.listDirectory(RootLayout(root: path).queuesDirectory).filter {
            options.fileSystem.fileType(directory(ofQueue: $0)) == .directory
        }.sorted()
    }

    /// Closes every queue (each syncs and records its recovery point) and releases the lock.
    /// Idempotent.
    public func close() {
        isClosed.store(true, ordering: .releasing)
        compactor.stop()
        let compactorThread = background.withLock { b in
            defer { b = nil }
            return b
        }
        compactorThread?.stop()
        let openGroups = groups.withLock { g in
            defer { g.removeAll() }
            return Array(g.values)
        }
        for group in openGroups { group.log.close() }
        let openGroupLogs = groupLogs.withLock { g in
            defer { g.removeAll() }
            return Array(g.values)
        }
        for log in openGroupLogs { log.close() }
        let open = queues.withLock { q in
            defer { q.removeAll() }
            return Array(q.values)
        }
        for log in open { log.close() }
        lock.withLock { l in
            l?.release(fileSystem: options.fileSystem)
            l = nil
        }
    }
}
