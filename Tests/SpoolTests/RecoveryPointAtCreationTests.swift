import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Issue 14: "The first `spool dlq replay` logs a spurious 'no usable recovery point' warning".
/// A dead-letter queue created by a process that is then killed had no recovery point, so the
/// next open warned; every new log now gets one when it is created.
@Suite("recovery point at creation")
struct RecoveryPointAtCreationTests {
    @Test("a dead-letter queue created by a process killed right after has a recovery point, so the first replay's open finds one")
    func deadLetterQueueOfKilledProcessHasRecoveryPoint() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            try await root.queue("q").append(Array("poison".utf8))
            var options = GroupOptions()
            options.retry.maxAttempts = 1
            let group = try root.group("g", on: "q", options: options)
            try await group.nack(try await group.claim(max: 1).tasks[0], reason: "bad")
            // What a SIGKILL leaves now: the files as written, nothing closed.
            #expect(system("cp -a '\(dir)/root' '\(dir)/copy'") == 0)
            root.close()
            #expect(Files.exists(dir + "/copy/queues/q.dlq/recovery-point"))
            let copy = try openRoot(at: dir + "/copy", options: testOptions())
            defer { copy.close() }
            #expect(try copy.queue("q.dlq").recoveryReport.recoveryPointMissing == false)
            #expect(try await copy.replayDeadLetters(of: "q") == 1)
        }
    }
}
