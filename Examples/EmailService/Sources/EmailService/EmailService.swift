import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Spool

/// HTTP enqueue, a worker in the same ServiceGroup, Prometheus metrics, graceful shutdown.
///
/// Environment: `SPOOL_DIR` (default `./spool-data`), `PORT` (default 8080).
@main
struct EmailService {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = Logger(label: "email-service")

        // Metrics: Spool's go to the factory in its options; nothing is bootstrapped globally.
        let prometheus = PrometheusCollectorRegistry()
        var options = SpoolOptions()
        options.metricsFactory = PrometheusMetricsFactory(registry: prometheus)
        options.logger = logger

        let root = try SpoolRoot.open(at: environment["SPOOL_DIR"] ?? "./spool-data", options: options)
        defer { root.close() }
        let emails = try root.queue("emails")

        var jobs = JobRegistry()
        try jobs.register(sendEmail, outcome: deliver)
        var workerOptions = WorkerOptions()
        workerOptions.concurrency = 8
        workerOptions.shutdownGrace = .seconds(4)
        workerOptions.metricsInterval = .seconds(1)
        let worker = try root.worker(queue: "emails", group: "senders", jobs: jobs, options: workerOptions)

        let router = Router()
        router.post("/emails") { request, context -> Response in
            let email = try await request.decode(as: Email.self, context: context)
            let offset = try await emails.enqueue(sendEmail, email)  // durable when it returns
            return try json(["offset": offset], status: .accepted)
        }
        router.get("/stats") { _, _ -> Response in
            // In-process: the group's memory (and one record read for the oldest task's age).
            let stats = try worker.group.stats()
            let outcomes = worker.statistics
            return try json([
                "tasks": stats.tasks, "lag": stats.lag, "inFlight": Int64(stats.inFlight), "retrying": Int64(stats.retrying),
                "oldestPendingMs": stats.oldestPendingAge.map { Int64($0 / .milliseconds(1)) } ?? 0,
                "succeeded": Int64(outcomes.succeeded), "failed": Int64(outcomes.failed),
                "deadLettered": Int64(outcomes.deadLettered),
            ])
        }
        router.get("/dead-letters") { _, _ -> Response in
            let letters = try worker.group.listDeadLetters(max: 100).map { letter in
                ["offset": "\(letter.offset)", "job": letter.job ?? "", "reason": letter.reason,
                 "payload": String(decoding: letter.payload ?? [], as: UTF8.self)]
            }
            return try json(letters)
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: prometheus.emitToBuffer())))
        }

        let port = Int(environment["PORT"] ?? "") ?? 8080
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        // SIGTERM or SIGINT: the server stops accepting, the worker stops claiming, in-flight
        // handlers get their grace period, unfinished tasks are released for redelivery.
        let services = ServiceGroup(
            services: [app, worker], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await services.run()
        logger.info("shut down", metadata: ["released": "\(worker.statistics.released)"])
    }
}

func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try JSONEncoder().encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
