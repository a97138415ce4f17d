/// Every path and file name under a Spool root (FORMAT.md, "Files of a queue"): the one place
/// where a path is made, so that a rule such as where a group's log lives is written once.
/// The segment-name rule itself (20 digits, parsing) is `SegmentName`'s.
///
/// ```
/// <root>/spool.lock
/// <root>/queues/<queue>/<segment files, recovery-point>
/// <root>/queues/<queue>/groups/<group>/<segment files, checkpoint, checkpoint.old>
/// <root>/queues/<queue>/dictionaries/<id>.zdict, current
/// ```
///
/// A value type holding the root's path; stateless otherwise. Thread-safe.
public struct RootLayout: Sendable, Equatable {
    /// The root directory.
    public let root: String

    public init(root: String) { self.root = root }

    // MARK: Names (FORMAT.md, "Files of a queue")

    public static let lockFileName = "spool.lock"
    public static let queuesDirectoryName = "queues"
    public static let groupsDirectoryName = "groups"
    public static let dictionariesDirectoryName = "dictionaries"
    /// A log's recovery point, in its directory (FORMAT.md, "Recovery point").
    public static let recoveryPointFileName = "recovery-point"
    /// A group's checkpoint and the one before it (FORMAT.md, "Group checkpoint").
    public static let checkpointFileName = "checkpoint"
    public static let oldCheckpointFileName = "checkpoint.old"

    // MARK: Suffixes

    public static let logSuffix = ".log"
    public static let indexSuffix = ".index"
    public static let timeIndexSuffix = ".timeindex"
    /// Bytes cut from a segment, kept (FORMAT.md, "Recovery", "Repair").
    public static let brokenSuffix = ".broken"
    /// `<gap start stem>.lost`: offsets lost for good, which the log's next offset moved past
    /// (FORMAT.md, "Repair").
    public static let lostSuffix = ".lost"
    /// `<gap start stem>.accepted-gap`: a gap whose loss an operator accepted.
    public static let acceptedGapSuffix = ".accepted-gap"
    /// A segment repair renamed aside.
    public static let quarantineSuffix = ".quarantined"
    /// A deleted segment kept for reuse (FORMAT.md, "Recycled segments").
    public static let spareSuffix = ".log.spare"
    /// A compaction's rewrite while it is written, and while it is made live (FORMAT.md,
    /// "Compaction").
    public static let cleanedSuffix = ".log.cleaned"
    public static let swapSuffix = ".log.swap"
    /// An atomic file's temporary name (FORMAT.md, "Atomic files").
    public static let temporarySuffix = ".tmp"

    // MARK: Paths

    public var lockFile: String { Self.path(root, Self.lockFileName) }
    public var queuesDirectory: String { Self.path(root, Self.queuesDirectoryName) }
    public func queueDirectory(_ queue: String) -> String { Self.path(queuesDirectory, queue) }
    public func groupsDirectory(ofQueue queue: String) -> String { Self.groupsDirectory(in: queueDirectory(queue)) }
    public func groupDirectory(queue: String, group: String) -> String {
        Self.path(groupsDirectory(ofQueue: queue), group)
    }

    /// `<queue directory>/groups`.
    public static func groupsDirectory(in queueDirectory: String) -> String {
        path(queueDirectory, groupsDirectoryName)
    }
    /// `<queue directory>/dictionaries`.
    public static func dictionariesDirectory(in queueDirectory: String) -> String {
        path(queueDirectory, dictionariesDirectoryName)
    }
    /// A group log's name in logs and metrics: `<queue>/groups/<group>`.
    public static func groupLogName(queue: String, group: String) -> String {
        queue + "/" + groupsDirectoryName + "/" + group
    }
    /// `<directory>/<base as 20 digits><suffix>`: a segment's `.log`, `.index` or `.timeindex`.
    static func segmentFile(in directory: String, base: Int64, suffix: String) -> String {
        path(directory, SegmentName.stem(base) + suffix)
    }
    /// `<directory>/<name>`: the one join of a directory and a name.
    public static func path(_ directory: String, _ name: String) -> String { directory + "/" + name }
}
