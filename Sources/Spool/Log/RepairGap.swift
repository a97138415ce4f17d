/// The one gap in a log's offsets that is not corruption: records `spool repair` cut or set
/// aside, keeping them in a file, or a gap the operator accepted as lost with `spool repair
/// --accept-gap`, which records the decision in `<stem of the gap's first offset>.accepted-gap`
/// (FORMAT.md, "Repair"). Readers read past such a gap and `spool verify` notes it; any other
/// gap is a segment cut short.
enum RepairGap {
    /// The name of the file repair kept for offsets missing from `gapStart` on, after the
    /// segment based at `previousBase`: a quarantined segment that started at `gapStart`, or
    /// the `.broken` bytes cut from the previous segment. Nil when `names` (a directory's
    /// listing) holds neither.
    static func keptFile(among names: [String], gapStart: Int64, previousBase: Int64) -> String? {
        let accepted = acceptedFileName(gapStart: gapStart)
        if names.contains(accepted) { return accepted }
        let quarantined = SegmentName.stem(gapStart) + RootLayout.logSuffix + RootLayout.quarantineSuffix
        if names.contains(quarantined) { return quarantined }
        let lost = SegmentName.stem(gapStart) + RootLayout.lostSuffix
        if names.contains(lost) { return lost }
        let stem = SegmentName.stem(previousBase) + "."
        return names.first { $0.hasPrefix(stem) && $0.hasSuffix(RootLayout.brokenSuffix) }
    }

    /// The name of the file recording that the gap from `gapStart` on was accepted.
    static func acceptedFileName(gapStart: Int64) -> String {
        SegmentName.stem(gapStart) + RootLayout.acceptedGapSuffix
    }

    /// The text of that file: what was lost and who decided (for the operator reading it).
    static func acceptedText(gapStart: Int64, gapEnd: Int64, wallMilliseconds: Int64) -> [UInt8] {
        Array(
            "offsets \(gapStart)-\(gapEnd - 1) (\(gapEnd - gapStart) records) accepted as lost by a repair that accepts gaps at \(wallMilliseconds) ms since the epoch\n"
                .utf8)
    }
}
