/// Latency samples in seconds for the qbench-compatible workloads, summarised with the same
/// fields as the peers' qbench.c (`lat_samples`, `p50_us` … `max_us`). Recorded in an
/// HdrHistogram (``LatencyHistogram``), so memory stays bounded however long a run is and
/// percentiles are within 0.1% of qbench's exact nearest-rank values.
struct LatencySamples: Sendable {
    private var histogram = LatencyHistogram()

    var count: Int { histogram.total }
    mutating func add(_ seconds: Double) { histogram.add(nanoseconds: UInt64(max(seconds, 0) * 1e9)) }
    mutating func merge(_ other: LatencySamples) { histogram.merge(other.histogram) }

    func summary() -> Summary {
        Summary(
            count: count, p50: histogram.percentile(0.5), p90: histogram.percentile(0.9),
            p99: histogram.percentile(0.99),
            p999: histogram.percentile(0.999), max: histogram.maximum)
    }

    struct Summary {
        var count: Int
        var p50, p90, p99, p999, max: Double

        /// Adds the qbench fields (microseconds, one decimal).
        func add(to line: inout JSONLine) {
            line.add("lat_samples", count)
            line.add("p50_us", p50 * 1e6, decimals: 1)
            line.add("p90_us", p90 * 1e6, decimals: 1)
            line.add("p99_us", p99 * 1e6, decimals: 1)
            line.add("p999_us", p999 * 1e6, decimals: 1)
            line.add("max_us", max * 1e6, decimals: 1)
        }
    }
}
