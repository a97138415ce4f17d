/// Latencies in bounded memory, for runs too long to keep every sample (W11's soak): buckets of
/// 1/64 of each power of two of nanoseconds (relative error under 1.6%), up to 2^40 ns (~18 min).
/// Percentiles are the bucket's upper edge at the same nearest rank as ``LatencySamples``.
struct LatencyHistogram: Sendable {
    private static let subBuckets = 64
    private static let magnitudes = 41
    private var counts = [Int](repeating: 0, count: subBuckets * magnitudes)
    private(set) var total = 0

    private static func index(_ nanoseconds: UInt64) -> Int {
        let value = max(nanoseconds, 1)
        let magnitude = min(63 - value.leadingZeroBitCount, magnitudes - 1)
        let shift = max(magnitude - 6, 0)
        let sub = magnitude < 6 ? Int(value) % subBuckets : Int((value >> UInt64(shift)) & 63)
        return magnitude * subBuckets + sub
    }

    private static func upperEdge(_ index: Int) -> Double {
        let magnitude = index / subBuckets, sub = index % subBuckets
        if magnitude < 6 { return Double(sub) }
        let shift = magnitude - 6
        return Double((UInt64(64 + sub) << UInt64(shift)) + (UInt64(1) << UInt64(shift)) - 1)
    }

    mutating func add(nanoseconds: UInt64) {
        counts[Self.index(nanoseconds)] += 1
        total += 1
    }

    mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        total += other.total
    }

    /// Seconds at rank round(p × (total − 1)).
    func percentile(_ p: Double) -> Double {
        guard total > 0 else { return 0 }
        let rank = min(Int(p * Double(total - 1) + 0.5), total - 1)
        var seen = 0
        for (i, n) in counts.enumerated() where n > 0 {
            seen += n
            if seen > rank { return Self.upperEdge(i) / 1e9 }
        }
        return 0
    }
}
