/// How a consumer group hands out and takes back tasks.
public struct GroupOptions: Sendable, Equatable {
    /// How long a claimed task stays invisible to other claims before it is delivered again
    /// (the visibility timeout). Default 30 s; 1 ms to 12 h.
    public var leaseMilliseconds: Int64 = 30_000
    /// Tasks leased at once in this group, across consumers; claims return fewer past it.
    /// Default 100,000.
    public var inFlightMax: Int = 100_000
    /// Redelivery with backoff, then the dead-letter queue.
    public var retry = RetryPolicy()
    /// The longest delay a nack may ask for. Default 7 days.
    public var nackDelayMaxMilliseconds: Int64 = 7 * 86_400_000

    public init() {}

    func validate() throws {
        if !(1...43_200_000).contains(leaseMilliseconds) {
            throw SpoolError(.invalidArgument, "leaseMilliseconds must be 1...43200000")
        }
        if !(1...10_000_000).contains(inFlightMax) { throw SpoolError(.invalidArgument, "inFlightMax must be 1...10000000") }
        if nackDelayMaxMilliseconds < 0 { throw SpoolError(.invalidArgument, "nackDelayMaxMilliseconds must not be negative") }
        try retry.validate()
    }
}
