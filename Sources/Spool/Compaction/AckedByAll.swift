/// The offsets every consumer group of a queue has acknowledged: the intersection of the
/// groups' acked sets (each a watermark plus ranges). Records in it are dead for the queue;
/// the compactor drops them. With no group, nothing is acked.
///
/// A value type; thread-safe to share.
struct AckedByAll: Sendable {
    let groups: [OffsetRanges]

    /// The lowest watermark: every offset below it is acked by every group (0 with no group).
    var watermark: Int64 { groups.map(\.watermark).min() ?? 0 }

    func contains(_ offset: Int64) -> Bool {
        !groups.isEmpty && groups.allSatisfy { $0.contains(offset) }
    }

    /// How many offsets in `range` every group has acked.
    func count(in range: Range<Int64>) -> Int64 {
        guard !groups.isEmpty, !range.isEmpty else { return 0 }
        var common = Self.intervals(groups[0], within: range)
        for group in groups.dropFirst() {
            common = Self.intersect(common, Self.intervals(group, within: range))
            if common.isEmpty { return 0 }
        }
        return common.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) }
    }

    /// A group's acked offsets within `range`, as sorted disjoint intervals.
    static func intervals(_ acked: OffsetRanges, within range: Range<Int64>) -> [Range<Int64>] {
        var out: [Range<Int64>] = []
        if acked.watermark > range.lowerBound { out.append(range.lowerBound..<min(acked.watermark, range.upperBound)) }
        return out + acked.ranges(overlapping: range)
    }

    /// The intersection of two sorted lists of disjoint intervals (linear merge).
    static func intersect(_ a: [Range<Int64>], _ b: [Range<Int64>]) -> [Range<Int64>] {
        var out: [Range<Int64>] = []
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            let low = max(a[i].lowerBound, b[j].lowerBound)
            let high = min(a[i].upperBound, b[j].upperBound)
            if low < high { out.append(low..<high) }
            if a[i].upperBound < b[j].upperBound { i += 1 } else { j += 1 }
        }
        return out
    }
}
