import Logging

/// The compactor a root runs on its own thread every ``SpoolOptions/compactionIntervalMilliseconds``,
/// until the root closes (DESIGN.md, "Recovery and compaction").
///
/// Thread-safety: `stop()` may be called from any thread, the pass's own included.
final class BackgroundCompactor: @unchecked Sendable {
    private let lock = ConditionLock()
    private var stopping = false
    private var thread: OSThread? = nil

    /// Starts the thread: it waits `intervalMilliseconds`, runs `pass`, and again, until stopped.
    init(
        intervalMilliseconds: Int64, clock: any SpoolClock, logger: Logger, pass: @escaping @Sendable () throws -> Void
    ) {
        let interval = UInt64(intervalMilliseconds) * 1_000_000
        thread = OSThread { [self] in
            while true {
                let stop: Bool = lock.withLock {
                    let deadline = clock.monotonicNanoseconds() + interval
                    // Bounded by the deadline; a stop signals the condition.
                    while !stopping && clock.monotonicNanoseconds() < deadline { lock.wait(until: deadline) }
                    return stopping
                }
                if stop { return }
                do {
                    try pass()
                } catch {
                    logger.error("background compaction failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Ends the loop and waits for the thread (a pass in progress is told to stop by the root's
    /// compactor first). Idempotent.
    func stop() {
        let thread: OSThread? = lock.withLock {
            stopping = true
            lock.broadcast()
            defer { self.thread = nil }
            return self.thread
        }
        guard let thread else { return }
        if thread.isCurrent { thread.detach() } else { thread.join() }
    }
}
