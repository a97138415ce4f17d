import ArgumentParser
import Glibc
import Spool
import SpoolFormat

/// `spool bench acks`: the cost of `acknowledge(offsets:)` when offsets come scattered against
/// when they come in order (issue 19: scattered ≤ 2× in-order at 100,000 offsets). One group
/// acks the queue's offsets in order, another the same offsets in a seeded random order, both
/// in calls of `--per-call` offsets; only the acknowledge calls are timed.
struct BenchAcks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acks",
        abstract: "acknowledge(offsets:) in order against scattered; one JSON line with both times and their ratio.",
        discussion: """
            Example (the group logs' syncs left out, to see the ack bookkeeping itself):
              spool bench acks --dir /tmp/ba --n 100000 --per-call 100 --durability never
            """)

    @OptionGroup var bench: BenchOptions

    @Option(help: "Tasks in the queue, each acked once by each group.")
    var n = 100_000

    @Option(name: .customLong("per-call"), help: "Offsets per acknowledge(offsets:) call.")
    var perCall = 100

    @Option(help: "Seed of the scattered order.")
    var seed: UInt64 = 19

    @Option(help: "both | in-order | scattered (one alone, e.g. under callgrind).")
    var order = "both"

    func validate() throws {
        guard n > 0, n <= 100_000_000, perCall > 0, ["both", "in-order", "scattered"].contains(order) else {
            throw ValidationError("--n must be 1...100000000, --per-call positive, --order both, in-order or scattered")
        }
    }

    func run() async throws {
        let root = try SpoolRoot.open(at: bench.dir, options: bench.options())
        defer { root.close() }
        let log = try root.queue(BenchOptions.queue)
        let clock = SystemClock()
        let first = log.committed.nextOffset
        var next = first
        while next < first + Int64(n) {
            let k = Int(min(1000, first + Int64(n) - next))
            try log.appendBlocking(
                batch: BenchEnqueue.records(from: Int(next), count: k, size: bench.payload, clock: clock))
            next += Int64(k)
        }
        let inOrder = Array(first..<next)
        var scattered = inOrder
        var random = SplitMix64(seed: seed)
        scattered.shuffle(using: &random)
        var line = JSONLine()
        line.add("backend", "spool")
        line.add("workload", "acks")
        line.add("n", n)
        line.add("per_call", perCall)
        var times: [String: Double] = [:]
        var ok = true
        for (name, flag, offsets) in [("in_order", "in-order", inOrder), ("scattered", "scattered", scattered)]
        where order == "both" || order == flag {
            // A fresh group name per run, so that a second run on the same directory starts from nothing.
            let group = try root.group("\(name)-\(first)", on: BenchOptions.queue)
            let started = clock.monotonicNanoseconds()
            var i = 0
            while i < offsets.count {
                let end = min(i + perCall, offsets.count)
                _ = try await group.acknowledge(offsets: Array(offsets[i..<end]))
                i = end
            }
            let secs = Double(clock.monotonicNanoseconds() - started) / 1e9
            times[name] = secs
            line.add("\(name)_secs", secs, decimals: 6)
            ok = ok && group.progress.watermark == next && group.progress.ackedAboveWatermark == 0
        }
        if let a = times["in_order"], let b = times["scattered"], a > 0 { line.add("ratio", b / a, decimals: 3) }
        line.add("durability", bench.durability.description)
        line.add("ok", ok)
        Console.out(line.text)
    }
}
