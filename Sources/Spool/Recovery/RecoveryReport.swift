/// What opening a queue did to bring it back: how much it scanned and what it cut.
public struct RecoveryReport: Sendable, Equatable {
    /// Wall time from the start of recovery to a writable log, in seconds.
    public var seconds: Double = 0
    public var segments: Int = 0
    public var segmentsScanned: Int = 0
    public var bytesScanned: Int64 = 0
    /// Bytes cut from a torn tail (kept in `brokenFiles`).
    public var bytesTruncated: Int64 = 0
    public var brokenFiles: [String] = []
    /// Leftover temp files of interrupted atomic writes that were removed.
    public var removedTemporaryFiles: [String] = []
    /// What open did about an interrupted compaction (``CompactionLeftovers/Action``), in words.
    public var compactionLeftovers: [String] = []
    /// Indexes rebuilt because they were missing, short or inconsistent.
    public var indexesRebuilt: Int = 0
    /// Whether the recovery point file was missing or unreadable (the scan then started at the
    /// active segment's beginning).
    public var recoveryPointMissing: Bool = false
    public var nextOffset: Int64 = 0
    public var firstOffset: Int64 = 0
}
