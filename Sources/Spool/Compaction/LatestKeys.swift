import SpoolFormat

/// For key compaction: the offset of the latest record of each key in a log, so that older
/// records of the same key can be dropped (Kafka's "latest record per key wins").
///
/// Built by reading the log from its start to its committed end; bounded by
/// ``SpoolOptions/keyCompactionKeysMax`` distinct keys (past it, the pass does no key
/// compaction rather than use unbounded memory). A value type, used by one pass.
struct LatestKeys {
    private(set) var latest: [[UInt8]: Int64] = [:]

    /// Reads `log` from its start. Returns nil when it holds more distinct keys than `keysMax`.
    /// - Parameter onRead: told each batch's record count; returns false to stop (then nil).
    /// - Throws: read errors (`.corruption` naming the batch).
    static func build(_ log: QueueLog, keysMax: Int, onRead: (Int64) -> Bool) throws -> LatestKeys? {
        var keys = LatestKeys()
        var reader = log.reader(from: log.firstOffset)
        while let batch = try reader.nextBatch() {
            for record in batch.records {
                guard let key = record.key else { continue }
                keys.latest[key] = record.offset
                if keys.latest.count > keysMax { return nil }
            }
            guard onRead(Int64(batch.records.count)) else { return nil }
        }
        return keys
    }

    /// Whether a later record has the same key as `record`.
    func isSuperseded(_ record: Record) -> Bool {
        guard let key = record.key, let last = latest[key] else { return false }
        return last > record.offset
    }
}
