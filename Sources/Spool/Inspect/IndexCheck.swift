/// Checks each entry of a segment's indexes against its log, for `spool dump --index`, with
/// Kafka's meaning.
public enum IndexCheck {
    /// What is wrong with each entry of each file (nil: right). Walks batch headers only.
    /// - Throws: I/O errors.
    public static func check(
        _ indexes: IndexEntries, against file: SegmentFile
    ) throws -> (offsets: [String?], times: [String?]) {
        guard let base = file.nameOffset else {
            let reason = "the segment's name is not a base offset; entries cannot be checked"
            return (indexes.offsets.map { _ in reason }, indexes.times.map { _ in reason })
        }
        var check = IndexEntryCheck(base: base, indexes: indexes)
        let end = try file.forEachBatch(decode: false) { entry in
            check.add(entry.header, at: entry.position)
            return true
        }
        return (check.offsetProblems(end: end.position), check.timeProblems())
    }
}
