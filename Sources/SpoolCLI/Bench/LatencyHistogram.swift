import Histogram

/// Latencies in bounded memory, for runs too long to keep every sample (W11's soak, W9's
/// million hand-offs): an HdrHistogram of nanoseconds with three significant digits (relative
/// error under 0.1%) from 1 ns to one hour. Values above an hour are recorded as an hour.
/// A value type: each thread keeps its own and they are merged at the end.
struct LatencyHistogram: Sendable {
    /// One hour in nanoseconds: the largest latency kept apart from the others.
    static let highestNanoseconds: UInt64 = 3_600_000_000_000
    private var histogram = Histogram<UInt64>(
        highestTrackableValue: highestNanoseconds, numberOfSignificantValueDigits: .three)

    var total: Int { Int(histogram.totalCount) }

    mutating func add(nanoseconds: UInt64) {
        _ = histogram.record(min(max(nanoseconds, 1), Self.highestNanoseconds))
    }

    mutating func merge(_ other: LatencyHistogram) {
        for bucket in other.histogram.recordedValues() {
            _ = histogram.record(bucket.value, count: bucket.count)
        }
    }

    /// Seconds at percentile `p` (0...1), HdrHistogram's value at that percentile; 0 when empty.
    func percentile(_ p: Double) -> Double {
        guard total > 0 else { return 0 }
        return Double(histogram.valueAtPercentile(p * 100)) / 1e9
    }

    /// Largest recorded latency in seconds.
    var maximum: Double { total > 0 ? Double(histogram.max) / 1e9 : 0 }
}
