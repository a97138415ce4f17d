import Glibc

/// Paces the compactor's reads to at most `bytesPerSecond` (FORMAT.md knows nothing of it;
/// ``SpoolOptions/compactionBytesPerSecond`` sets it), so that producers keep the disk: after
/// each chunk it sleeps until the bytes read so far are due. 0 means unthrottled.
///
/// Not thread-safe: one per compaction pass.
struct CompactionThrottle {
    let bytesPerSecond: Int
    let clock: any SpoolClock
    private var started: UInt64
    private var bytes: Int64 = 0
    /// Longest single sleep, so that a stop request is seen promptly.
    static let sleepMaxNanoseconds: UInt64 = 50_000_000

    init(bytesPerSecond: Int, clock: any SpoolClock) {
        self.bytesPerSecond = bytesPerSecond
        self.clock = clock
        self.started = clock.monotonicNanoseconds()
    }

    /// Counts `count` bytes read and sleeps while they are ahead of the rate; returns early
    /// (between sleeps of at most 50 ms) once `stopped()` says so.
    mutating func consumed(_ count: Int64, stopped: () -> Bool) {
        bytes += count
        guard bytesPerSecond > 0 else { return }
        let due = started + UInt64(Double(bytes) / Double(bytesPerSecond) * 1e9)
        // Bounded: each round sleeps until `due` or 50 ms, whichever is sooner.
        while !stopped() {
            let now = clock.monotonicNanoseconds()
            guard now < due else { return }
            let wait = min(due - now, Self.sleepMaxNanoseconds)
            var request = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
            nanosleep(&request, nil)
        }
    }
}
