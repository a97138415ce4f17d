import ArgumentParser
import FoundationEssentials
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
    static let nameBytes = Array(job.name.utf8)
    static let encodingBytes = Array(job.coder.name.utf8)

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
        guard name == nameBytes, encoding == encodingBytes else {
            throw SpoolError(
                .corruption, "task is not a typed bench job (run `bench enqueue --typed` first)", offset: task.offset)
        }
        return try job.coder.decode(Parameters.self, from: task.payload ?? []).body.utf8.count
    }
}

/// `spool bench coder`: the CPU cost of one typed job's parameters alone, no disk: ns per
/// encode and per decode of `bench enqueue --typed`'s parameters with ``JSONJobCoder`` and
/// with Foundation's `JSONEncoder`/`JSONDecoder` (what ``JSONJobCoder`` used before), one
/// thread. Shows how much of the typed/raw gap is JSON, apart from the I/O noise of W2 and W4.
struct BenchCoder: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coder",
        abstract: "Typed-job parameters: ns per JSON encode and decode, JSONJobCoder against Foundation; one JSON line."
    )

    @Option(help: "Encodes and decodes per coder.")
    var n = 200_000

    @Option(help: "Bytes of the parameters' body.")
    var payload = 128

    func validate() throws {
        guard (1...100_000_000).contains(n), (0...1_000_000).contains(payload) else {
            throw ValidationError("--n must be 1...100000000 and --payload 0...1000000")
        }
    }

    func run() throws {
        let clock = SystemClock()
        let parameters = BenchTyped.Parameters(id: 12_345, body: String(repeating: "x", count: payload))
        let coder = JSONJobCoder()
        let bytes = try coder.encode(parameters)
        let foundationEncoder = JSONEncoder()
        let foundationDecoder = JSONDecoder()
        func time(_ body: () throws -> Int) rethrows -> Double {
            let start = clock.monotonicNanoseconds()
            var sink = 0
            for _ in 0..<n { sink &+= try body() }
            precondition(sink != 0)
            return Double(clock.monotonicNanoseconds() - start) / Double(n)
        }
        var line = JSONLine()
        line.add("workload", "coder")
        line.add("n", n)
        line.add("payload", payload)
        line.add("json_bytes", bytes.count)
        line.add("spool_encode_ns", try time { try coder.encode(parameters).count }, decimals: 1)
        line.add(
            "spool_decode_ns",
            try time { try coder.decode(BenchTyped.Parameters.self, from: bytes).body.utf8.count + 1 }, decimals: 1)
        line.add("foundation_encode_ns", try time { try foundationEncoder.encode(parameters).count }, decimals: 1)
        line.add(
            "foundation_decode_ns",
            try time {
                try foundationDecoder.decode(BenchTyped.Parameters.self, from: Data(bytes)).body.utf8.count + 1
            }, decimals: 1)
        Console.out(line.text)
    }
}
