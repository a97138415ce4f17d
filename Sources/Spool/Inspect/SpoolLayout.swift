import Glibc

/// Finds the logs and segment files under a path given to an inspection command: a root (with
/// `queues/`), a queue directory, a group directory, or a single segment file. Read-only.
public enum SpoolLayout {
    public struct SegmentPath: Sendable, Equatable {
        /// The queue's name when the path is inside a root or queue directory.
        public var queue: String?
        public var path: String
        public var baseOffset: Int64?
    }

    /// One log found under a path: a queue's, a consumer group's, or a lone segment file.
    public struct Log: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            case queue, group
            /// A segment file given alone: no recovery point, no neighbours.
            case file
        }
        public var kind: Kind
        /// "emails", "emails/groups/workers", or the file's path.
        public var name: String
        public var queue: String?
        public var group: String?
        /// The log's directory; nil for a lone file.
        public var directory: String?
        /// Segments in offset order (unparseable names last).
        public var segments: [SegmentPath]
        /// Names in the directory that are neither segments, their indexes, the recovery point,
        /// a group's checkpoints, nor the groups folder (temp files, `.broken` copies, leftovers of a compaction).
        public var otherFiles: [String]
        /// The root directory holding the log, when the path shows one (for the writer lock).
        public var root: String?
    }

    /// Segment files under `path`, in queue then offset order (queues only, not groups).
    /// - Throws: as ``logs(at:fileSystem:)``.
    public static func segments(
        at path: String, fileSystem fs: any FileSystem = PosixFileSystem()
    ) throws -> [SegmentPath] {
        try logs(at: path, fileSystem: fs).filter { $0.kind != .group }.flatMap(\.segments)
    }

    /// The logs under `path`: for a root, each queue then its groups; for a queue directory,
    /// the queue and its groups; for a group directory, the group; for a file, the file.
    /// - Throws: `.notFound` when nothing is at `path`; `.invalidArgument` when a directory holds
    ///   no log; `.io` when a directory cannot be listed.
    public static func logs(at path: String, fileSystem fs: any FileSystem = PosixFileSystem()) throws -> [Log] {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        switch fs.fileType(path) {
        case .missing:
            throw SpoolError(.notFound, "no such file or directory", path: path, hint: "check the path of the root")
        case .regular, .other:
            let name = path.split(separator: "/").last.map(String.init) ?? path
            let segment = SegmentPath(queue: nil, path: path, baseOffset: SegmentName.parseLog(name))
            return [Log(kind: .file, name: path, directory: nil, segments: [segment], otherFiles: [], root: nil)]
        case .directory:
            // not followed: ``foreignEntries(under:)`` names it
            if isSymlink(RootLayout(root: path).queuesDirectory) { return [] }
            if fs.fileType(RootLayout(root: path).queuesDirectory) == .directory {
                var all: [Log] = []
                for queue in try fs.listDirectory(RootLayout(root: path).queuesDirectory).sorted()
                where isRealDirectory(RootLayout(root: path).queueDirectory(queue), fs) {
                    all += try queueLogs(
                        RootLayout(root: path).queueDirectory(queue), queue: queue, root: path, fileSystem: fs)
                }
                return all
            }
            let components = path.split(separator: "/").map(String.init)
            let last = components.last ?? path
            if components.count >= 3 && components[components.count - 2] == RootLayout.groupsDirectoryName {
                let queue = components[components.count - 3]
                let root =
                    components.count >= 5 && components[components.count - 4] == RootLayout.queuesDirectoryName
                    ? rootPath(path, droppingComponents: 5) : nil
                let log = try log(
                    path, kind: .group, name: RootLayout.groupLogName(queue: queue, group: last), queue: queue,
                    group: last, root: root, fileSystem: fs)
                if log.segments.isEmpty && !hasRecoveryPoint(path, fs) { throw notALog(path) }
                return [log]
            }
            let root =
                components.count >= 2 && components[components.count - 2] == RootLayout.queuesDirectoryName
                ? rootPath(path, droppingComponents: 2) : nil
            let found = try queueLogs(path, queue: last, root: root, fileSystem: fs)
            if found.allSatisfy({ $0.segments.isEmpty }) && !hasRecoveryPoint(path, fs) { throw notALog(path) }
            return found
        }
    }

    private static func notALog(_ path: String) -> SpoolError {
        SpoolError(
            .invalidArgument, "neither a Spool root (no queues/) nor a queue or group directory (no .log files)",
            path: path,
            hint: "pass a root, a queue directory (<root>/queues/<name>) or a .log file")
    }

    private static func hasRecoveryPoint(_ directory: String, _ fs: any FileSystem) -> Bool {
        fs.fileType(RootLayout.path(directory, RootLayout.recoveryPointFileName)) == .regular
    }

    private static func rootPath(_ path: String, droppingComponents n: Int) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(n)
        let joined = parts.joined(separator: "/")
        return joined.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : joined
    }

    static func queueLogs(
        _ directory: String, queue: String, root: String?, fileSystem fs: any FileSystem
    ) throws -> [Log] {
        var logs = [try log(directory, kind: .queue, name: queue, queue: queue, group: nil, root: root, fileSystem: fs)]
        let groups = RootLayout.groupsDirectory(in: directory)
        if isRealDirectory(groups, fs) {
            for group in try fs.listDirectory(groups).sorted() where isRealDirectory(RootLayout.path(groups, group), fs)
            {
                logs.append(
                    try log(
                        RootLayout.path(groups, group), kind: .group,
                        name: RootLayout.groupLogName(queue: queue, group: group), queue: queue, group: group,
                        root: root, fileSystem: fs))
            }
        }
        return logs
    }

    static func log(
        _ directory: String, kind: Log.Kind, name: String, queue: String?, group: String?, root: String?,
        fileSystem fs: any FileSystem
    ) throws -> Log {
        let names: [String]
        do { names = try fs.listDirectory(directory) } catch { throw error.with(path: directory) }
        var segments: [SegmentPath] = []
        var other: [String] = []
        // Links, FIFOs and devices are never segments: ``foreignEntries(under:)`` names them.
        for file in names where !isForeign(RootLayout.path(directory, file)) {
            if file.hasSuffix(RootLayout.logSuffix) && fs.fileType(RootLayout.path(directory, file)) == .directory {
                other.append(file)  // not a segment: verify reports it as such, not as a gap
            } else if file.hasSuffix(RootLayout.logSuffix) {
                segments.append(
                    SegmentPath(
                        queue: queue, path: RootLayout.path(directory, file), baseOffset: SegmentName.parseLog(file)))
            } else if isKnown(file) || (kind == .group && GroupCheckpointStore.isCheckpointFile(file)) {
                continue
            } else {
                other.append(file)
            }
        }
        segments.sort { ($0.baseOffset ?? .max, $0.path) < ($1.baseOffset ?? .max, $1.path) }
        return Log(
            kind: kind, name: name, queue: queue, group: group, directory: directory, segments: segments,
            otherFiles: other.sorted(), root: root)
    }

    /// A directory that is not reached through a symbolic link at its last name.
    private static func isRealDirectory(_ path: String, _ fs: any FileSystem) -> Bool {
        fs.fileType(path) == .directory && !isSymlink(path)
    }

    /// Whether `path` itself is a symbolic link (lstat).
    static func isSymlink(_ path: String) -> Bool { PosixFileSystem.isSymlink(path) }

    /// The symbolic links among ``foreignEntries(under:limit:)``. Read-only; thread-safe.
    public static func symbolicLinks(under path: String, limit: Int = 1_000_000) -> [String] {
        foreignEntries(under: path, limit: limit).filter(\.isSymbolicLink).map(\.path)
    }

    /// An index of a segment, the recovery point, or the groups folder.
    private static func isKnown(_ file: String) -> Bool {
        if file == RootLayout.recoveryPointFileName || file == RootLayout.groupsDirectoryName { return true }
        for suffix in [RootLayout.indexSuffix, RootLayout.timeIndexSuffix] where file.hasSuffix(suffix) {
            return SegmentName.parseLog(String(file.dropLast(suffix.count)) + RootLayout.logSuffix) != nil
        }
        return false
    }
}
