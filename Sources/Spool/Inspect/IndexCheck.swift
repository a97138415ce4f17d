/// Checks each entry of a segment's indexes against its log, for `spool dump --index`: an
/// offset-index entry must point at the start of a batch with the offset it claims; the
/// time-index entry beside it must name the same offset, and its timestamp must be at least
/// every record timestamp before that batch (FORMAT.md, "Time index").
public enum IndexCheck {
    /// One result per entry (the longer of the two files): nil when the entry is right, or
    /// what is wrong with it. Walks batch headers and CRCs only.
    /// - Throws: I/O errors.
    public static func check(_ indexes: IndexEntries, against file: SegmentFile) throws -> [String?] {
        let count = max(indexes.offsets.count, indexes.times.count)
        var results = [String?](repeating: nil, count: count)
        guard let base = file.nameOffset else {
            return results.map { _ in "the segment's name is not a base offset; entries cannot be checked" }
        }
        // position -> (batch offset, greatest timestamp before it)
        var wanted: [Int64: Int] = [:]
        for (i, e) in indexes.offsets.enumerated() { wanted[Int64(e.position)] = i }
        var seen: [Int: (offset: Int64, maxBefore: Int64)] = [:]
        var maxTimestamp = Int64.min
        let end = try file.forEachBatch(decode: false) { entry in
            if let i = wanted[entry.position] { seen[i] = (entry.header.baseOffset, maxTimestamp) }
            maxTimestamp = max(maxTimestamp, entry.header.maxTimestamp)
            return true
        }
        var previous: (UInt32, UInt32) = (0, 0)
        for i in 0..<count {
            var problems: [String] = []
            if i < indexes.offsets.count {
                let e = indexes.offsets[i]
                if e.relativeOffset <= previous.0 || e.position <= previous.1 { problems.append("not after the entry before it") }
                previous = (e.relativeOffset, e.position)
                if let found = seen[i] {
                    if found.offset != base + Int64(e.relativeOffset) {
                        problems.append("the batch at position \(e.position) starts at offset \(found.offset), not \(base + Int64(e.relativeOffset))")
                    }
                } else if Int64(e.position) >= end.position {
                    problems.append("position \(e.position) is past the last batch (\(end.position))")
                } else {
                    problems.append("position \(e.position) is not the start of a batch")
                }
            } else {
                problems.append("the offset index has no entry \(i)")
            }
            if i < indexes.times.count {
                let t = indexes.times[i]
                if i < indexes.offsets.count && t.relativeOffset != indexes.offsets[i].relativeOffset {
                    problems.append("time entry is for offset \(base + Int64(t.relativeOffset)), offset entry for \(base + Int64(indexes.offsets[i].relativeOffset))")
                } else if let found = seen[i], found.maxBefore != .min, t.timestamp < found.maxBefore {
                    problems.append("timestamp \(t.timestamp) is below a record before it (\(found.maxBefore))")
                }
            } else {
                problems.append("the time index has no entry \(i)")
            }
            results[i] = problems.isEmpty ? nil : problems.joined(separator: "; ")
        }
        return results
    }
}
