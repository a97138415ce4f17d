// spool-profile: W4's claim+ack loop (and a W2-style fill) without Swift concurrency, so that
// valgrind's callgrind can run it (valgrind 3.19 crashes on the async `spool` binary).
// Instruction counts per claim+ack are what it is for: on a machine shared by other jobs,
// wall-clock figures are noise, instruction counts are not (BENCHMARKS.md, issue 19).
//
//   spool-profile fill  DIR N            # N tasks of 128 B, 100 per durable append (W2)
//   spool-profile drain DIR N [BATCH]    # claim up to BATCH (100), read payloads, ack (W4)
//
// Options come from the environment so the command line stays qbench-like:
// SPOOL_SPIN_US (default 0: no spinning, so spin loops do not count as work), and
// SPOOL_DURABILITY=always|never (default always).
import Glibc
import Spool
import SpoolFormat

func fail(_ message: String) -> Never {
    let line = Array("spool-profile: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

func options() -> SpoolOptions {
    var options = SpoolOptions()
    let env = { (name: String) in getenv(name).map { String(cString: $0) } }
    options.waitSpinMicroseconds = env("SPOOL_SPIN_US").flatMap { Int($0) } ?? 0
    if env("SPOOL_DURABILITY") == "never" { options.durability = .never }
    options.compactionIntervalMilliseconds = nil
    return options
}

/// The WORKLOAD.md payload: `{"id":…}` padded with `x` to `size` bytes.
func payload(id: Int, size: Int) -> [UInt8] {
    var bytes = Array(
        "{\"id\":\(id),\"type\":\"email\",\"to\":\"user\(id % 100_000)@example.com\",\"attempt\":0,\"pad\":\"".utf8)
    let tail = Array("\"}".utf8)
    while bytes.count + tail.count < size { bytes.append(UInt8(ascii: "x")) }
    return bytes + tail
}

func fill(_ dir: String, n: Int) throws {
    let root = try SpoolRoot.open(at: dir, options: options())
    defer { root.close() }
    let log = try root.queue("bench")
    var i = 0
    while i < n {
        let k = min(100, n - i)
        let records = (0..<k).map { RecordInput(value: payload(id: i + $0 + 1, size: 128), timestamp: 0) }
        try log.appendBlocking(batch: records)
        i += k
    }
    print("{\"mode\":\"fill\",\"n\":\(n)}")
}

func drain(_ dir: String, n: Int, batch: Int) throws {
    var opts = options()
    opts.createIfMissing = false
    let root = try SpoolRoot.open(at: dir, options: opts)
    defer { root.close() }
    let group = try root.group("bench", on: "bench")
    var drained = 0
    var bytes = 0
    var claims = 0
    while true {
        let claimed = try group.claimBlocking(max: batch)
        if claimed.isEmpty { break }
        for task in claimed.tasks { bytes += task.payload?.count ?? 0 }
        try group.ackBlocking(claimed.tasks)
        drained += claimed.count
        claims += 1
    }
    print("{\"mode\":\"drain\",\"drained\":\(drained),\"claims\":\(claims),\"ok\":\(drained == n && bytes == 128 * n)}")
    if drained != n { exit(1) }
}

let args = CommandLine.arguments
guard args.count >= 4, let n = Int(args[3]), n > 0 else {
    fail("usage: spool-profile fill|drain DIR N [BATCH]")
}
do {
    switch args[1] {
    case "fill": try fill(args[2], n: n)
    case "drain": try drain(args[2], n: n, batch: args.count > 4 ? Int(args[4]) ?? 100 : 100)
    default: fail("unknown mode \(args[1]); use fill or drain")
    }
} catch {
    fail("\(error)")
}
