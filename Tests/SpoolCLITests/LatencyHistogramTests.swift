@testable import SpoolCLI
import Testing

@Suite("latency histogram")
struct LatencyHistogramTests {
    /// qbench's nearest rank over sorted values: rank round(p × (n − 1)).
    static func exact(_ sorted: [UInt64], _ p: Double) -> Double {
        Double(sorted[min(Int(p * Double(sorted.count - 1) + 0.5), sorted.count - 1)]) / 1e9
    }

    @Test("HdrHistogram percentiles are within 0.2% of the exact nearest-rank values, merged or not")
    func percentilesAreClose() {
        var whole = LatencyHistogram(), first = LatencyHistogram(), second = LatencyHistogram()
        var values: [UInt64] = []
        for i in 1...100_000 {
            let nanoseconds = UInt64(i) * 37 % 5_000_000 + 1_000
            whole.add(nanoseconds: nanoseconds)
            if i % 2 == 0 { first.add(nanoseconds: nanoseconds) } else { second.add(nanoseconds: nanoseconds) }
            values.append(nanoseconds)
        }
        first.merge(second)
        values.sort()
        for p in [0.5, 0.9, 0.99, 0.999] {
            let value = Self.exact(values, p)
            for histogram in [whole, first] {
                #expect(abs(histogram.percentile(p) - value) / value < 0.002, "p\(p): \(histogram.percentile(p)) vs \(value)")
            }
        }
        #expect(whole.total == 100_000 && first.total == 100_000)
        #expect(abs(whole.maximum - Double(values.last!) / 1e9) / whole.maximum < 0.002)
        #expect(LatencyHistogram().percentile(0.99) == 0)
    }

    @Test("a latency beyond an hour is kept as an hour, not dropped")
    func hugeLatencyIsClamped() {
        var histogram = LatencyHistogram()
        histogram.add(nanoseconds: UInt64.max)
        histogram.add(nanoseconds: 0)
        #expect(histogram.total == 2)
        #expect(histogram.maximum >= 3_599)
    }

    @Test("the qbench summary reports samples and percentiles in microseconds")
    func qbenchSummary() {
        var samples = LatencySamples()
        for i in 1...1_000 { samples.add(Double(i) * 1e-6) }
        let summary = samples.summary()
        #expect(summary.count == 1_000)
        #expect(abs(summary.p50 * 1e6 - 500) <= 1 && abs(summary.p99 * 1e6 - 990) <= 1)
        var line = JSONLine()
        summary.add(to: &line)
        #expect(line.text.contains(#""lat_samples":1000"#) && line.text.contains(#""p50_us":"#))
    }
}
