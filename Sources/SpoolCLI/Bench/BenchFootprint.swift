import ArgumentParser
import Glibc
import Spool

/// `spool bench w7`: W2's enqueue once per codec, each into a fresh root under `--dir`, then
/// the bytes each takes on disk (WORKLOAD.md, W7). One JSON line per codec; the codecs after
/// `none` also carry their ratios to it.
struct BenchFootprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w7",
        abstract: "W7: footprint with compression (W2's tasks with none, lz4 and zstd).",
        discussion: """
            Each codec writes into DIR/<n>-<codec>, which must not exist yet. Allocated bytes are
            st_blocks × 512 of every file of the queue after the root is closed.
            Example:
              spool bench w7 --dir /tmp/w7 --n 200000 --batch 100
              spool bench w7 --dir /tmp/w7b --batch 1 --threads 16 --n 64000 --linger-us 500   # single-task \
              producers, lingering
            """)

    @Option(help: "Data directory; one root per codec is made under it.")
    var dir: String

    @Option(help: "Tasks per codec.")
    var n = 200_000

    @Option(help: "Tasks per append.")
    var batch = 100

    @Option(help: "Concurrent producers.")
    var threads = 1

    @Option(help: "Bytes per task.")
    var payload = 128

    @Option(help: "Comma-separated codecs to run, e.g. none,gzip,snappy,lz4,zstd,zstd:9.")
    var codecs = "none,lz4,zstd"

    @Option(name: .customLong("linger-us"), help: "Batch linger for compressed runs (µs).")
    var lingerMicroseconds = 0

    func validate() throws {
        guard n > 0, batch > 0, threads > 0, threads <= 1024, payload >= 2 else {
            throw ValidationError(
                "--n, --batch, --threads and --payload must be positive (threads ≤ 1024, payload ≥ 2)")
        }
        for codec in codecList where (try? Compression(parsing: codec)) == nil {
            throw ValidationError("unknown codec '\(codec)' in --codecs (\(Compression.spellings))")
        }
    }

    private var codecList: [String] { codecs.split(separator: ",").map(String.init) }

    func run() async throws {
        let clock = SystemClock()
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw SpoolError(.io, "cannot create the bench directory", path: dir, errno: errno)
        }
        var baseline: (tps: Double, bytes: Int64)? = nil
        for (index, name) in codecList.enumerated() {
            let compression = try Compression(parsing: name)
            let path = dir + "/\(index + 1)-" + name.replacingColons()
            var options = SpoolOptions()
            options.compression = compression
            options.lingerMicroseconds = compression == .none ? 0 : lingerMicroseconds
            let root = try SpoolRoot.open(at: path, options: options)
            let log = try root.queue(BenchOptions.queue)
            let started = clock.monotonicNanoseconds()
            let samples = try BenchEnqueue.runThreads(
                log: log, n: n, batch: batch, producers: threads, size: payload, clock: clock)
            let secs = Double(clock.monotonicNanoseconds() - started) / 1e9
            root.close()
            let allocated = ProcessProbe.allocatedBytes(under: log.directory)
            let apparent = ProcessProbe.apparentBytes(under: log.directory)
            let tps = Double(n) / secs
            var line = JSONLine()
            line.add("backend", "spool")
            line.add("workload", "w7")
            line.add("compression", compression.description)
            line.add("n", n)
            line.add("batch", batch)
            line.add("threads", threads)
            line.add("payload", payload)
            line.add("linger_us", options.lingerMicroseconds)
            line.add("secs", secs, decimals: 6)
            line.add("tps", tps, decimals: 1)
            samples.summary().add(to: &line)
            line.add("bytes_on_disk", allocated)
            line.add("apparent_bytes", apparent)
            line.add("bytes_per_task", Double(allocated) / Double(n), decimals: 1)
            line.add("apparent_bytes_per_task", Double(apparent) / Double(n), decimals: 1)
            if let baseline {
                line.add("tps_vs_none", tps / baseline.tps, decimals: 3)
                line.add("bytes_vs_none", Double(allocated) / Double(baseline.bytes), decimals: 3)
            }
            if compression == .none { baseline = (tps, allocated) }
            Console.out(line.text)
            Console.flush()
        }
    }
}

extension String {
    /// "zstd:9" → "zstd-9": a codec spelling usable as a directory name.
    func replacingColons() -> String { String(map { $0 == ":" ? "-" : $0 }) }
}
