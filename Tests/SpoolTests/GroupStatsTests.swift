import Foundation
import Glibc
@testable import Spool
import SpoolTesting
import Testing

@Suite("in-process stats")
struct GroupStatsTests {
    @Test("stats give depth, lag, oldest pending age, retrying, delayed and lanes in flight; listDeadLetters lists the DLQ with reasons")
    func statsAndDeadLetters() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let log = try root.queue("q")
            let now = root.options.clock.wallMilliseconds()
            try await log.append(batch: (0..<6).map { i in
                RecordInput(value: [UInt8(i)], headers: i < 2 ? [TaskHeaders.lane("network")] : [], timestamp: now - 5_000)
            })
            try await log.append(Array("later".utf8), notBefore: now + 3_600_000)
            try await log.enqueue(Job<[String]>("resize"), ["a.png"])
            var options = GroupOptions()
            options.lanes = ["network": LaneOptions(weight: 1)]
            let group = try root.group("g", on: "q", options: options)
            let tasks = try await group.claim(max: 4).tasks  // offsets 0...3 (0 and 1 in "network")
            try await group.ack([tasks[0]])
            try await group.nack(tasks[2], delay: .seconds(60))
            #expect(try await group.deadLetter(tasks[3], reason: "bad input: no such file"))
            let stats = try group.stats()
            #expect(stats.tasks == 8)
            #expect(stats.lag == 6)  // 8 less the ack and the dead letter
            #expect(stats.watermark == 1)
            #expect(stats.inFlight == 1 && stats.inFlightByLane == ["network": 1])
            #expect(stats.retrying == 1)
            #expect(stats.delayed == 1, "a claim with lanes reads ahead, past the delayed task")
            let age = try #require(stats.oldestPendingAge)
            #expect(age >= .seconds(5) && age < .seconds(60))

            let letters = try group.listDeadLetters()
            #expect(letters.count == 1)
            #expect(letters[0].reason == "bad input: no such file")
            #expect(letters[0].sourceOffset == 3 && letters[0].sourceGroup == "g" && letters[0].attempts == 1)
            #expect(letters[0].payload == [3] && letters[0].enqueuedAt == now - 5_000)
            #expect(throws: SpoolError.self) { try group.listDeadLetters(max: 0) }
        }
    }

    @Test("retrying counts failed unacknowledged tasks, waiting or redelivered, the same in stats(), progress and spool stats' collector")
    func retryingMeansTheSameInProcessAndOnDisk() async throws {
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let log = try root.queue("q")
            let now = root.options.clock.wallMilliseconds()
            try await log.append(batch: (0..<4).map { RecordInput(value: [UInt8($0)], timestamp: now) })
            try await log.append(Array("later".utf8), notBefore: now + 3_600_000)
            let group = try root.group("g", on: "q")
            let tasks = try await group.claim(max: 3).tasks  // offsets 0...2, attempt 1
            try await group.nack(tasks[0], delay: .zero)  // failed once, due now
            try await group.nack(tasks[1], delay: .seconds(60))  // failed once, waiting
            let again = try await group.claim(max: 1).tasks
            #expect(again.map(\.offset) == [0] && again[0].attempt == 2, "the due retry is redelivered first")
            try await group.ack([tasks[2]])  // never failed: not retrying

            let stats = try group.stats()
            #expect(stats.retrying == 2, "offset 0 redelivered now and offset 1 waiting")
            #expect(group.progress.waitingForRetry == stats.retrying)
            let collected = try #require(try StatsCollector().collect(path: dir + "/root").first { $0.name == "q" })
            let onDisk = try #require(collected.groups.first)
            #expect(onDisk.retrying == stats.retrying, "spool stats reads the same figure from the group log")
            #expect(onDisk.lag == stats.lag && onDisk.watermark == stats.watermark)
            #expect(collected.tasks == stats.tasks)

            try await group.ack(again)
            #expect(try group.stats().retrying == 1, "an acknowledged retry stops counting")
            let after = try #require(try StatsCollector().collect(path: dir + "/root").first { $0.name == "q" }?.groups.first)
            #expect(after.retrying == 1)
        }
    }
}
