import Spool

/// `spool bench enqueue --typed` and `bench drain --typed`: the same workloads through typed jobs
/// (issue 18), to compare their overhead with raw bytes: a `Job` with JSON parameters whose body
/// is `--payload` bytes, encoded per task on enqueue and decoded per task on drain.
enum BenchTyped {
    struct Parameters: Codable, Sendable {
        var id: UInt64
        var body: String
    }

    static let job = Job<Parameters>("bench")

    /// `count` typed-job records with ids from+1 ... from+count, each body `size` bytes.
    /// - Throws: the coder's errors (none for these parameters).
    static func records(from: Int, count: Int, size: Int, clock: SystemClock) throws -> [RecordInput] {
        let now = clock.wallMilliseconds()
        let body = String(repeating: "x", count: size)
        return try (0..<count).map { try job.record(Parameters(id: UInt64(from + $0 + 1), body: body), timestamp: now) }
    }

    /// Decodes a drained task as the worker would (job name and encoding checked, parameters
    /// decoded); returns its body's size.
    /// - Throws: `.corruption` naming the offset when the task is not this job or does not decode.
    static func handle(_ task: QueueTask) throws -> Int {
        let name = task.headers.first { $0.name == TaskHeaders.jobName }?.value
        let encoding = task.headers.first { $0.name == TaskHeaders.jobEncodingName }?.value
        guard name == Array(job.name.utf8), encoding == Array(job.coder.name.utf8) else {
            throw SpoolError(.corruption, "task is not a typed bench job (run `bench enqueue --typed` first)", offset: task.offset)
        }
        return try job.coder.decode(Parameters.self, from: task.payload ?? []).body.utf8.count
    }
}
