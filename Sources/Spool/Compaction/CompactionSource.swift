/// What the compactor needs of a root, and nothing more: the logs and group logs it works
/// on, by name, and the options they were opened with. The maintenance floor sees the root
/// through this (``SpoolRoot`` conforms), so the compactor cannot reach anything else of it.
///
/// Implementations must be thread-safe: a background pass calls them from its own thread.
protocol CompactionSource: Sendable {
    /// The root's directory (for its compaction reserve).
    var path: String { get }
    var options: SpoolOptions { get }
    /// The queues on disk.
    /// - Throws: `.io` naming the directory.
    func queueNames() throws -> [String]
    /// The open log of queue `name`, opened if it is not yet.
    /// - Throws: as ``SpoolRoot/queue(_:compression:)``.
    func queue(_ name: String, compression: Compression?) throws -> QueueLog
    /// The consumer groups of `queue` on disk.
    /// - Throws: `.io` naming the directory.
    func groupNames(of queue: String) throws -> [String]
    /// The open log of group `name` on `queue`.
    /// - Throws: as opening a log.
    func groupLog(_ name: String, on queue: String) throws -> QueueLog
}
