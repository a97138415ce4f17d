import Foundation
import Glibc
import Spool
import SpoolTesting
import Testing

// The README's embedding example, verbatim between the markers; a test below checks that the
// README holds exactly these lines, so the example there always compiles and runs.
// README-EXAMPLE-BEGIN
/// A job: a name and Codable parameters, shared by the code that enqueues and the worker.
struct Email: Codable, Sendable { var to: String }
let sendEmail = Job<Email>("send-email", policy: JobPolicy(maxAttempts: 3, timeout: .seconds(10)))

func embeddingExample(directory: String) async throws -> [String] {
    // Open (or create) a data directory; this process becomes its only writer.
    let root = try SpoolRoot.open(at: directory)
    defer { root.close() }
    let emails = try root.queue("emails")

    // Enqueue durably: each call returns once an fdatasync covers it (group commit).
    try await emails.enqueue(sendEmail, Email(to: "ada@example.com"))
    try await emails.enqueue(sendEmail, Email(to: "bob@invalid"))
    // Raw records still work. This one names no job, so the worker dead-letters it, saying why.
    try await emails.append(batch: [
        RecordInput(value: Array("raw".utf8), headers: [RecordHeader(name: "source", value: Array("import".utf8))],
                    timestamp: 1_764_000_000_000),
    ])

    // One handler per job name. Return .done, .retry(after:) or .deadLetter(reason:); a thrown
    // error is retried after the job's backoff until its attempts are used up.
    var jobs = JobRegistry()
    try jobs.register(sendEmail, outcome: { email, context in
        context.logger.info("sending", metadata: ["to": "\(email.to)"])
        if email.to.hasSuffix("@invalid") { return .deadLetter(reason: "no such domain") }
        return .done
    })
    let worker = try root.worker(queue: "emails", group: "senders", jobs: jobs)

    // In an app the worker is a Service in the app's ServiceGroup; here it runs until all three
    // tasks are settled (10 s at most), then stops.
    let running = Task { try await worker.run() }
    let deadline = ContinuousClock.now + .seconds(10)
    while worker.statistics.succeeded + worker.statistics.deadLettered < 3 && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(10))
    }
    worker.stop()
    try await running.value

    // Read any queue from any offset, batch by batch: here the dead letters and their reasons.
    var seen = ["done: \(worker.statistics.succeeded)"]
    var reader = try root.queue("emails.dlq").reader(from: 0)
    while let batch = try reader.nextBatch() {
        for record in batch.records {
            let reason = record.headers.first { $0.name == "spool.dlq-reason" }?.value ?? []
            seen.append("dead letter: \(String(decoding: reason, as: UTF8.self))")
        }
    }
    return seen.sorted()
}
// README-EXAMPLE-END

@Suite("README")
struct ReadmeExampleTests {
    @Test("the README's embedding example enqueues typed jobs, handles them, and dead-letters what it cannot")
    func exampleRuns() async throws {
        let lines = try await withTemporaryDirectory { base in try await embeddingExample(directory: base + "/spool") }
        #expect(lines == [
            "dead letter: no such domain",
            "dead letter: task has no spool.job header; this worker runs typed jobs only (send-email)",
            "done: 1",
        ])
    }

    @Test("the README shows the embedding example exactly as this test file compiles it")
    func readmeMatchesCompiledExample() throws {
        let here = String(#filePath)
        let source = try String(contentsOfFile: here, encoding: .utf8)
        let repo = here.components(separatedBy: "/Tests/")[0]
        let readme = try String(contentsOfFile: repo + "/README.md", encoding: .utf8)
        let example = source.components(separatedBy: "// README-EXAMPLE-BEGIN\n")[1].components(separatedBy: "// README-EXAMPLE-END")[0]
        #expect(readme.contains("```swift\nimport Spool\n\n" + example + "```"))
    }
}
