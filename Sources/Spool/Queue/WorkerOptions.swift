/// How a ``Worker`` runs handlers: concurrency, claim sizes, the circuit breaker, shutdown.
public struct WorkerOptions: Sendable, Equatable {
    /// Handlers running at once. Default 4; 1 to 10,000.
    public var concurrency: Int = 4
    /// Largest claim; the worker adapts its claim size between 1 and this. Default 32.
    public var claimMax: Int = 32
    /// How long to wait before claiming again when nothing was ready. Default 20 ms.
    public var idleWaitMilliseconds: Int64 = 20
    /// Consecutive handler failures that open the circuit breaker (stop claiming). Default 10.
    public var breakerFailures: Int = 10
    /// How long the breaker stays open before one probe task is tried. Default 5 s.
    public var breakerCoolDownMilliseconds: Int64 = 5_000
    /// On graceful shutdown, how long in-flight handlers may run before their tasks are released
    /// for redelivery. Default 4 s (the whole shutdown stays within 5 s).
    public var shutdownGraceMilliseconds: Int64 = 4_000

    public init() {}

    func validate() throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw SpoolError(.invalidArgument, "worker option out of range: \(what)") }
        }
        try check((1...10_000).contains(concurrency), "concurrency must be 1...10000")
        try check((1...100_000).contains(claimMax), "claimMax must be 1...100000")
        try check((1...60_000).contains(idleWaitMilliseconds), "idleWaitMilliseconds must be 1...60000")
        try check((1...1_000_000).contains(breakerFailures), "breakerFailures must be 1...1000000")
        try check((1...3_600_000).contains(breakerCoolDownMilliseconds), "breakerCoolDownMilliseconds must be 1...3600000")
        try check((0...60_000).contains(shutdownGraceMilliseconds), "shutdownGraceMilliseconds must be 0...60000")
    }
}
