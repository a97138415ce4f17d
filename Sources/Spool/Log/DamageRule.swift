/// The one rule for what a walk's finding means (FORMAT.md, "Recovery" and "Repair"): the
/// normal end of the data, a torn tail (a write the crash cut short: cut it, nothing
/// acknowledged is lost), corruption (synced bytes went bad: refuse, or salvage on request), a
/// gap that repair accepted (step over it), or a write still in flight (a live writer's tail:
/// not damage yet). Recovery, verify, repair and the reader ask it; none decides by itself.
///
/// It is a table, ``rows``: one row per finding and place, each with a test named after it
/// (`DamageRuleTests`). Stateless; thread-safe.
enum DamageRule {
    /// What a walk found at a position.
    enum Finding: String, CaseIterable, Sendable {
        /// The walk's clean stop: the end of the data, zero-filled space, a recycled end marker.
        case cleanEnd = "clean end"
        /// Bytes that are not a sound batch: a bad or short header, a batch running past the
        /// data, a CRC mismatch, non-zero bytes after the zero-filled space.
        case badBytes = "bad bytes"
        /// A batch or segment starting past the offset expected, with no note from repair.
        case offsetGap = "offset gap"
        /// A gap that `repair` recorded (a `.accepted-gap`, `.lost` or `.broken` file covers it).
        case acceptedGap = "accepted gap"
        /// A batch or segment starting before the offset expected.
        case offsetOverlap = "offset overlap"
    }

    /// Where in the log it was found.
    enum Place: String, CaseIterable, Sendable {
        /// Below the recovery point, or in a sealed segment: these bytes were synced.
        case synced
        /// Past the recovery point of the last segment, with no writer running: a crash may
        /// have torn the write.
        case unsyncedTail = "unsynced tail"
        /// Past the recovery point of the last segment while a writer runs: it may still be
        /// writing there.
        case liveTail = "live tail"
        /// In a file given alone (no recovery point), before the last sound batch: a crash
        /// tears the end of a log, not its middle.
        case looseFileMiddle = "loose file, before sound data"
        /// In a file given alone, with nothing sound after it.
        case looseFileEnd = "loose file, at its end"
    }

    /// What the finding means there.
    enum Verdict: String, Sendable {
        case end
        case tornTail = "torn tail"
        case corruption
        case repairGap = "repair gap"
        case inFlight = "in flight"
    }

    /// The table. A finding not listed for a place means what its `nil`-place row says.
    static let rows: [(finding: Finding, place: Place?, verdict: Verdict)] = [
        (.cleanEnd, nil, .end),
        (.acceptedGap, nil, .repairGap),
        (.badBytes, .synced, .corruption),
        (.badBytes, .unsyncedTail, .tornTail),
        (.badBytes, .liveTail, .inFlight),
        (.badBytes, .looseFileMiddle, .corruption),
        (.badBytes, .looseFileEnd, .tornTail),
        (.offsetGap, .synced, .corruption),
        (.offsetGap, .unsyncedTail, .tornTail),
        (.offsetGap, .liveTail, .inFlight),
        (.offsetGap, .looseFileMiddle, .corruption),
        (.offsetGap, .looseFileEnd, .tornTail),
        (.offsetOverlap, .synced, .corruption),
        (.offsetOverlap, .unsyncedTail, .tornTail),
        (.offsetOverlap, .liveTail, .inFlight),
        (.offsetOverlap, .looseFileMiddle, .corruption),
        (.offsetOverlap, .looseFileEnd, .tornTail),
    ]

    /// The verdict for `finding` at `place`: the row for both, else the finding's row for any
    /// place.
    static func verdict(_ finding: Finding, at place: Place) -> Verdict {
        if let row = rows.first(where: { $0.finding == finding && $0.place == place }) { return row.verdict }
        guard let row = rows.first(where: { $0.finding == finding && $0.place == nil }) else {
            preconditionFailure("DamageRule.rows has no row for \(finding) at \(place)")
        }
        return row.verdict
    }

    /// The place of `position` in a segment, from what the caller knows of it.
    /// - Parameters:
    ///   - tailStart: where the unsynced tail starts in this segment (its recovery point), or
    ///     nil when all of it was synced (a sealed segment).
    ///   - live: whether a writer holds the log now.
    ///   - looseFile: whether the file was given alone, with no recovery point;
    ///     `lastSoundEnd` is then the end of its last sound batch.
    static func place(
        of position: Int64, tailStart: Int64?, live: Bool, looseFile: Bool = false, lastSoundEnd: Int64 = 0
    ) -> Place {
        let pastTailStart = tailStart.map { position >= $0 } ?? false
        if live && pastTailStart { return .liveTail }
        if looseFile { return position < lastSoundEnd ? .looseFileMiddle : .looseFileEnd }
        return pastTailStart ? .unsyncedTail : .synced
    }

    /// The finding when a segment (or batch) starts at `base` where `expected` was due: nil
    /// when they agree; `accepted` is asked only for a gap, whether repair recorded it.
    static func segmentStart(_ base: Int64, expected: Int64, accepted: () -> Bool) -> Finding? {
        if base == expected { return nil }
        if base < expected { return .offsetOverlap }
        return accepted() ? .acceptedGap : .offsetGap
    }
}
