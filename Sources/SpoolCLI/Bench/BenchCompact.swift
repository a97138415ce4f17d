import ArgumentParser
import Glibc
import Spool
import SpoolFormat
import Synchronization

/// `spool bench compact`: how fast the compactor reads while a W2 producer writes beside it,
/// and how much of the producer's uncontended rate it keeps (ISSUE: compaction ≥ 200 MB/s of
/// input with producers at ≥ 0.8× their W2 rate).
struct BenchCompact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract:
            "Compaction rate beside a W2 producer: MB/s of input, producer tasks/s alone and during, their ratio.",
        discussion: """
            Fills a queue with --n tasks, has a group ack all but every --keep-every-th, then
            measures a W2 producer (batch 100, durable) alone for --baseline-secs, then again
            while the compactor rewrites the queue. Prints one JSON line.

            Example:
              spool bench compact --dir /tmp/bc --n 2000000 --segment-bytes 67108864
            """)

    @OptionGroup var bench: BenchOptions

    @Option(help: "Tasks to fill the compacted queue with.")
    var n = 2_000_000

    @Option(name: .customLong("keep-every"), help: "Leave every k-th task unacked (the rest is acked: a sparse log).")
    var keepEvery = 10

    @Option(name: .customLong("max-bytes-per-second"), help: "Compactor throttle in bytes/s (0: unthrottled).")
    var throttle: Int = SpoolOptions().compactionBytesPerSecond

    @Option(name: .customLong("baseline-secs"), help: "Seconds the producer runs alone first.")
    var baselineSeconds = 3.0

    func run() async throws {
        var options = bench.options()
        options.compactionIntervalMilliseconds = nil
        options.compactionBytesPerSecond = throttle
        let root = try SpoolRoot.open(at: bench.dir, options: options)
        defer { root.close() }
        let clock = SystemClock()
        let target = try root.queue("compacted")
        var next = target.committed.nextOffset
        while next < Int64(n) {
            let k = Int(min(1000, Int64(n) - next))
            try target.appendBlocking(
                batch: BenchEnqueue.records(from: Int(next), count: k, size: bench.payload, clock: clock))
            next += Int64(k)
        }
        // One more append in a fresh segment is not needed: sealed segments are what the
        // compactor rewrites; the active one stays as it is.
        let group = try root.group("bench", on: "compacted")
        var acks: [Int64] = []
        for offset in 0..<Int64(n) where offset % Int64(keepEvery) != 0 {
            acks.append(offset)
            if acks.count == 100_000 {
                _ = try await group.acknowledge(offsets: acks)
                acks.removeAll(keepingCapacity: true)
            }
        }
        if !acks.isEmpty { _ = try await group.acknowledge(offsets: acks) }
        let producerLog = try root.queue("producer")
        let alone = Self.produce(producerLog, size: bench.payload, clock: clock) { elapsed, _ in
            elapsed >= baselineSeconds
        }
        let done = Atomic<Bool>(false)
        let during = Mutex<(Int, Double)>((0, 0))
        let size = bench.payload
        let producer = Thread {
            let result = Self.produce(producerLog, size: size, clock: clock) { _, _ in done.load(ordering: .acquiring) }
            during.withLock { $0 = result }
        }
        let started = clock.monotonicNanoseconds()
        let report = try root.compact(queues: ["compacted"])
        let secs = Double(clock.monotonicNanoseconds() - started) / 1e9
        done.store(true, ordering: .releasing)
        producer.join()
        let q = report.queues.first
        let (duringTasks, duringSecs) = during.withLock { $0 }
        let aloneTps = Double(alone.0) / alone.1
        let duringTps = duringSecs > 0 ? Double(duringTasks) / duringSecs : 0
        var line = JSONLine()
        line.add("backend", "spool")
        line.add("workload", "compact")
        line.add("n", n)
        line.add("secs", secs, decimals: 6)
        line.add("bytes_read", q?.bytesRead ?? 0)
        line.add("bytes_written", q?.bytesWritten ?? 0)
        line.add("segments_rewritten", q?.segmentsRewritten ?? 0)
        line.add("compact_mb_s", Double(q?.bytesRead ?? 0) / secs / 1e6, decimals: 1)
        line.add("producer_tps_alone", aloneTps, decimals: 1)
        line.add("producer_tps_during", duringTps, decimals: 1)
        line.add("producer_ratio", aloneTps > 0 ? duringTps / aloneTps : 0, decimals: 3)
        line.add("throttle_bytes_s", throttle)
        line.add("error", q?.error)
        Console.out(line.text)
    }

    /// W2's producer (batches of 100, durable) until `stop(elapsed, tasks)`; returns tasks and seconds.
    static func produce(_ log: QueueLog, size: Int, clock: SystemClock, stop: (Double, Int) -> Bool) -> (Int, Double) {
        let started = clock.monotonicNanoseconds()
        var tasks = 0
        // Bounded by `stop`, which the callers end by time or by a flag.
        while true {
            let elapsed = Double(clock.monotonicNanoseconds() - started) / 1e9
            if stop(elapsed, tasks) { return (tasks, elapsed) }
            do {
                try log.appendBlocking(batch: BenchEnqueue.records(from: tasks, count: 100, size: size, clock: clock))
            } catch {
                return (tasks, elapsed)
            }
            tasks += 100
        }
    }
}
