import ArgumentParser
import Glibc
import Spool
import SpoolFormat
import Synchronization

/// W11: producers and consumers (with acks) at once under `.always` for a duration, sampling
/// RSS, open files and disk use every second; one JSON line with the totals and the samples.
struct BenchMixed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w11",
        abstract:
            "W11: mixed load, producers and consumers with acks, durable; throughput, end-to-end latency, RSS over time."
    )

    @OptionGroup var bench: BenchOptions

    @Option(help: "Seconds to run (bounded: 1 to 604800).")
    var duration: Int = 60

    @Option(help: "Producer threads.")
    var producers = 4

    @Option(help: "Consumer threads.")
    var consumers = 4

    @Option(help: "Tasks per claim and ack.")
    var claim = 100

    func validate() throws {
        guard (1...604_800).contains(duration), (1...256).contains(producers), (1...256).contains(consumers),
            (1...10_000).contains(claim)
        else {
            throw ValidationError("--duration 1...604800, --producers and --consumers 1...256, --claim 1...10000")
        }
    }

    func run() async throws {
        let root = try SpoolRoot.open(at: bench.dir, options: bench.options())
        defer { root.close() }
        let log = try root.queue("w11")
        let group = try root.group("w11", on: "w11")
        let clock = SystemClock()
        let size = max(bench.payload, 16)
        let stop = Atomic<Bool>(false)
        let produced = Atomic<Int>(0)
        let consumed = Atomic<Int>(0)
        let latencies = Mutex(LatencyHistogram())
        let failure = Mutex<String?>(nil)
        let began = clock.monotonicNanoseconds()
        var threads: [Thread] = []
        for _ in 0..<producers {
            threads.append(
                Thread {
                    var payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
                    while !stop.load(ordering: .relaxed) {
                        let now = clock.monotonicNanoseconds()
                        StampedPayload.stamp(&payload, nanoseconds: now)
                        do {
                            try log.appendBlocking(batch: [
                                RecordInput(value: payload, timestamp: clock.wallMilliseconds())
                            ])
                        } catch {
                            failure.withLock { $0 = "\(error)" }
                            return
                        }
                        produced.add(1, ordering: .relaxed)
                    }
                })
        }
        for _ in 0..<consumers {
            threads.append(
                Thread { [claim] in
                    var local = LatencyHistogram()
                    while !stop.load(ordering: .relaxed) {
                        do {
                            let batch = try group.claimBlocking(max: claim)
                            if batch.isEmpty {
                                _ = log.waitForCommit(beyond: log.committed.nextOffset - 1, timeoutMilliseconds: 10)
                                continue
                            }
                            try group.ackBlocking(batch.tasks)
                            let now = clock.monotonicNanoseconds()
                            for task in batch.tasks {
                                if let sent = StampedPayload.stamp(of: task.payload) {
                                    local.add(nanoseconds: now &- sent)
                                }
                            }
                            consumed.add(batch.count, ordering: .relaxed)
                        } catch {
                            failure.withLock { $0 = "\(error)" }
                            return
                        }
                    }
                    latencies.withLock { $0.merge(local) }
                })
        }
        var samples: [String] = []
        for second in 1...duration {
            try await Task.sleep(for: .seconds(1))
            samples.append(
                JSONLine.array([
                    String(second), String(ProcessProbe.residentKiB()), String(ProcessProbe.openFiles()),
                    String(ProcessProbe.allocatedBytes(under: bench.dir)),
                ]))
            if failure.withLock({ $0 }) != nil { break }
        }
        stop.store(true, ordering: .relaxed)
        for thread in threads { thread.join() }
        if let failure = failure.withLock({ $0 }) { throw SpoolError(.io, "w11 stopped: \(failure)") }
        let secs = Double(clock.monotonicNanoseconds() - began) / 1e9
        var line = JSONLine()
        line.add("backend", "spool")
        line.add("workload", "w11")
        line.add("producers", producers)
        line.add("consumers", consumers)
        line.add("secs", secs, decimals: 3)
        line.add("produced", produced.load(ordering: .relaxed))
        line.add("consumed", consumed.load(ordering: .relaxed))
        line.add("produce_tps", Double(produced.load(ordering: .relaxed)) / secs, decimals: 1)
        line.add("consume_tps", Double(consumed.load(ordering: .relaxed)) / secs, decimals: 1)
        let histogram = latencies.withLock { $0 }
        line.add("e2e_p50_us", histogram.percentile(0.5) * 1e6, decimals: 1)
        line.add("e2e_p99_us", histogram.percentile(0.99) * 1e6, decimals: 1)
        line.add("e2e_p999_us", histogram.percentile(0.999) * 1e6, decimals: 1)
        line.addRaw("samples_second_rsskib_fds_diskbytes", JSONLine.array(samples))
        Console.out(line.text)
    }
}

/// What the process and its data use, from /proc and stat(2), for the soak's samples.
enum ProcessProbe {
    static func residentKiB() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return -1 }
        defer { fclose(file) }
        var size = 0
        var resident = 0
        guard fscanfPair(file, &size, &resident) else { return -1 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }

    private static func fscanfPair(_ file: UnsafeMutablePointer<FILE>, _ a: inout Int, _ b: inout Int) -> Bool {
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return false }
        let fields = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: " ")
        guard fields.count >= 2, let x = Int(fields[0]), let y = Int(fields[1]) else { return false }
        a = x
        b = y
        return true
    }

    static func openFiles() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while readdir(dir) != nil { count += 1 }
        return count - 2
    }

    /// Allocated bytes (st_blocks × 512) of the files under `path`, recursively.
    static func allocatedBytes(under path: String) -> Int64 {
        sum(under: path) { Int64($0.st_blocks) * 512 }
    }

    /// Apparent sizes (st_size) of the files under `path`, recursively.
    static func apparentBytes(under path: String) -> Int64 {
        sum(under: path) { Int64($0.st_size) }
    }

    private static func sum(under path: String, _ measure: (stat) -> Int64) -> Int64 {
        guard let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        var total: Int64 = 0
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                total += sum(under: child, measure)
            } else {
                total += measure(info)
            }
        }
        return total
    }
}
