import Glibc

/// Where the engine reads time: wall-clock milliseconds for record timestamps and segment age,
/// and a monotonic clock for intervals. Tests inject a clock to roll segments by age or to make
/// time go backwards. Implementations must be thread-safe.
public protocol SpoolClock: Sendable {
    /// Milliseconds since the Unix epoch (record timestamps).
    func wallMilliseconds() -> Int64
    /// Nanoseconds from an arbitrary fixed point; never goes backwards.
    func monotonicNanoseconds() -> UInt64
}

/// The system's clocks: CLOCK_REALTIME and CLOCK_MONOTONIC.
public struct SystemClock: SpoolClock {
    public init() {}

    public func wallMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
