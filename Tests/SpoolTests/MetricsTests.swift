import Foundation
import Glibc
import MetricsTestKit
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

@Suite("metrics")
struct MetricsTests {
    @Test("enqueue, commit, fsync, ack, nack, dead-letter, redelivery and lag metrics reach the factory in options")
    func metricsReachFactory() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/root"
            let metrics = TestMetrics()
            var options = SpoolOptions()
            options.metricsFactory = metrics
            let root = try SpoolRoot.open(at: path, options: options)
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<10 { try await log.append(Array("t\(i)".utf8)) }
            try await log.append(batch: (0..<5).map { RecordInput(value: [UInt8($0)], timestamp: 1) })
            #expect(try metrics.expectCounter("spool_enqueued_total", [("queue", "q")]).totalValue == 15)
            #expect(try metrics.expectRecorder("spool_commit_records", [("queue", "q")]).values.reduce(0, +) == 15)
            let fsyncs = try metrics.expectTimer("spool_fsync_seconds", [("queue", "q")]).values.count
            #expect(fsyncs >= 11, "\(fsyncs) fsyncs timed")
            #expect(try metrics.expectTimer("spool_enqueue_seconds", [("queue", "q")]).values.count == 11)

            var groupOptions = GroupOptions()
            groupOptions.retry.maxAttempts = 2
            groupOptions.retry.baseDelay = .milliseconds(0)
            groupOptions.retry.jitter = 0
            let group = try root.group("g", on: "q", options: groupOptions)
            var tasks = try await group.claim(max: 15).tasks
            try await group.ack(Array(tasks[0..<13]))
            try await group.nack(tasks[13])
            try await group.nack(tasks[14])
            tasks = try await group.claim(max: 15).tasks
            #expect(tasks.count == 2)
            try await group.nack(tasks[0])
            try await group.ack([tasks[1]])
            let dimensions = [("queue", "q"), ("group", "g")]
            #expect(try metrics.expectCounter("spool_acked_total", dimensions).totalValue == 14)
            #expect(try metrics.expectCounter("spool_nacked_total", dimensions).totalValue == 3)
            #expect(try metrics.expectCounter("spool_redelivered_total", dimensions).totalValue == 2)
            #expect(try metrics.expectCounter("spool_dead_lettered_total", dimensions).totalValue == 1)
            #expect(try metrics.expectTimer("spool_end_to_end_seconds", dimensions).values.count == 14)
            #expect(try metrics.expectGauge("spool_group_lag", dimensions).lastValue == 0)
        }
    }
}
