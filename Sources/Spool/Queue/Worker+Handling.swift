import Logging
import Synchronization
import Tracing

/// Running one task's handler and ending the task as it decided.
extension Worker {
    /// How a handled task ended, for the claim loop.
    struct Finish: Sendable {
        var verdict: CircuitBreaker.Verdict
        var seconds: Double
    }

    /// A handler ran past its job's timeout.
    struct TimedOut: Error, CustomStringConvertible {
        var limit: Duration
        var description: String { "timed out after \(limit)" }
    }

    /// Routes, runs and settles `task`; never throws (failures become retries or dead letters).
    /// The handler runs in a `spool.handle` consumer span that continues the trace the task was
    /// enqueued under (its headers carry the context).
    func handle(_ task: QueueTask) async -> Finish {
        let start = ContinuousClock.now
        let route: WorkerRoute
        switch dispatch {
        case .raw(let handler):
            route = .run(job: nil, policy: options.rawPolicy) { context in try await handler(context.task, context) }
        case .jobs(let registry):
            route = registry.route(task)
        }
        let verdict: CircuitBreaker.Verdict
        switch route {
        case .deadLetter(let job, let reason):
            await settle(task, job: job, .deadLetter(reason: reason), policy: JobPolicy())
            verdict = .neutral
        case .run(let job, let policy, let body):
            verdict = await withSpan("spool.handle", context: JobTracing.parent(of: task), ofKind: .consumer) { span in
                JobTracing.describe(span, queue: group.queue.name, job: job, offset: task.offset, attempt: task.attempt)
                let context = JobContext(
                    task: task, queue: group.queue.name, group: group.name, job: job, logger: logger, shutdown: shutdown
                )
                let result = await Self.run(body, context, timeout: policy.timeout)
                if case .failure(let error) = result, !(error is JobError) { span.recordError(error) }
                return await settle(task, job: job, result: result, policy: policy, logger: context.logger)
            }
        }
        return Finish(verdict: verdict, seconds: Double(Self.milliseconds(ContinuousClock.now - start)) / 1000)
    }

    /// Ends `task` after its handler ran; says what the breaker should make of it.
    private func settle(
        _ task: QueueTask, job: String?, result: Result<JobOutcome, any Error>, policy: JobPolicy,
        logger: Logger
    ) async -> CircuitBreaker.Verdict {
        switch result {
        case .success(let outcome):
            await settle(task, job: job, outcome, policy: policy)
            return outcome == .done ? .success : .neutral
        case .failure(let error as JobError):
            await settle(task, job: job, error.outcome, policy: policy)
            return .neutral
        case .failure(let error):
            if error is TimedOut { counters.withLock { $0.timedOut += 1 } }
            let delay = policy.backoff.map { $0.delay(afterAttempts: task.attempt, unit: Double.random(in: 0..<1)) }
            logger.debug("handler failed", metadata: ["error": "\(error)"])
            await settle(
                task, job: job,
                .retry(after: delay ?? .zero, reason: "handler failed on attempt \(task.attempt): \(error)"),
                policy: policy, backoff: delay == nil)
            return .failure
        }
    }

    /// Carries out `outcome` on the group; counts it unless the lease was stale (released at
    /// shutdown, or expired). Write errors are logged, not thrown: the task's lease then expires
    /// and it is delivered again (at-least-once).
    func settle(_ task: QueueTask, job: String?, _ outcome: JobOutcome, policy: JobPolicy, backoff: Bool = false) async
    {
        do {
            switch outcome {
            case .done:
                if try await group.ack([task]).acked > 0 { count(job) { $0.succeeded += 1 } }
            case .retry(let after, let reason):
                let delay: Int64? =
                    backoff ? nil : Swift.min(Swift.max(0, Self.milliseconds(after)), group.options.nackDelayMaxMs)
                if try await group.nack(task, reason: reason, delayMilliseconds: delay, attemptsMax: policy.maxAttempts)
                {
                    count(job) { $0.failed += 1 }
                }
            case .deadLetter(let reason):
                if try await group.deadLetter(task, reason: reason) { count(job) { $0.deadLettered += 1 } }
            }
        } catch {
            logger.error(
                "could not settle a task; it will be delivered again when its lease expires",
                metadata: ["group": "\(group.name)", "offset": "\(task.offset)", "error": "\(error)"])
        }
    }

    /// Job names counted separately at most; further names share "(other)".
    static let jobNamesCountedMax = 1024

    private func count(_ job: String?, _ change: (inout JobCounts) -> Void) {
        counters.withLock { c in
            var key = job ?? ""
            if c.jobs[key] == nil && c.jobs.count >= Self.jobNamesCountedMax { key = "(other)" }
            let old = c.jobs[key] ?? JobCounts()
            var new = old
            change(&new)
            c.jobs[key] = new
            c.succeeded += new.succeeded - old.succeeded
            c.failed += new.failed - old.failed
            c.deadLettered += new.deadLettered - old.deadLettered
        }
    }

    /// Runs `body`; with a timeout, in a task of its own that is cancelled when the time is up
    /// (the result is then ``TimedOut``, without waiting for a handler that ignores cancellation).
    /// Cancelling the calling task cancels the handler.
    static func run(
        _ body: @escaping JobRegistry.Body, _ context: JobContext, timeout: Duration?
    ) async -> Result<JobOutcome, any Error> {
        guard let timeout else {
            do { return .success(try await body(context)) } catch { return .failure(error) }
        }
        let race = HandlerRace()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<JobOutcome, any Error>, Never>) in
                race.continuation.withLock { $0 = continuation }
                let timer = Task {
                    do { try await Task.sleep(for: timeout) } catch { return }
                    race.finish(.failure(TimedOut(limit: timeout)))
                    race.cancelHandler()
                }
                let task = Task {
                    let result: Result<JobOutcome, any Error>
                    do { result = .success(try await body(context)) } catch { result = .failure(error) }
                    timer.cancel()
                    race.finish(result)
                }
                race.handler.withLock { $0 = task }
                if Task.isCancelled { task.cancel() }
            }
        } onCancel: {
            race.cancelHandler()
        }
    }
}

/// A handler racing its timeout: the first result resumes the waiter, the later one is dropped.
final class HandlerRace: Sendable {
    let continuation = Mutex<CheckedContinuation<Result<JobOutcome, any Error>, Never>?>(nil)
    let handler = Mutex<Task<Void, Never>?>(nil)

    func finish(_ result: Result<JobOutcome, any Error>) {
        continuation.withLock {
            $0?.resume(returning: result)
            $0 = nil
        }
    }

    func cancelHandler() {
        handler.withLock { $0 }?.cancel()
    }
}
