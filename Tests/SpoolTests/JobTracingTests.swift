import Foundation
import InMemoryTracing
import Instrumentation
@testable import Spool
import SpoolTesting
import Testing
import Tracing

/// The test process's tracer: bootstrapped once, as an app would (Spool itself never does).
private enum ProcessTracer {
    static let tracer: InMemoryTracer = {
        let tracer = InMemoryTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()
}

private struct Ping: Codable, Sendable { var n: Int }

@Suite("job tracing")
struct JobTracingTests {
    @Test("with an app's tracer, enqueue makes a producer span and handling a consumer span in the same trace")
    func enqueueAndHandleShareATrace() async throws {
        let tracer = ProcessTracer.tracer
        try await withTemporaryDirectory { dir in
            let root = try SpoolRoot.open(at: dir + "/root")
            defer { root.close() }
            let queue = "traced-\(UInt32.random(in: 0...UInt32.max))"  // other suites share the tracer
            let ping = Job<Ping>("ping")
            try await root.queue(queue).enqueue(ping, Ping(n: 1))
            var jobs = JobRegistry()
            try jobs.register(ping) { _, _ in }
            let worker = try root.worker(queue: queue, group: "g", jobs: jobs)
            let running = Task { try await worker.run() }
            #expect(await eventually { worker.statistics.succeeded == 1 })
            worker.stop()
            try await running.value
            let spans = tracer.finishedSpans.filter { $0.attributes["messaging.destination.name"]?.toSpanAttribute() == "\(queue)".toSpanAttribute() }
            let enqueue = try #require(spans.first { $0.operationName == "spool.enqueue" })
            let handle = try #require(spans.first { $0.operationName == "spool.handle" })
            #expect(enqueue.kind == .producer && handle.kind == .consumer)
            #expect(handle.traceID == enqueue.traceID)
            #expect(handle.parentSpanID == enqueue.spanID)
            #expect(handle.attributes["spool.job"]?.toSpanAttribute() == "ping".toSpanAttribute())
        }
    }
}
