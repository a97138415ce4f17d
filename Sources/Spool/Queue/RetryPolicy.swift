/// When a task that failed (nack, or a lease that expired) is delivered again, and when it
/// gives up: exponential backoff with full jitter, then the dead-letter queue.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay before the first redelivery. Default 1 s.
    public var baseDelay: Duration = .seconds(1)
    /// Each further attempt multiplies the delay by this. Default 2.
    public var factor: Double = 2
    /// The delay never exceeds this. Default 5 min.
    public var maxDelay: Duration = .seconds(300)
    /// Deliveries a task gets in all; after the last one fails it goes to `<queue>.dlq`. Default 5.
    public var maxAttempts: Int = 5
    /// Fraction of the delay drawn at random (0 = none, 1 = full jitter). Default 0.5.
    public var jitter: Double = 0.5

    public init() {}

    @available(*, deprecated, renamed: "baseDelay")
    public var baseDelayMilliseconds: Int64 {
        get { Worker.milliseconds(baseDelay) }
        set { baseDelay = .milliseconds(newValue) }
    }

    @available(*, deprecated, renamed: "maxDelay")
    public var maxDelayMilliseconds: Int64 {
        get { Worker.milliseconds(maxDelay) }
        set { maxDelay = .milliseconds(newValue) }
    }

    /// The delay after `attempts` failed deliveries (1 after the first), in milliseconds, with
    /// `unit` a random number in [0, 1) for the jitter.
    public func delay(afterAttempts attempts: Int, unit: Double) -> Int64 {
        let baseDelayMilliseconds = Worker.milliseconds(baseDelay)
        let maxDelayMilliseconds = Worker.milliseconds(maxDelay)
        var delay = Double(baseDelayMilliseconds)
        for _ in 1..<max(attempts, 1) {
            delay *= factor
            if delay >= Double(maxDelayMilliseconds) { break }
        }
        delay = min(delay, Double(maxDelayMilliseconds))
        let jittered = delay * (1 - jitter) + delay * jitter * min(max(unit, 0), 1)
        return Int64(jittered.rounded())
    }

    func validate() throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw SpoolError(.invalidArgument, "retry policy out of range: \(what)") }
        }
        try check(baseDelay >= .zero && baseDelay <= .seconds(86_400), "baseDelay must be 0...1 day")
        try check(factor >= 1 && factor <= 100, "factor must be 1...100")
        try check(maxDelay >= baseDelay && maxDelay <= .seconds(7 * 86_400), "maxDelay must be baseDelay...7 days")
        try check(maxAttempts >= 1 && maxAttempts <= 1000, "maxAttempts must be 1...1000")
        try check(jitter >= 0 && jitter <= 1, "jitter must be 0...1")
    }
}
