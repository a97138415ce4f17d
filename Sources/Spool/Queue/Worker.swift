import Logging
import ServiceLifecycle
import Synchronization

/// Runs a handler over a consumer group's tasks: claims with bounded concurrency, acks on
/// success, nacks on a thrown error (the retry policy then applies), and stops claiming
/// when handlers keep failing (a circuit breaker that probes with one task after a cool-down).
/// Its claim size adapts to handler latency, so a slow handler does not hold many leases.
///
/// It is a swift-service-lifecycle `Service`: in a `ServiceGroup`, SIGTERM (graceful shutdown)
/// stops claiming, lets in-flight handlers finish for `shutdownGraceMilliseconds`, releases the
/// tasks of those that did not (delivered again, no attempt counted), and returns. Handlers
/// that ignore cancellation are left running detached; their late ack is stale and ignored.
///
/// Thread-safety: `Sendable`. ``run()`` once; ``stop()`` from anywhere.
public final class Worker: Service, Sendable {
    public let group: ConsumerGroup
    public let options: WorkerOptions
    private let handler: @Sendable (QueueTask) async throws -> Void
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let counters = Mutex(Statistics())

    /// What the worker has done so far.
    public struct Statistics: Sendable, Equatable {
        public var succeeded = 0
        public var failed = 0
        /// Tasks given back at shutdown for redelivery.
        public var released = 0
        /// Times the circuit breaker opened.
        public var breakerOpenings = 0
        /// The current claim size.
        public var claimSize = 0
    }

    public var statistics: Statistics { counters.withLock { $0 } }

    /// - Throws: `.invalidArgument` for options out of range.
    public init(group: ConsumerGroup, options: WorkerOptions = WorkerOptions(), logger: Logger = Logger(label: "spool.worker"),
                handler: @escaping @Sendable (QueueTask) async throws -> Void) throws {
        try options.validate()
        self.group = group
        self.options = options
        self.logger = logger
        self.handler = handler
    }

    /// Stops claiming; in-flight handlers get the shutdown grace period. ``run()`` then returns.
    public func stop() {
        stopping.store(true, ordering: .releasing)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    private enum Event: Sendable {
        case done(QueueTask, succeeded: Bool, seconds: Double)
        case tick
    }

    /// Runs until ``stop()``, graceful shutdown, or cancellation of the calling task.
    /// - Throws: errors claiming from the queue (I/O, corruption); handler errors never escape.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await loop()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    private func loop() async throws {
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        var next = events.makeAsyncIterator()
        var inFlight: [Int64: QueueTask] = [:]
        var breaker = CircuitBreaker(failures: options.breakerFailures, coolDown: options.breakerCoolDownMilliseconds)
        var throttle = ClaimThrottle(concurrency: options.concurrency, claimMax: options.claimMax,
                                     leaseMilliseconds: group.options.leaseMilliseconds)
        var ticking = false
        let started = ContinuousClock.now
        func now() -> Int64 { Self.milliseconds(ContinuousClock.now - started) }

        // Bounded by stop/cancellation; each pass claims, or waits for one event.
        while !stopping.load(ordering: .acquiring) && !Task.isCancelled {
            let room = options.concurrency - inFlight.count
            var claimed = 0
            if room > 0, breaker.allowsClaim(now: now(), inFlight: inFlight.count) {
                let batch = try await group.claim(max: breaker.isProbing ? 1 : min(room, throttle.claimSize))
                claimed = batch.count
                for task in batch.tasks {
                    inFlight[task.offset] = task
                    Task { [handler, group] in
                        let start = ContinuousClock.now
                        var succeeded = false
                        do {
                            try await handler(task)
                            succeeded = true
                            try await group.ack([task])
                        } catch {
                            if !succeeded { _ = try? await group.nack(task, reason: "handler failed: \(error)") }
                        }
                        sink.yield(.done(task, succeeded: succeeded, seconds: Double(Self.milliseconds(ContinuousClock.now - start)) / 1000))
                    }
                }
            }
            if claimed == 0 && !ticking {
                ticking = true
                let wait = options.idleWaitMilliseconds
                Task { try? await Task.sleep(for: .milliseconds(wait)); sink.yield(.tick) }
            }
            if claimed > 0 && inFlight.count < options.concurrency { continue }
            guard let event = await next.next() else { break }
            switch event {
            case .tick:
                ticking = false
            case .done(let task, let succeeded, let seconds):
                inFlight[task.offset] = nil
                throttle.record(seconds: seconds)
                if breaker.record(success: succeeded, now: now()) {
                    logger.warning("circuit breaker opened: handlers keep failing", metadata: ["group": "\(group.name)"])
                    counters.withLock { $0.breakerOpenings += 1 }
                }
                counters.withLock { c in
                    if succeeded { c.succeeded += 1 } else { c.failed += 1 }
                    c.claimSize = throttle.claimSize
                }
            }
        }
        await shutDown(inFlight: &inFlight, next: &next, sink: sink)
    }

    /// Waits up to the grace period for in-flight handlers, then releases what is left.
    private func shutDown(inFlight: inout [Int64: QueueTask], next: inout AsyncStream<Event>.Iterator,
                          sink: AsyncStream<Event>.Continuation) async {
        let deadline = ContinuousClock.now + .milliseconds(options.shutdownGraceMilliseconds)
        let grace = options.shutdownGraceMilliseconds
        Task { try? await Task.sleep(for: .milliseconds(grace)); sink.yield(.tick) }
        // Bounded: every handler yields once, and the deadline tick ends the wait.
        while !inFlight.isEmpty, let event = await next.next() {
            switch event {
            case .tick:
                if ContinuousClock.now >= deadline { break }
                continue
            case .done(let task, let succeeded, _):
                inFlight[task.offset] = nil
                counters.withLock { c in if succeeded { c.succeeded += 1 } else { c.failed += 1 } }
                continue
            }
            break
        }
        for task in inFlight.values where group.release(task) {
            counters.withLock { $0.released += 1 }
        }
        if !inFlight.isEmpty {
            logger.notice("released unfinished tasks at shutdown", metadata: ["group": "\(group.name)", "count": "\(inFlight.count)"])
        }
        sink.finish()
    }
}

/// Stops claiming after `failures` consecutive handler failures; after `coolDown` ms lets one
/// probe task through; a success closes it, a failure opens it again.
struct CircuitBreaker {
    let failures: Int
    let coolDown: Int64
    private var consecutive = 0
    private var openedAt: Int64? = nil
    private(set) var isProbing = false

    init(failures: Int, coolDown: Int64) {
        self.failures = failures
        self.coolDown = coolDown
    }

    mutating func allowsClaim(now: Int64, inFlight: Int) -> Bool {
        guard let opened = openedAt else { return true }
        guard now - opened >= coolDown, inFlight == 0 else { return false }
        isProbing = true
        return true
    }

    /// Records a handler outcome; returns true when this outcome opened the breaker.
    mutating func record(success: Bool, now: Int64) -> Bool {
        if success {
            consecutive = 0
            openedAt = nil
            isProbing = false
            return false
        }
        consecutive += 1
        if isProbing || (openedAt == nil && consecutive >= failures) {
            let opened = openedAt == nil
            openedAt = now
            isProbing = false
            return opened
        }
        return false
    }
}

/// Adapts the claim size to handler latency: a claim should be finished well within its lease,
/// so the size shrinks when (latency × claim size ÷ concurrency) nears half the lease, and grows
/// by one per fast completion up to `claimMax`.
struct ClaimThrottle {
    let concurrency: Int
    let claimMax: Int
    let leaseSeconds: Double
    private(set) var claimSize: Int
    private var average: Double? = nil

    init(concurrency: Int, claimMax: Int, leaseMilliseconds: Int64) {
        self.concurrency = concurrency
        self.claimMax = claimMax
        self.leaseSeconds = Double(leaseMilliseconds) / 1000
        claimSize = min(claimMax, concurrency)
    }

    mutating func record(seconds: Double) {
        let value = average.map { $0 * 0.8 + seconds * 0.2 } ?? seconds
        average = value
        let finishTime = value * Double(claimSize) / Double(max(concurrency, 1))
        if finishTime > leaseSeconds / 2 {
            claimSize = max(1, claimSize / 2)
        } else if claimSize < claimMax {
            claimSize += 1
        }
    }
}
