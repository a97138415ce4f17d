import Foundation
import Glibc
@testable import Spool
import SpoolTesting
import Synchronization
import Testing

@Suite("waiting for commits")
struct CommitWaitTests {
    private func withLog(_ body: (QueueLog) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            var options = SpoolOptions()
            options.waitSpinMicroseconds = 0
            let root = try SpoolRoot.open(at: dir + "/root", options: options)
            defer { root.close() }
            try await body(try root.queue("q"))
        }
    }

    @Test("a consumer thread parked at the end of the log wakes when the next record is committed")
    func blockingWaitWakes() async throws {
        try await withLog { log in
            let woke = Atomic<Int>(0)
            let waiter = Task.detached { () -> Bool in
                let result = log.waitForCommit(beyond: -1, timeoutMilliseconds: 30_000)
                woke.store(1, ordering: .releasing)
                return result
            }
            try await Task.sleep(for: .milliseconds(50))
            #expect(woke.load(ordering: .acquiring) == 0, "returned before anything was committed")
            try await log.append(Array("first".utf8))
            #expect(await waiter.value)
            #expect(log.waitForCommit(beyond: 0, timeoutMilliseconds: 20) == false)
        }
    }

    @Test("an async wait for a commit resumes when a record past its offset lands")
    func asyncWaitResumes() async throws {
        try await withLog { log in
            try await log.append(Array("zero".utf8))
            await log.commit(beyond: -1)
            let waiting = Task { await log.commit(beyond: 0); return log.committed.nextOffset }
            try await Task.sleep(for: .milliseconds(20))
            try await log.append(Array("one".utf8))
            #expect(await waiting.value == 2)
        }
    }
}
