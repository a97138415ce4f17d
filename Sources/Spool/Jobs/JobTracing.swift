import SpoolFormat
import Tracing

/// Trace context travels in record headers (whatever names the app's instrument uses, W3C
/// `traceparent` for OpenTelemetry), so a handler's span continues the trace of the request
/// that enqueued its task. Spans go through `InstrumentationSystem`: without a tracer the app
/// bootstrapped they are no-ops. Spool never bootstraps one.
struct RecordHeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [RecordHeader]) {
        carrier.append(RecordHeader(name: key, value: Array(value.utf8)))
    }
}

struct RecordHeaderExtractor: Extractor {
    func extract(key: String, from carrier: [RecordHeader]) -> String? {
        TaskHeaders.text(key, in: carrier, bytesMax: 1024)
    }
}

enum JobTracing {
    /// The trace context a task was enqueued under, or a top-level one.
    static func parent(of task: QueueTask) -> InstrumentationContext {
        var context = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(task.headers, into: &context, using: RecordHeaderExtractor())
        return context
    }

    /// Writes `context`'s trace headers into `record`.
    static func inject(_ context: InstrumentationContext, into record: inout RecordInput) {
        InstrumentationSystem.instrument.inject(context, into: &record.headers, using: RecordHeaderInjector())
    }

    /// The OpenTelemetry messaging attributes plus Spool's own.
    static func describe(_ span: any Span, queue: String, job: String?, offset: Int64? = nil, attempt: Int? = nil) {
        span.attributes["messaging.system"] = "spool"
        span.attributes["messaging.destination.name"] = queue
        if let job { span.attributes["spool.job"] = job }
        if let offset { span.attributes["messaging.message.id"] = "\(offset)" }
        if let attempt { span.attributes["spool.attempt"] = attempt }
    }
}
