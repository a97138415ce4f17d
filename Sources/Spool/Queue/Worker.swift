import Logging
import ServiceLifecycle
import Synchronization

/// Runs handlers over a consumer group's tasks: claims with bounded concurrency, then ends each
/// task as its handler decides (``JobOutcome``: ack, retry after a delay, dead-letter now) or,
/// when it throws, retries it after the job's backoff until its attempts are used up. Typed
/// jobs (``JobRegistry``) and raw tasks (a `QueueTask` handler) run the same way.
///
/// A circuit breaker stops claiming when distinct tasks keep failing (see
/// ``WorkerOptions/breakerFailures``), and the claim size adapts to handler latency, so a slow
/// handler does not hold many leases.
///
/// It is a swift-service-lifecycle `Service`: in a `ServiceGroup`, SIGTERM (graceful shutdown),
/// ``stop()`` or cancellation of ``run()`` stops claiming at once, lets in-flight handlers finish
/// for ``WorkerOptions/shutdownGrace``, then releases the tasks of those that did not (delivered
/// again, no attempt counted), cancels their handlers, and returns. Handlers that ignore
/// cancellation run on detached; their late ack is stale and ignored.
///
/// Thread-safety: `Sendable`. ``run()`` once; ``stop()`` from anywhere.
public final class Worker: Service, Sendable {
    public let group: ConsumerGroup
    public let options: WorkerOptions
    let dispatch: Dispatch
    let logger: Logger
    let shutdown = ShutdownFlag()
    /// Where ``stop()`` wakes the claim loop (set while ``run()`` runs).
    private let wake = Mutex<AsyncStream<Event>.Continuation?>(nil)
    let counters = Mutex(Statistics())

    /// Raw handlers, or typed jobs by name.
    enum Dispatch: Sendable {
        case raw(@Sendable (QueueTask, JobContext) async throws -> JobOutcome)
        case jobs(JobRegistry)
    }

    /// What the worker has done so far.
    public struct Statistics: Sendable, Equatable {
        /// Tasks acknowledged (``JobOutcome/done``).
        public var succeeded = 0
        /// Attempts that failed: thrown errors, timeouts, and retries the handler asked for.
        public var failed = 0
        /// Tasks the worker moved to the dead-letter queue now: by the handler's choice, an
        /// unknown job, or parameters that do not decode (tasks that run out of attempts are
        /// counted by the group's `spool_dead_lettered_total`).
        public var deadLettered = 0
        /// Handlers cancelled at their job's timeout.
        public var timedOut = 0
        /// Tasks given back at shutdown for redelivery.
        public var released = 0
        /// Handlers cancelled when the shutdown grace period ended.
        public var cancelledAtShutdown = 0
        /// Times the circuit breaker opened.
        public var breakerOpenings = 0
        /// The current claim size.
        public var claimSize = 0
        /// Outcomes per job name (raw tasks under "").
        public var jobs: [String: JobCounts] = [:]
    }

    /// Outcomes of one job's tasks.
    public struct JobCounts: Sendable, Equatable {
        public var succeeded = 0
        public var failed = 0
        public var deadLettered = 0
    }

    public var statistics: Statistics { counters.withLock { $0 } }

    /// A worker for raw tasks whose handler acks by returning and retries by throwing.
    /// - Throws: `.invalidArgument` for options out of range.
    public convenience init(
        group: ConsumerGroup, options: WorkerOptions = WorkerOptions(), logger: Logger = Logger(label: "spool.worker"),
        handler: @escaping @Sendable (QueueTask) async throws -> Void
    ) throws {
        try self.init(
            group: group, options: options, logger: logger,
            dispatch: .raw({ task, _ in
                try await handler(task)
                return .done
            }))
    }

    /// A worker for raw tasks whose handler gets a ``JobContext`` and decides each task's fate.
    /// - Throws: `.invalidArgument` for options out of range.
    public convenience init(
        group: ConsumerGroup, options: WorkerOptions = WorkerOptions(), logger: Logger = Logger(label: "spool.worker"),
        outcome handler: @escaping @Sendable (QueueTask, JobContext) async throws -> JobOutcome
    ) throws {
        try self.init(group: group, options: options, logger: logger, dispatch: .raw(handler))
    }

    /// A worker for typed jobs: each task goes to the handler registered for its job name.
    /// - Throws: `.invalidArgument` for options out of range or an empty registry.
    public convenience init(
        group: ConsumerGroup, jobs: JobRegistry, options: WorkerOptions = WorkerOptions(),
        logger: Logger = Logger(label: "spool.worker")
    ) throws {
        guard !jobs.names.isEmpty else {
            throw SpoolError(.invalidArgument, "a job worker needs at least one registered job")
        }
        try self.init(group: group, options: options, logger: logger, dispatch: .jobs(jobs))
    }

    init(group: ConsumerGroup, options: WorkerOptions, logger: Logger, dispatch: Dispatch) throws {
        try options.validate()
        self.group = group
        self.options = options
        self.logger = logger
        self.dispatch = dispatch
    }

    /// Stops claiming and wakes the worker; in-flight handlers get the shutdown grace period,
    /// then ``run()`` returns. Thread-safe; idempotent.
    public func stop() {
        shutdown.set()
        _ = wake.withLock { $0?.yield(.wake) }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    enum Event: Sendable {
        case done(Int64, Finish)
        case tick
        case wake
    }

    /// Runs until ``stop()``, graceful shutdown, or cancellation of the calling task.
    /// - Throws: errors claiming from the queue (I/O, corruption); handler errors never escape.
    public func run() async throws {
        let lagTimer = Task { [group, interval = options.metricsInterval] in
            // Bounded by cancellation when run() returns.
            while !Task.isCancelled {
                group.recordLag()
                try? await Task.sleep(for: interval)
            }
        }
        defer { lagTimer.cancel() }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await loop()
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
    }

    private struct Running {
        var task: QueueTask
        var handle: Task<Void, Never>
    }

    private func loop() async throws {
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        wake.withLock { $0 = sink }
        if shutdown.isSet { sink.yield(.wake) }
        var next = events.makeAsyncIterator()
        var inFlight: [Int64: Running] = [:]
        var breaker = CircuitBreaker(
            failures: options.breakerFailures, coolDown: Self.milliseconds(options.breakerCoolDown))
        var throttle = ClaimThrottle(
            concurrency: options.concurrency, claimMax: options.claimMax,
            leaseMilliseconds: group.options.leaseMs)
        var ticking = false
        let started = ContinuousClock.now
        func now() -> Int64 { Self.milliseconds(ContinuousClock.now - started) }

        do {
            // Bounded by stop/cancellation; each pass claims, or waits for one event.
            while !shutdown.isSet {
                let room = options.concurrency - inFlight.count
                var claimed = 0
                if room > 0, breaker.allowsClaim(now: now(), inFlight: inFlight.count) {
                    let batch = try await group.claim(max: breaker.isProbing ? 1 : min(room, throttle.claimSize))
                    claimed = batch.count
                    for task in batch.tasks {
                        let handle = Task { [self] in _ = sink.yield(.done(task.offset, await self.handle(task))) }
                        inFlight[task.offset] = Running(task: task, handle: handle)
                    }
                }
                if claimed == 0 && !ticking {
                    ticking = true
                    let wait = options.idleWait
                    Task {
                        try? await Task.sleep(for: wait)
                        sink.yield(.tick)
                    }
                }
                if claimed > 0 && inFlight.count < options.concurrency { continue }
                guard let event = await next.next() else { break }
                switch event {
                case .tick:
                    ticking = false
                case .wake:
                    break
                case .done(let offset, let finish):
                    inFlight[offset] = nil
                    throttle.record(seconds: finish.seconds)
                    if breaker.record(offset: offset, verdict: finish.verdict, now: now()) {
                        logger.warning(
                            "circuit breaker opened: distinct tasks keep failing", metadata: ["group": "\(group.name)"])
                        counters.withLock { $0.breakerOpenings += 1 }
                    }
                    counters.withLock { $0.claimSize = throttle.claimSize }
                }
            }
        } catch {
            await shutDown(inFlight: &inFlight, next: &next, sink: sink)
            throw error
        }
        await shutDown(inFlight: &inFlight, next: &next, sink: sink)
    }

    /// Waits up to the grace period for in-flight handlers; then releases the tasks of those
    /// still running (before cancelling them, so that their cancellation errors find a stale
    /// lease and count no attempt) and cancels them.
    private func shutDown(
        inFlight: inout [Int64: Running], next: inout AsyncStream<Event>.Iterator,
        sink: AsyncStream<Event>.Continuation
    ) async {
        shutdown.set()
        wake.withLock { $0 = nil }
        let deadline = ContinuousClock.now + options.shutdownGrace
        let grace = options.shutdownGrace
        let timer = Task {
            try? await Task.sleep(for: grace)
            sink.yield(.tick)
        }
        defer { timer.cancel() }
        // Bounded: every handler yields once, and the deadline tick ends the wait.
        while !inFlight.isEmpty && ContinuousClock.now < deadline, let event = await next.next() {
            if case .done(let offset, _) = event { inFlight[offset] = nil }
        }
        var released = 0
        for running in inFlight.values {
            if group.release(running.task) { released += 1 }
            running.handle.cancel()
        }
        counters.withLock { c in
            c.released += released
            c.cancelledAtShutdown += inFlight.count
        }
        if !inFlight.isEmpty {
            logger.notice(
                "shutdown grace ended: released and cancelled unfinished tasks",
                metadata: ["group": "\(group.name)", "count": "\(inFlight.count)", "released": "\(released)"])
        }
        sink.finish()
    }
}
