/// Latency samples in seconds, summarised by nearest rank exactly as the peers' qbench.c does
/// (`pct()`), so Spool's percentiles compare one to one.
struct LatencySamples {
    private(set) var values: [Double] = []

    mutating func reserve(_ n: Int) { values.reserveCapacity(n) }
    mutating func add(_ seconds: Double) { values.append(seconds) }
    mutating func merge(_ other: LatencySamples) { values += other.values }

    /// Sorted copy's value at rank round(p × (n − 1)).
    func summary() -> Summary {
        let sorted = values.sorted()
        func pct(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let i = min(Int(p * Double(sorted.count - 1) + 0.5), sorted.count - 1)
            return sorted[i]
        }
        return Summary(count: sorted.count, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), p999: pct(0.999), max: sorted.last ?? 0)
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
