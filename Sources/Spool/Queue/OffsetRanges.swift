/// The acknowledged offsets of a consumer group: a low watermark (every offset below it is
/// acked) plus sorted, disjoint, non-adjacent ranges of acked offsets above it. Acks may arrive
/// in any order; in-order acks keep the ranges empty.
///
/// A value type; not thread-safe by itself (``ConsumerGroup`` guards it).
struct OffsetRanges: Equatable, Sendable {
    /// Every offset below this is acknowledged.
    private(set) var watermark: Int64
    /// Half-open ranges [lower, upper), all above `watermark + 1` apart from it.
    private(set) var ranges: [Range<Int64>] = []

    init(watermark: Int64) {
        self.watermark = watermark
    }

    func contains(_ offset: Int64) -> Bool {
        if offset < watermark { return true }
        let i = firstIndex(notBelow: offset)
        return i < ranges.count && ranges[i].contains(offset)
    }

    /// Index of the first range whose upper bound is above `offset`.
    private func firstIndex(notBelow offset: Int64) -> Int {
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Marks [range) acknowledged; merges neighbours and advances the watermark.
    mutating func insert(_ range: Range<Int64>) {
        guard !range.isEmpty, range.upperBound > watermark else { return }
        var new = max(range.lowerBound, watermark)..<range.upperBound
        let i = firstIndex(notBelow: new.lowerBound - 1)
        // Absorb every range that overlaps or touches `new`.
        while i < ranges.count && ranges[i].lowerBound <= new.upperBound {
            new = min(new.lowerBound, ranges[i].lowerBound)..<max(new.upperBound, ranges[i].upperBound)
            ranges.remove(at: i)
        }
        ranges.insert(new, at: i)
        if let first = ranges.first, first.lowerBound <= watermark {
            watermark = first.upperBound
            ranges.removeFirst()
        }
    }

    mutating func insert(_ offset: Int64) { insert(offset..<(offset + 1)) }

    /// Acked offsets at or above the watermark.
    var ackedAboveWatermark: Int64 { ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }
}
