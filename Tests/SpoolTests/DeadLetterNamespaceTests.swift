import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Issue 14, "Dead-letter queues": the `.dlq` suffix is the engine's, every queue name can
/// dead-letter, and acting on a queue that does not exist creates nothing.
@Suite("dead-letter namespace")
struct DeadLetterNamespaceTests {
    @Test("creating a user queue named x.dlq is refused naming the reserved suffix, and x's dead letters stay x's")
    func userQueueNamedLikeADeadLetterQueueIsRefused() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            _ = try root.queue("x")
            let error = #expect(throws: SpoolError.self) { try root.queue("x.dlq") }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("reserved for dead-letter queues") == true, "\(String(describing: error))")
            #expect(!Files.exists(dir + "/root/queues/x.dlq"))
            // A group on x.dlq would create it too: refused the same way.
            #expect(throws: SpoolError.self) { try root.group("g", on: "x.dlq") }
            #expect(!Files.exists(dir + "/root/queues/x.dlq"))
        }
    }

    @Test("a queue with a 200-byte name dead-letters into its 204-byte dead-letter queue, which can then be opened to read")
    func longestQueueNameCanDeadLetter() async throws {
        try await withTemporaryDirectory { dir in
            let name = String(repeating: "q", count: QueueName.bytesMax)
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            try await root.queue(name).append(Array("poison".utf8))
            var options = GroupOptions()
            options.retry.maxAttempts = 1
            let group = try root.group("g", on: name, options: options)
            try await group.nack(try await group.claim(max: 1).tasks[0], reason: "bad")
            let letters = try root.queue(name + ".dlq")  // exists now: opening it is allowed
            #expect(letters.committed.nextOffset == 1)
            #expect(throws: SpoolError.self) { try root.queue(String(repeating: "q", count: QueueName.bytesMax + 1)) }
        }
    }

    @Test("replaying the dead letters of a queue that does not exist throws notFound and creates nothing")
    func replayOfMissingQueueCreatesNothing() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let error = await #expect(throws: SpoolError.self) { try await root.replayDeadLetters(of: "nosuch") }
            #expect(error?.code == .notFound)
            #expect(try root.queueNames().isEmpty)
            _ = try root.queue("q")
            #expect(try await root.replayDeadLetters(of: "q") == 0)
            #expect(try root.queueNames() == ["q"])
            let compact = #expect(throws: SpoolError.self) { try root.compact(queues: ["nosuch"]) }
            #expect(compact?.code == .notFound)
            #expect(try root.queueNames() == ["q"])
        }
    }

    @Test("a bad group name is reported as an invalid group name, not a queue name")
    func badGroupNameIsReportedAsGroupName() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { try root.group("bad/name", on: "q") }
            #expect(error?.message.hasPrefix("invalid group name \"bad/name\"") == true, "\(String(describing: error))")
        }
    }
}
