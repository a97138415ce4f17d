/// How a ``Worker`` runs handlers: concurrency, claim sizes, the circuit breaker, shutdown.
public struct WorkerOptions: Sendable, Equatable {
    /// Handlers running at once. Default 4; 1 to 10,000.
    public var concurrency: Int = 4
    /// Largest claim; the worker adapts its claim size between 1 and this. Default 32.
    public var claimMax: Int = 32
    /// How long to wait before claiming again when nothing was ready. Default 20 ms; 1 ms to 60 s.
    public var idleWait: Duration = .milliseconds(20)
    /// Tasks failing in a row (no success between them) that open the circuit breaker, which
    /// then stops claiming. Only tasks this worker has not seen failing before count (a poison
    /// task failing again counts once, even after others succeeded), and explicit outcomes
    /// (``JobOutcome/retry(after:reason:)``, dead letters, unknown jobs) count not at all: the
    /// breaker is for an outage of a dependency, not for poison tasks. Default 10.
    public var breakerFailures: Int = 10
    /// How long the breaker stays open before one probe task is tried: a success closes it, a
    /// failure of a task not seen failing before opens it again, and a failure of one already
    /// seen (a retry of a poison task) lets the next probe through at once. Default 5 s.
    public var breakerCoolDown: Duration = .seconds(5)
    /// On graceful shutdown (or ``Worker/stop()``), how long in-flight handlers may run. At the
    /// end of it their tasks are released for redelivery (no attempt counted), the handlers are
    /// cancelled, and ``Worker/run()`` returns. Default 4 s (the whole shutdown within 5 s);
    /// 0 to 60 s.
    public var shutdownGrace: Duration = .seconds(4)
    /// How often the worker sets the `spool_group_lag` gauge (besides each claim and ack), so
    /// that a stalled consumer's gauge shows its backlog. Default 5 s; 10 ms to 1 h.
    public var metricsInterval: Duration = .seconds(5)
    /// The policy of raw (untyped) tasks: timeout, attempts, backoff. Typed jobs use their
    /// ``Job/policy``.
    public var rawPolicy = JobPolicy()

    public init() {}

    @available(*, deprecated, renamed: "idleWait")
    public var idleWaitMilliseconds: Int64 {
        get { Worker.milliseconds(idleWait) }
        set { idleWait = .milliseconds(newValue) }
    }

    @available(*, deprecated, renamed: "breakerCoolDown")
    public var breakerCoolDownMilliseconds: Int64 {
        get { Worker.milliseconds(breakerCoolDown) }
        set { breakerCoolDown = .milliseconds(newValue) }
    }

    @available(*, deprecated, renamed: "shutdownGrace")
    public var shutdownGraceMilliseconds: Int64 {
        get { Worker.milliseconds(shutdownGrace) }
        set { shutdownGrace = .milliseconds(newValue) }
    }

    func validate() throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw SpoolError(.invalidArgument, "worker option out of range: \(what)") }
        }
        try check((1...10_000).contains(concurrency), "concurrency must be 1...10000")
        try check((1...100_000).contains(claimMax), "claimMax must be 1...100000")
        try check(idleWait >= .milliseconds(1) && idleWait <= .seconds(60), "idleWait must be 1 ms...60 s")
        try check((1...1_000_000).contains(breakerFailures), "breakerFailures must be 1...1000000")
        try check(
            breakerCoolDown >= .milliseconds(1) && breakerCoolDown <= .seconds(3600),
            "breakerCoolDown must be 1 ms...1 h")
        try check(shutdownGrace >= .zero && shutdownGrace <= .seconds(60), "shutdownGrace must be 0...60 s")
        try check(
            metricsInterval >= .milliseconds(10) && metricsInterval <= .seconds(3600),
            "metricsInterval must be 10 ms...1 h")
        try rawPolicy.validate()
    }
}
