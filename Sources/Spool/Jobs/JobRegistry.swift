import SpoolFormat
import Tracing

/// The handlers of a worker that runs typed jobs, by job name: one queue, many kinds of job.
///
/// ```swift
/// var jobs = JobRegistry()
/// try jobs.register(sendEmail) { email, context in
///     context.logger.info("sending", metadata: ["to": "\(email.to)"])
///     try await mailer.send(email)
/// }
/// let worker = try root.worker(queue: "emails", group: "senders", jobs: jobs)
/// ```
///
/// A task whose `spool.job` names no registered job, that has no `spool.job` header, whose
/// encoding is not the job's coder's, or whose parameters do not decode goes to `<queue>.dlq`
/// with a reason saying which: it is never dropped.
///
/// Thread-safety: a `Sendable` value; build it before handing it to a worker.
public struct JobRegistry: Sendable {
    typealias Body = @Sendable (JobContext) async throws -> JobOutcome

    struct Entry: Sendable {
        var policy: JobPolicy
        var encoding: String
        var run: @Sendable ([UInt8], JobContext) async throws -> JobOutcome
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// The registered job names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Registers `handler` for `job`: returning is ``JobOutcome/done``; throwing ``JobError``
    /// chooses a retry or the dead-letter queue; any other error is a failed attempt. (A
    /// trailing closure that only throws fits this form and ``register(_:outcome:)`` alike:
    /// write the `handler:` label then.)
    /// - Throws: `.invalidArgument` for a bad job name or policy, or a name registered twice.
    public mutating func register<Parameters>(
        _ job: Job<Parameters>, handler: @escaping @Sendable (Parameters, JobContext) async throws -> Void
    ) throws {
        try register(
            job,
            outcome: { parameters, context in
                try await handler(parameters, context)
                return .done
            })
    }

    /// Registers `handler` for `job`, which decides each task's fate by its result.
    /// - Throws: `.invalidArgument` for a bad job name or policy, or a name registered twice.
    public mutating func register<Parameters>(
        _ job: Job<Parameters>, outcome handler: @escaping @Sendable (Parameters, JobContext) async throws -> JobOutcome
    ) throws {
        try job.validate()
        guard entries[job.name] == nil else {
            throw SpoolError(
                .invalidArgument, "job \"\(job.name)\" is registered twice",
                hint: "register each job name once per worker")
        }
        let coder = job.coder
        entries[job.name] = Entry(policy: job.policy, encoding: coder.name) { bytes, context in
            let parameters: Parameters
            do {
                parameters = try coder.decode(Parameters.self, from: bytes)
            } catch {
                throw JobError.deadLetter(
                    reason:
                        "cannot decode the parameters of job \"\(job.name)\" as \(Parameters.self) (\(coder.name)): \(error)"
                )
            }
            return try await handler(parameters, context)
        }
    }

    /// What the worker does with `task`: run a handler under a policy, or dead-letter it.
    func route(_ task: QueueTask) -> WorkerRoute {
        guard let name = TaskHeaders.text(TaskHeaders.jobName, in: task.headers, bytesMax: jobNameBytesMax) else {
            return .deadLetter(
                job: nil,
                reason:
                    "task has no \(TaskHeaders.jobName) header; this worker runs typed jobs only (\(names.joined(separator: ", ")))"
            )
        }
        guard let entry = entries[name] else {
            return .deadLetter(
                job: name,
                reason: "no handler for job \"\(name)\"; this worker handles: \(names.joined(separator: ", "))")
        }
        let encoding = TaskHeaders.text(TaskHeaders.jobEncodingName, in: task.headers, bytesMax: 64) ?? "none"
        guard encoding == entry.encoding else {
            return .deadLetter(
                job: name,
                reason: "job \"\(name)\" is encoded as \(encoding), but its handler decodes \(entry.encoding)")
        }
        let payload = task.payload ?? []
        return .run(job: name, policy: entry.policy) { context in try await entry.run(payload, context) }
    }
}

/// What a worker does with one task.
enum WorkerRoute: Sendable {
    case run(job: String?, policy: JobPolicy, body: JobRegistry.Body)
    case deadLetter(job: String?, reason: String)
}

extension Job {
    /// The record that enqueues this job with `parameters`: the encoded payload and the
    /// `spool.job`, `spool.job-encoding` (and, with a policy lane, `spool.lane`) headers. For
    /// ``QueueLog/append(batch:)`` and ``QueueLog/appendBlocking(batch:)``.
    /// - Parameters:
    ///   - parameters: the job's parameters, encoded with its coder into the payload.
    ///   - key: the record's key (for compaction by key), if any.
    ///   - timestamp: ms since the epoch (the enqueue time handlers see).
    ///   - notBefore: not delivered before this time, ms since the epoch.
    /// - Throws: `.invalidArgument` for a bad job; the coder's errors.
    public func record(
        _ parameters: Parameters, key: [UInt8]? = nil, timestamp: Int64, notBefore: Int64? = nil
    ) throws -> RecordInput {
        try validate()
        var headers = self.headers  // shared storage until something is appended
        if let notBefore { headers.append(TaskHeaders.notBefore(notBefore)) }
        return RecordInput(value: try coder.encode(parameters), key: key, headers: headers, timestamp: timestamp)
    }
}

extension QueueLog {
    /// Enqueues `job` with `parameters`, durably (as ``append(batch:)``), and returns its offset.
    /// Inside a `spool.enqueue` span (a producer span of the app's tracer, if it bootstrapped
    /// one) whose trace context goes into the task's headers, so that its handling continues
    /// the trace.
    /// - Parameters:
    ///   - job: the kind of job; its policy's lane goes into the task's headers.
    ///   - parameters: the job's parameters, encoded with its coder into the payload.
    ///   - key: the record's key (for compaction by key), if any.
    ///   - delay: not delivered before this much time from now.
    /// - Throws: `.invalidArgument` for a bad job; the coder's errors; as ``append(batch:)``.
    @discardableResult
    public func enqueue<Parameters>(
        _ job: Job<Parameters>, _ parameters: Parameters, key: [UInt8]? = nil,
        delay: Duration? = nil
    ) async throws -> Int64 {
        try await withSpan("spool.enqueue", ofKind: .producer) { span in
            JobTracing.describe(span, queue: name, job: job.name)
            let now = shared.options.clock.wallMilliseconds()
            var record = try job.record(
                parameters, key: key, timestamp: now, notBefore: delay.map { now + Worker.milliseconds($0) })
            JobTracing.inject(span.context, into: &record)
            let offset = try await append(batch: [record])
            span.attributes["messaging.message.id"] = "\(offset)"
            return offset
        }
    }
}
