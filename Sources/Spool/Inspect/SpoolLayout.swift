/// Finds segment files under a path given to an inspection command: a root (with `queues/`),
/// a queue directory, or a single segment file.
public enum SpoolLayout {
    public struct SegmentPath: Sendable, Equatable {
        /// The queue's name when the path is inside a root or queue directory.
        public var queue: String?
        public var path: String
        public var baseOffset: Int64?
    }

    /// Segment files under `path`, in queue then offset order.
    /// - Throws: `.notFound` when nothing is at `path`; `.invalidArgument` when a directory holds
    ///   neither `queues/` nor segments.
    public static func segments(at path: String, fileSystem fs: any FileSystem = PosixFileSystem()) throws -> [SegmentPath] {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        switch fs.fileType(path) {
        case .missing:
            throw SpoolError(.notFound, "no such file or directory", path: path, hint: "check the path, or pass --dir")
        case .regular, .other:
            let name = path.split(separator: "/").last.map(String.init) ?? path
            return [SegmentPath(queue: nil, path: path, baseOffset: SegmentName.parseLog(name))]
        case .directory:
            if fs.fileType(path + "/queues") == .directory {
                var all: [SegmentPath] = []
                for queue in try fs.listDirectory(path + "/queues").sorted() where fs.fileType(path + "/queues/" + queue) == .directory {
                    all += try queueSegments(path + "/queues/" + queue, queue: queue, fileSystem: fs)
                }
                return all
            }
            let found = try queueSegments(path, queue: path.split(separator: "/").last.map(String.init), fileSystem: fs)
            if found.isEmpty {
                throw SpoolError(.invalidArgument, "neither a Spool root (no queues/) nor a queue directory (no .log files)", path: path)
            }
            return found
        }
    }

    static func queueSegments(_ directory: String, queue: String?, fileSystem fs: any FileSystem) throws -> [SegmentPath] {
        try fs.listDirectory(directory)
            .filter { $0.hasSuffix(SegmentName.logSuffix) }
            .map { SegmentPath(queue: queue, path: directory + "/" + $0, baseOffset: SegmentName.parseLog($0)) }
            .sorted { ($0.baseOffset ?? .max, $0.path) < ($1.baseOffset ?? .max, $1.path) }
    }
}
