import SpoolFormat

/// A kind of job: a name, the `Codable` type of its parameters, how they are encoded, and the
/// policy its tasks are handled with. Share one value between the code that enqueues
/// (``QueueLog/enqueue(_:_:key:delay:)``) and the worker that handles it (``JobRegistry``):
///
/// ```swift
/// struct Email: Codable, Sendable { var to: String }
/// let sendEmail = Job<Email>("send-email", policy: JobPolicy(maxAttempts: 3, timeout: .seconds(10)))
/// ```
///
/// Thread-safety: a `Sendable` value.
public struct Job<Parameters: Codable & Sendable>: Sendable {
    /// The name written into each task's `spool.job` header; 1 to 128 bytes, not starting with
    /// `spool.`.
    public let name: String
    public let coder: any JobCoder
    public let policy: JobPolicy
    /// The `spool.job` and `spool.job-encoding` headers every task of this job carries, built
    /// once: enqueueing a task then allocates no header of its own.
    let headers: [RecordHeader]
    /// Why the job is invalid, checked once here and thrown at enqueue and registration.
    let invalid: SpoolError?

    /// - Precondition: `name` is 1...128 bytes (a programmer error otherwise; checked again,
    ///   as a thrown error, when it is enqueued or registered).
    public init(_ name: String, coder: any JobCoder = JSONJobCoder(), policy: JobPolicy = JobPolicy()) {
        self.name = name
        self.coder = coder
        self.policy = policy
        let encoding = coder.name
        var headers = [
            RecordHeader(name: TaskHeaders.jobName, value: Array(name.utf8)),
            RecordHeader(name: TaskHeaders.jobEncodingName, value: Array(encoding.utf8)),
        ]
        if let lane = policy.lane { headers.append(TaskHeaders.lane(lane)) }
        self.headers = headers
        invalid = Self.problem(name: name, encoding: encoding, policy: policy)
    }

    static var nameBytesMax: Int { jobNameBytesMax }

    /// - Throws: `.invalidArgument` for a name out of range or a bad policy.
    func validate() throws {
        if let invalid { throw invalid }
    }

    private static func problem(name: String, encoding: String, policy: JobPolicy) -> SpoolError? {
        guard (1...nameBytesMax).contains(name.utf8.count), !name.hasPrefix("spool.") else {
            return SpoolError(
                .invalidArgument, "job name \"\(name)\" must be 1...\(nameBytesMax) bytes and not start with spool.")
        }
        guard (1...64).contains(encoding.utf8.count) else {
            return SpoolError(.invalidArgument, "job coder name \"\(encoding)\" must be 1...64 bytes")
        }
        do {
            try policy.validate()
        } catch let error as SpoolError {
            return error
        } catch {
            return SpoolError(.invalidArgument, "job policy: \(error)")
        }
        return nil
    }
}

/// How the tasks of one job are handled. Every field left nil takes the consumer group's
/// ``RetryPolicy`` (attempts, backoff) or no limit (timeout) or the default lane.
public struct JobPolicy: Sendable, Equatable {
    /// Deliveries a task gets in all, at most the group's ``RetryPolicy/maxAttempts`` (a lease
    /// that expires is counted by the group, which knows no job). After the last one fails the
    /// task goes to `<queue>.dlq`.
    public var maxAttempts: Int?
    /// The wait before a failed task is delivered again; nil for the group's retry policy.
    public var backoff: Backoff?
    /// How long a handler may run. At the timeout its task is cancelled (Swift task
    /// cancellation) and the attempt fails with reason "timed out"; a handler that ignores
    /// cancellation runs on detached and its late result is ignored.
    public var timeout: Duration?
    /// The priority lane (`spool.lane` header) that ``QueueLog/enqueue(_:_:key:delay:)`` gives
    /// this job's tasks; see ``LaneOptions``.
    public var lane: String?

    public init(maxAttempts: Int? = nil, backoff: Backoff? = nil, timeout: Duration? = nil, lane: String? = nil) {
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.timeout = timeout
        self.lane = lane
    }

    func validate() throws {
        if let maxAttempts, !(1...1000).contains(maxAttempts) {
            throw SpoolError(.invalidArgument, "job policy: maxAttempts must be 1...1000")
        }
        if let timeout, timeout <= .zero || timeout > .seconds(86_400) {
            throw SpoolError(.invalidArgument, "job policy: timeout must be more than 0 and at most 1 day")
        }
        if let lane, lane.utf8.count > LaneOptions.nameBytesMax {
            throw SpoolError(.invalidArgument, "job policy: lane names are at most \(LaneOptions.nameBytesMax) bytes")
        }
        try backoff?.validate()
    }
}

/// Exponential backoff with jitter: the delay after attempt n is `base × 2^(n-1)`, at most
/// `cap`, of which the fraction `jitter` is drawn at random.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    /// 0 = exact delays, 1 = anywhere from 0 to the delay.
    public var jitter: Double

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300), jitter: Double = 0.5) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// The delay after `attempts` failed deliveries, with `unit` a random number in [0, 1).
    public func delay(afterAttempts attempts: Int, unit: Double) -> Duration {
        var delay = base
        for _ in 1..<max(attempts, 1) where delay < cap { delay *= 2 }
        delay = min(delay, cap)
        let kept = 1 - jitter + jitter * min(max(unit, 0), 1)
        return delay * kept
    }

    func validate() throws {
        guard base >= .zero, cap >= base, cap <= .seconds(7 * 86_400), (0...1).contains(jitter) else {
            throw SpoolError(.invalidArgument, "backoff: need 0 <= base <= cap <= 7 days and jitter in 0...1")
        }
    }
}

/// The longest job name, in bytes.
let jobNameBytesMax = 128
