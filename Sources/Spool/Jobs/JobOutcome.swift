/// How a handler ends a task. Returning normally (a `Void` handler) is ``done``; throwing any
/// error other than ``JobError`` is a failed attempt, retried after the job's backoff until its
/// attempts are used up.
public enum JobOutcome: Sendable, Equatable {
    /// Acknowledge the task: it is never delivered again.
    case done
    /// Deliver the task again after `after` (counts an attempt; once the attempts are used up
    /// the task goes to the dead-letter queue instead). The delay is clamped to 0 ... the
    /// group's ``GroupOptions/nackDelayMax``.
    case retry(after: Duration, reason: String = "retry requested by the handler")
    /// Move the task to `<queue>.dlq` now, with `reason` in its `spool.dlq-reason` header,
    /// whatever attempts it has left: for work that will never succeed.
    case deadLetter(reason: String)
}

/// Errors a handler throws to choose its task's fate, for code paths that cannot return a
/// ``JobOutcome`` (deep in a call stack).
public enum JobError: Error, Sendable, Equatable {
    /// As ``JobOutcome/retry(after:reason:)``.
    case retry(after: Duration, reason: String = "retry requested by the handler")
    /// As ``JobOutcome/deadLetter(reason:)``.
    case deadLetter(reason: String)

    var outcome: JobOutcome {
        switch self {
        case .retry(let after, let reason): .retry(after: after, reason: reason)
        case .deadLetter(let reason): .deadLetter(reason: reason)
        }
    }
}
