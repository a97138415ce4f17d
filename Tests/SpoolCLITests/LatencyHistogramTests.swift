@testable import SpoolCLI
import Testing

@Suite("latency histogram")
struct LatencyHistogramTests {
    @Test("percentiles of a bounded histogram are within 2% of the exact nearest-rank values")
    func percentilesAreClose() {
        var histogram = LatencyHistogram()
        var exact = LatencySamples()
        for i in 1...100_000 {
            let nanoseconds = UInt64(i) * 37 % 5_000_000 + 1_000
            histogram.add(nanoseconds: nanoseconds)
            exact.add(Double(nanoseconds) / 1e9)
        }
        let summary = exact.summary()
        for (p, value) in [(0.5, summary.p50), (0.9, summary.p90), (0.99, summary.p99), (0.999, summary.p999)] {
            let estimate = histogram.percentile(p)
            #expect(abs(estimate - value) / value < 0.02, "p\(p): \(estimate) vs \(value)")
        }
        #expect(histogram.total == 100_000)
        #expect(LatencyHistogram().percentile(0.99) == 0)
    }
}
