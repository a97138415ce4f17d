/// Segment and index file names: the segment's base offset as 20 decimal digits, zero-padded,
/// then `.log`, `.index` or `.timeindex` (FORMAT.md, "Files of a queue").
enum SegmentName {
    static let digits = 20

    /// "00000000000000001000" for 1000.
    static func stem(_ baseOffset: Int64) -> String {
        precondition(baseOffset >= 0)
        let text = String(baseOffset)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The base offset in a `.log` file name, or nil when the name is not 20 digits + ".log".
    static func parseLog(_ name: String) -> Int64? {
        guard name.hasSuffix(RootLayout.logSuffix) else { return nil }
        let stem = name.dropLast(RootLayout.logSuffix.count)
        guard stem.utf8.count == digits, stem.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(stem)
    }
}
