import ArgumentParser
import Glibc
import Spool
import SpoolFormat
import Synchronization

/// `spool bench`: the workloads of WORKLOAD.md with the peers' qbench command line and JSON,
/// so that `../shared/peers/run_all.sh --ext spool=Tools/spool-qbench` runs Spool beside them.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run benchmark workloads (WORKLOAD.md); prints one JSON line each.",
        discussion: """
            Examples:
              spool bench enqueue --dir /tmp/b --n 200000 --batch 100 --threads 1     # W2
              spool bench enqueue --dir /tmp/b --n 64000 --batch 1 --threads 16       # W3
              spool bench enqueue --dir /tmp/b --n 200000 --batch 100 --crash && spool bench recover --dir /tmp/b   # W6
              spool bench w7 --dir /tmp/b                                             # W7: W2 with none, lz4, zstd
            """,
        subcommands: [
            BenchAll.self, BenchEnqueue.self, BenchRecover.self, BenchDrain.self, BenchFootprint.self,
            BenchHandOff.self, BenchMixed.self, BenchCompact.self, BenchAcks.self, BenchCoder.self,
        ])
}

/// Flags shared with qbench (WORKLOAD.md, "Adding an engine") plus Spool's own.
struct BenchOptions: ParsableArguments {
    @Option(help: "Accepted for qbench compatibility and ignored.")
    var backend: String?

    @Option(help: "Data directory.")
    var dir: String

    @Option(help: "Bytes per task.")
    var payload = 128

    @Option(help: "always | interval:MS | never")
    var durability: Durability = .always

    @Option(name: .customLong("segment-bytes"), help: "Segment size in bytes.")
    var segmentBytes: Int?

    @Option(help: "Seconds (accepted for qbench compatibility).")
    var timeout: Double?

    @Option(
        name: .customLong("spin-us"),
        help: "How long waiting producers and the idle writer spin before they sleep (µs).")
    var spinMicroseconds: Int?

    @Option(name: .customLong("prealloc-step"), help: "Bytes zero-filled ahead of the tail at a time.")
    var preallocationStep: Int?

    @OptionGroup var compression: CompressionOptions

    func options() -> SpoolOptions {
        var options = SpoolOptions()
        compression.apply(to: &options)
        options.durability = durability
        if let segmentBytes { options.segmentBytes = segmentBytes }
        if let spinMicroseconds { options.waitSpinMicroseconds = spinMicroseconds }
        if let preallocationStep { options.preallocationStepBytes = preallocationStep }
        return options
    }

    static let queue = "bench"
}

struct BenchEnqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue", abstract: "W1/W2/W3: durable enqueue, one JSON line (n, secs, tps, p50_us … max_us).")

    @OptionGroup var bench: BenchOptions

    @Option(help: "Tasks in all.")
    var n: Int

    @Option(help: "Tasks per append (one durable commit).")
    var batch = 1

    @Option(help: "Concurrent producers.")
    var threads = 1

    @Flag(help: "After printing, die by SIGKILL without closing anything (W6 setup).")
    var crash = false

    @Flag(
        name: .customLong("async"),
        help: "Producers are Swift tasks using `append` (default: threads using `appendBlocking`, as qbench's threads)."
    )
    var useAsync = false

    @Flag(help: "Enqueue typed jobs (JSON parameters with a --payload byte body) instead of raw bytes.")
    var typed = false

    /// The tasks of producer `p` of `producers`: ids from+1 ... from+count (as qbench splits them).
    static func share(_ p: Int, n: Int, producers: Int) -> (from: Int, count: Int) {
        let per = n / producers
        return (p * per, p == producers - 1 ? n - p * per : per)
    }

    static func records(from: Int, count k: Int, size: Int, clock: SystemClock, typed: Bool) throws -> [RecordInput] {
        if typed { return try BenchTyped.records(from: from, count: k, size: size, clock: clock) }
        return records(from: from, count: k, size: size, clock: clock)
    }

    static func records(from: Int, count k: Int, size: Int, clock: SystemClock) -> [RecordInput] {
        let now = clock.wallMilliseconds()
        return (0..<k).map { RecordInput(value: Payload.make(id: UInt64(from + $0 + 1), size: size), timestamp: now) }
    }

    /// Producers as OS threads calling appendBlocking, like qbench's pthreads.
    static func runThreads(
        log: QueueLog, n: Int, batch: Int, producers: Int, size: Int, clock: SystemClock, typed: Bool = false
    ) throws -> LatencySamples {
        let results = Mutex<[Result<LatencySamples, any Error>]>([])
        var threads: [Thread] = []
        for p in 0..<producers {
            let (from, count) = share(p, n: n, producers: producers)
            threads.append(
                Thread {
                    var samples = LatencySamples()
                    do {
                        var i = 0
                        while i < count {
                            let k = min(batch, count - i)
                            let records = try records(from: from + i, count: k, size: size, clock: clock, typed: typed)
                            let a = clock.monotonicNanoseconds()
                            try log.appendBlocking(batch: records)
                            samples.add(Double(clock.monotonicNanoseconds() - a) / 1e9)
                            i += k
                        }
                        results.withLock { $0.append(.success(samples)) }
                    } catch {
                        results.withLock { $0.append(.failure(error)) }
                    }
                })
        }
        for thread in threads { thread.join() }
        var all = LatencySamples()
        for result in results.withLock({ $0 }) { all.merge(try result.get()) }
        return all
    }

    /// Producers as Swift tasks calling the async append.
    static func runTasks(
        log: QueueLog, n: Int, batch: Int, producers: Int, size: Int, clock: SystemClock, typed: Bool = false
    ) async throws -> LatencySamples {
        try await withThrowingTaskGroup(of: LatencySamples.self) { group in
            for p in 0..<producers {
                let (from, count) = share(p, n: n, producers: producers)
                group.addTask {
                    var samples = LatencySamples()
                    var i = 0
                    while i < count {
                        let k = min(batch, count - i)
                        let records = try records(from: from + i, count: k, size: size, clock: clock, typed: typed)
                        let a = clock.monotonicNanoseconds()
                        try await log.append(batch: records)
                        samples.add(Double(clock.monotonicNanoseconds() - a) / 1e9)
                        i += k
                    }
                    return samples
                }
            }
            var all = LatencySamples()
            for try await s in group { all.merge(s) }
            return all
        }
    }

    func validate() throws {
        guard n > 0, batch > 0, threads > 0, threads <= 1024, bench.payload >= 2 else {
            throw ValidationError(
                "--n, --batch, --threads and --payload must be positive (threads ≤ 1024, payload ≥ 2)")
        }
    }

    func run() async throws {
        let root = try SpoolRoot.open(at: bench.dir, options: bench.options())
        let log = try root.queue(BenchOptions.queue)
        let (n, batch, threads, size) = (self.n, self.batch, self.threads, bench.payload)
        let clock = SystemClock()
        let started = clock.monotonicNanoseconds()
        let samples =
            useAsync
            ? try await Self.runTasks(
                log: log, n: n, batch: batch, producers: threads, size: size, clock: clock, typed: typed)
            : try Self.runThreads(
                log: log, n: n, batch: batch, producers: threads, size: size, clock: clock, typed: typed)
        let secs = Double(clock.monotonicNanoseconds() - started) / 1e9
        var line = JSONLine()
        line.add("backend", "spool")
        line.add("workload", "enqueue")
        line.add("n", n)
        line.add("batch", batch)
        line.add("threads", threads)
        line.add("payload", size)
        line.add("secs", secs, decimals: 6)
        line.add("tps", Double(n) / secs, decimals: 1)
        samples.summary().add(to: &line)
        line.add("durability", bench.durability.description)
        line.add("compression", bench.compression.compression.description)
        line.add("api", useAsync ? "async" : "blocking")
        line.add("tasks", typed ? "typed" : "raw")
        Console.out(line.text)
        Console.flush()
        if crash { kill(getpid(), SIGKILL) }
        root.close()
    }
}

struct BenchRecover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "W6: open after SIGKILL and read the first pending task; prints secs and found.")

    @OptionGroup var bench: BenchOptions

    func run() async throws {
        let clock = SystemClock()
        let started = clock.monotonicNanoseconds()
        var options = bench.options()
        options.createIfMissing = false
        let root = try SpoolRoot.open(at: bench.dir, options: options)
        let log = try root.queue(BenchOptions.queue)
        var reader = log.reader(from: log.firstOffset)
        let first = try reader.read(max: 1)
        let end = clock.monotonicNanoseconds()
        var line = JSONLine()
        line.add("backend", "spool")
        line.add("workload", "recover")
        line.add("secs", Double(end - started) / 1e9, decimals: 6)
        line.add("t_end_mono", Double(end) / 1e9, decimals: 6)
        line.add("found", first.isEmpty ? -1 : 1)
        line.add("tries", 1)
        line.add("bytes_scanned", log.recoveryReport.bytesScanned)
        line.add("bytes_truncated", log.recoveryReport.bytesTruncated)
        Console.out(line.text)
        root.close()
    }
}

struct BenchDrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "W4: claim up to --batch tasks, read each payload, ack them in one durable commit, until empty.")

    @OptionGroup var bench: BenchOptions

    @Option(help: "Tasks expected in the queue (the JSON's expected and ok fields).")
    var n: Int

    @Option(help: "Tasks per claim and per ack commit.")
    var batch = 100

    @Flag(help: "Decode each task as a typed job (after `bench enqueue --typed`), as a worker would.")
    var typed = false

    static let group = "bench"

    func run() async throws {
        let clock = SystemClock()
        let root = try SpoolRoot.open(at: bench.dir, options: bench.options())
        let group = try root.group(Self.group, on: BenchOptions.queue)
        var samples = LatencySamples()
        var drained = 0
        var payloadBytes = 0
        let started = clock.monotonicNanoseconds()
        while true {
            let a = clock.monotonicNanoseconds()
            let claimed = try group.claimBlocking(max: batch)
            if claimed.isEmpty { break }
            for task in claimed.tasks { payloadBytes += typed ? try BenchTyped.handle(task) : task.payload?.count ?? 0 }
            try group.ackBlocking(claimed.tasks)
            samples.add(Double(clock.monotonicNanoseconds() - a) / 1e9)
            drained += claimed.count
        }
        let secs = Double(clock.monotonicNanoseconds() - started) / 1e9
        var line = JSONLine()
        line.add("backend", "spool")
        line.add("workload", "drain")
        line.add("n", drained)
        line.add("batch", batch)
        line.add("threads", 1)
        line.add("payload", bench.payload)
        line.add("secs", secs, decimals: 6)
        line.add("tps", secs > 0 ? Double(drained) / secs : 0, decimals: 1)
        samples.summary().add(to: &line)
        line.add("drained", drained)
        line.add("expected", n)
        line.add("tasks", typed ? "typed" : "raw")
        line.add("ok", drained == n && payloadBytes == drained * bench.payload)
        Console.out(line.text)
        root.close()
    }
}

/// W9: one producer and one consumer in one process, durability `.never`: how long a task takes
/// from its enqueue call to the consumer that follows the log.
struct BenchHandOff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w9",
        abstract: "W9: in-process hand-off, 1 producer and 1 consumer, durability never; enqueue-to-delivery latency.")

    @OptionGroup var bench: BenchOptions

    @Option(help: "Tasks in all.")
    var n = 1_000_000

    func run() async throws {
        var options = bench.options()
        options.durability = .never
        let root = try SpoolRoot.open(at: bench.dir, options: options)
        defer { root.close() }
        let log = try root.queue("w9")
        let start = log.committed.nextOffset
        let (n, size) = (self.n, max(bench.payload, 16))
        let clock = SystemClock()
        let began = clock.monotonicNanoseconds()
        let latencies = Mutex(LatencySamples())
        let failure = Mutex<(any Error)?>(nil)
        let consumer = Thread {
            var reader = log.reader(from: start)
            var samples = LatencySamples()
            do {
                while samples.count < n {
                    guard let batch = try reader.nextBatch() else {
                        _ = log.waitForCommit(beyond: reader.nextOffset - 1, timeoutMilliseconds: 1000)
                        continue
                    }
                    let now = clock.monotonicNanoseconds()
                    for record in batch.records {
                        guard let sent = StampedPayload.stamp(of: record.value) else {
                            throw SpoolError(
                                .invalidArgument, "offset \(record.offset) carries no W9 timestamp",
                                offset: record.offset)
                        }
                        samples.add(Double(now &- sent) / 1e9)
                    }
                }
            } catch {
                failure.withLock { $0 = error }
            }
            latencies.withLock { $0 = samples }
        }
        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        for _ in 0..<n {
            let now = clock.monotonicNanoseconds()
            StampedPayload.stamp(&payload, nanoseconds: now)
            try log.appendBlocking(batch: [RecordInput(value: payload, timestamp: 0)])
        }
        consumer.join()
        if let error = failure.withLock({ $0 }) { throw error }
        let secs = Double(clock.monotonicNanoseconds() - began) / 1e9
        var line = JSONLine()
        line.add("backend", "spool")
        line.add("workload", "w9")
        line.add("n", n)
        line.add("payload", size)
        line.add("secs", secs, decimals: 6)
        line.add("tps", Double(n) / secs, decimals: 1)
        latencies.withLock { $0 }.summary().add(to: &line)
        Console.out(line.text)
    }
}
