/// How a consumer group hands out and takes back tasks.
public struct GroupOptions: Sendable, Equatable {
    /// How long a claimed task stays invisible to other claims before it is delivered again
    /// (the visibility timeout). Default 30 s; 1 ms to 12 h.
    public var lease: Duration = .seconds(30)
    /// Tasks leased at once in this group, across consumers; claims return fewer past it.
    /// Default 100,000.
    public var inFlightMax: Int = 100_000
    /// Redelivery with backoff, then the dead-letter queue.
    public var retry = RetryPolicy()
    /// The longest delay a nack may ask for. Default 7 days.
    public var nackDelayMax: Duration = .seconds(7 * 86_400)

    /// Priority lanes by name (the tasks' `spool.lane` header): weights and concurrency limits.
    /// Lanes not listed get weight 1 and no limit. With no lanes configured, claims are plain
    /// FIFO and read no further ahead than they deliver.
    public var lanes: [String: LaneOptions] = [:]
    /// Records a claim may read ahead into lane buffers (when lanes are configured), so that it
    /// can look past a flooded lane. Bounds the memory a group holds. Default 10,000.
    public var lookaheadMax: Int = 10_000

    public init() {}

    @available(*, deprecated, renamed: "lease")
    public var leaseMilliseconds: Int64 {
        get { leaseMs }
        set { lease = .milliseconds(newValue) }
    }

    @available(*, deprecated, renamed: "nackDelayMax")
    public var nackDelayMaxMilliseconds: Int64 {
        get { nackDelayMaxMs }
        set { nackDelayMax = .milliseconds(newValue) }
    }

    var leaseMs: Int64 { Worker.milliseconds(lease) }
    var nackDelayMaxMs: Int64 { Worker.milliseconds(nackDelayMax) }

    func validate() throws {
        if !(1...43_200_000).contains(leaseMs) {
            throw SpoolError(.invalidArgument, "lease must be 1 ms...12 h")
        }
        if !(1...10_000_000).contains(inFlightMax) {
            throw SpoolError(.invalidArgument, "inFlightMax must be 1...10000000")
        }
        if nackDelayMax < .zero { throw SpoolError(.invalidArgument, "nackDelayMax must not be negative") }
        if !(1...1_000_000).contains(lookaheadMax) {
            throw SpoolError(.invalidArgument, "lookaheadMax must be 1...1000000")
        }
        for (name, lane) in lanes {
            if !(1...1000).contains(lane.weight) {
                throw SpoolError(.invalidArgument, "lane \(name): weight must be 1...1000")
            }
            if let limit = lane.concurrencyMax, limit < 1 {
                throw SpoolError(.invalidArgument, "lane \(name): concurrencyMax must be at least 1")
            }
            if name.utf8.count > LaneOptions.nameBytesMax {
                throw SpoolError(.invalidArgument, "lane names are at most \(LaneOptions.nameBytesMax) bytes")
            }
        }
        try retry.validate()
    }
}
