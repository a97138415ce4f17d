import Spool

/// The job's parameters: any `Codable & Sendable` type.
struct Email: Codable, Sendable {
    var to: String
    var subject: String
}

/// The job: its name, and how its tasks are handled. The HTTP route enqueues it and the worker
/// handles it, so both use this one value.
let sendEmail = Job<Email>(
    "send-email",
    policy: JobPolicy(
        maxAttempts: 5,
        backoff: Backoff(base: .milliseconds(200), cap: .seconds(10), jitter: 0.5),
        timeout: .seconds(10)))

/// The handler: `.done` acks the task, `.deadLetter` moves it to `emails.dlq` at once, a thrown
/// error is retried with the job's backoff.
@Sendable func deliver(_ email: Email, _ context: JobContext) async throws -> JobOutcome {
    guard email.to.contains("@") else {
        return .deadLetter(reason: "not an email address: \(email.to)")
    }
    if email.to.hasSuffix("@flaky.example") && context.attempt == 1 {
        throw MailServerBusy()  // retried after the backoff, as attempt 2
    }
    context.logger.info("email sent", metadata: ["to": "\(email.to)"])
    return .done
}

struct MailServerBusy: Error {}
