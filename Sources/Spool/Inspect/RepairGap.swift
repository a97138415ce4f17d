/// The one gap in a log's offsets that is not corruption: records `spool repair` cut or set
/// aside, keeping them in a file (FORMAT.md, "Repair"). Readers read past such a gap and
/// `spool verify` notes it; any other gap is a segment cut short.
enum RepairGap {
    /// The name of the file repair kept for offsets missing from `gapStart` on, after the
    /// segment based at `previousBase`: a quarantined segment that started at `gapStart`, or
    /// the `.broken` bytes cut from the previous segment. Nil when `names` (a directory's
    /// listing) holds neither.
    static func keptFile(among names: [String], gapStart: Int64, previousBase: Int64) -> String? {
        let quarantined = SegmentName.stem(gapStart) + SegmentName.logSuffix + Repairer.quarantineSuffix
        if names.contains(quarantined) { return quarantined }
        let lost = SegmentName.stem(gapStart) + SegmentName.lostSuffix
        if names.contains(lost) { return lost }
        let stem = SegmentName.stem(previousBase) + "."
        return names.first { $0.hasPrefix(stem) && $0.hasSuffix(SegmentName.brokenSuffix) }
    }
}
