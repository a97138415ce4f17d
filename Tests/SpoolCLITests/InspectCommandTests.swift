import Foundation
@testable import Spool
import SpoolFormat
import Testing

/// `spool verify`, `stats`, `tail`, `repair` and `dump`'s ranges and `--index`, run as real
/// processes, with golden output in fixtures/cli/ (SPOOL_UPDATE_GOLDEN=1 rewrites it).
@Suite("inspect commands")
struct InspectCommandTests {
    static let start: Int64 = 1_790_000_000_000

    /// A root with fixed content and timestamps: queue q of 300 tasks (one second apart, 64 KiB
    /// segments, some with keys and headers), group g that acked 0..<100 and 150, and one dead
    /// letter in q.dlq. Output about it is the same on every run, apart from the path.
    static func makeRoot(_ path: String) async throws {
        var options = SpoolOptions()
        options.segmentBytes = 64 << 10
        options.logger.logLevel = .critical
        options.segmentMaxAgeMilliseconds = 1_000 * 365 * 86_400_000
        let root = try SpoolRoot.open(at: path, options: options)
        defer { root.close() }
        let q = try root.queue("q")
        for i in Int64(0)..<300 {
            let text = "task \(i) " + String(repeating: "x", count: 300)
            try await q.append(Array(text.utf8), key: i % 3 == 0 ? Array("key-\(i)".utf8) : nil,
                               headers: i % 5 == 0 ? [RecordHeader(name: "trace", value: Array("t\(i)".utf8))] : [],
                               timestamp: start + i * 1000)
        }
        _ = try await root.group("g", on: "q").acknowledge(offsets: Array(0..<100) + [150])
        try await root.openQueue("q.dlq").append(Array("dead".utf8), timestamp: start)  // the engine's own name
    }

    /// Output with the scratch path and timings replaced, so golden files hold what is stable.
    static func normalized(_ text: String, root: String) -> String {
        var out = text.replacingOccurrences(of: root, with: "ROOT")
        for (pattern, replacement) in [
            (#"in [0-9.]+ (µs|ms|s) \([0-9.]+ (B|KiB|MiB|GiB)/s\)"#, "in TIME (RATE/s)"),
            (#""seconds":[0-9.]+"#, #""seconds":TIME"#),
            (#""disk_bytes":[0-9]+"#, #""disk_bytes":DISK"#),
            (#"(spool_queue_disk_bytes\{[^}]*\}) [0-9]+"#, "$1 DISK"),
        ] {
            out = out.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return out
    }

    static let interop = "fixtures/interop/00000000000000001000.log"

    @Test("verify of a Kafka client's segment is clean and matches the golden text and JSON")
    func verifyInteropGolden() async throws {
        for (arguments, golden) in [
            (["verify", Self.interop], "fixtures/cli/verify-interop.txt"),
            (["verify", Self.interop, "--json"], "fixtures/cli/verify-interop.jsonl"),
        ] {
            let r = try await SpoolProcess.run(arguments, directory: SpoolProcess.repositoryRoot)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.isEmpty, "no progress bar when standard error is not a terminal")
            try Golden.check(Self.normalized(r.stdout, root: "/nonexistent"), against: golden)
        }
    }

    @Test("verify of a damaged root lists each problem with kind, file, position and offset, exits 1, and matches the golden output")
    func verifyDamagedGolden() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.makeRoot(root)
        let queue = root + "/queues/q"
        let segments = try FileManager.default.contentsOfDirectory(atPath: queue).filter { $0.hasSuffix(".log") }.sorted()
        #expect(segments.count >= 2)
        // A flipped bit in the first segment's third batch, a torn tail on the last, a leftover.
        let first = queue + "/" + segments[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: first))
        let second = Int(UInt32(bigEndian: bytes.subdata(in: 8..<12).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })) + 12
        let third = second + Int(UInt32(bigEndian: bytes.subdata(in: second + 8..<second + 12).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })) + 12
        bytes[third + 100] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: first))
        let last = queue + "/" + segments.last!
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: last))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0, 0, 0, 0, 0, 1, 44, 0, 0, 1, 0, 0, 0, 0, 0, 2, 9, 9]))
        try handle.close()
        try Data([1]).write(to: URL(fileURLWithPath: queue + "/recovery-point.tmp"))
        // Relative paths, run in the scratch directory: the text is the same on every run.
        for (arguments, golden) in [
            (["verify", "--dir", "root"], "fixtures/cli/verify-damaged.txt"),
            (["verify", "root", "--json"], "fixtures/cli/verify-damaged.jsonl"),
            (["repair", "--dir", "root", "--dry-run"], "fixtures/cli/repair-dry-run.txt"),
        ] {
            let r = try await SpoolProcess.run(arguments, directory: dir.path)
            #expect(r.status == 1, "\(arguments): \(r.stderr)")
            try Golden.check(Self.normalized(r.stdout, root: root), against: golden)
        }
        // Repair then leaves the corruption it does not fix out of the log and verify passes.
        let repaired = try await SpoolProcess.run(["repair", "--dir", root])
        #expect(repaired.status == 0, "\(repaired.stdout) \(repaired.stderr)")
        #expect(repaired.stdout.contains("truncate \(last) at position"))
        #expect(repaired.stdout.contains("remove \(queue)/recovery-point.tmp"))
        let after = try await SpoolProcess.run(["verify", "--dir", root])
        #expect(after.status == 0, "\(after.stdout)")
        // Only the damaged batch (offset 2) leaves the log: the intact batches after it moved to a segment of their own.
        #expect(after.stdout.contains("note: \(queue)/00000000000000000003.log: offsets 2–2 are not in the log: cut by repair and kept in \(queue)/00000000000000000000.768.broken"), "\(after.stdout)")
        #expect(after.stdout.contains("clean: verified"))
    }

    @Test("stats shows tasks, depth, lag, oldest pending age and dead letters; JSON and Prometheus match the golden output")
    func statsGolden() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.makeRoot(root)
        let now = String(Self.start + 400_000)
        for (arguments, golden) in [
            (["stats", "--dir", root, "--now", now, "--json"], "fixtures/cli/stats.jsonl"),
            (["stats", "--dir", root, "--now", now, "--prometheus"], "fixtures/cli/stats.prom"),
        ] {
            let r = try await SpoolProcess.run(arguments)
            #expect(r.status == 0, "\(r.stderr)")
            try Golden.check(Self.normalized(r.stdout, root: root), against: golden)
        }
        let text = try await SpoolProcess.run(["stats", "--dir", root, "--now", "2026-09-21T14:40:00Z"])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("QUEUE  TASKS  DEPTH  OLDEST PENDING  SEGMENTS") == true)
        #expect(lines.contains { $0.hasPrefix("q        300    199") && $0.contains("none") })
        #expect(lines.contains { $0.hasPrefix("q      g") && $0.contains("100  199") }, "\(text.stdout)")
        let queue = try await SpoolProcess.run(["stats", "--dir", root, "--queue", "nope"])
        #expect(queue.status == 2)
        #expect(queue.stderr.contains("no queue named nope"))
    }

    @Test("dump --index lists index entries checked against the log (golden), and a wrong entry is BAD with exit 1")
    func dumpIndexGolden() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.makeRoot(root)
        let index = root + "/queues/q/00000000000000000000.index"
        var r = try await SpoolProcess.run(["dump", "root/queues/q/00000000000000000000.log", "--index"], directory: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        try Golden.check(Self.normalized(r.stdout, root: root), against: "fixtures/cli/dump-index.txt")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: index))
        bytes[15] ^= 1  // entry 1's position, now inside a batch
        try bytes.write(to: URL(fileURLWithPath: index))
        r = try await SpoolProcess.run(["dump", root + "/queues/q/00000000000000000000.log", "--index", "--json"])
        #expect(r.status == 1)
        #expect(r.stdout.contains(#""entry":1,"#) && r.stdout.contains("is not the start of a batch"))
    }

    @Test("dump ranges by offset and time start through the indexes and print only records inside them")
    func dumpRanges() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.makeRoot(root)
        var r = try await SpoolProcess.run(["dump", root + "/queues/q", "--from-offset", "250", "--to-offset", "252", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let offsets = r.stdout.split(separator: "\n").filter { $0.contains(#""type":"record""#) }.compactMap { line -> Int? in
            guard let range = line.range(of: #""offset":"#) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(offsets == [250, 251, 252])
        #expect(r.stdout.contains(#""value_bytes":309"#), "without --payloads the value's size is shown, not the value")
        r = try await SpoolProcess.run(["dump", root + "/queues/q", "--from-time", String(Self.start + 200_000), "--to-time", String(Self.start + 201_000), "--payloads"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("from position"), "the start came from the time index")
        #expect(r.stdout.contains("offset 200  time") && r.stdout.contains("offset 201  time") && !r.stdout.contains("offset 202  time"))
        #expect(r.stdout.contains(#"key "key-201""#) && r.stdout.contains(#"value 309 B "task 200 xxx"#))
        // A group's log is dumped when its directory is given (a root's dump is the tasks only).
        r = try await SpoolProcess.run(["dump", root + "/queues/q/groups/g", "--records"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("groups/g/00000000000000000000.log") && r.stdout.contains("offset 0  time"))
        r = try await SpoolProcess.run(["dump", root])
        #expect(!r.stdout.contains("groups/g"))
    }

    @Test("bad input: missing paths, non-segments, empty and zero files, a huge length field, ranges outside the log and garbage arguments")
    func badInput() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.makeRoot(root)
        for arguments in [["verify", "/nonexistent/spool"], ["dump", "/nonexistent/spool"], ["stats", "--dir", "/nonexistent/spool"],
                          ["tail", "--dir", "/nonexistent/spool"], ["repair", "/nonexistent/spool"]] {
            let r = try await SpoolProcess.run(arguments)
            #expect(r.status == 2, "\(arguments)")
            #expect(r.stderr.contains("/nonexistent/spool"), "\(arguments): \(r.stderr)")
        }
        let notSegment = dir.path + "/notes.txt", empty = dir.path + "/empty.log", zeros = dir.path + "/zeros.log", huge = dir.path + "/huge.log"
        try Data(String(repeating: "hello, this is not a segment\n", count: 4).utf8).write(to: URL(fileURLWithPath: notSegment))
        try Data().write(to: URL(fileURLWithPath: empty))
        try Data(count: 65536).write(to: URL(fileURLWithPath: zeros))
        var header = Data(count: 61)
        header[8] = 0x7f; header[9] = 0xff; header[10] = 0xff; header[11] = 0xff; header[16] = 2
        try header.write(to: URL(fileURLWithPath: huge))
        var r = try await SpoolProcess.run(["verify", notSegment])
        #expect(r.status == 1)
        #expect(r.stdout.contains("torn tail") && r.stdout.contains("bad magic"))
        for path in [empty, zeros] {
            r = try await SpoolProcess.run(["verify", path])
            #expect(r.status == 0, "\(path)")
            #expect(r.stdout.contains("0 batches"))
        }
        r = try await SpoolProcess.run(["verify", huge, "--json"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("bad batchLength 2147483647"))
        r = try await SpoolProcess.run(["dump", huge])
        #expect(r.status == 1)
        #expect(r.stdout.contains("DAMAGED"))
        r = try await SpoolProcess.run(["stats", "--dir", notSegment])
        #expect(r.status == 2)
        r = try await SpoolProcess.run(["dump", root + "/queues/q", "--from-offset", "5000"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("no record in the range 5000–end: the log holds offsets 0–299"))
        r = try await SpoolProcess.run(["dump", root + "/queues/q", "--from-time", "2001-01-01T00:00:00Z", "--to-time", "2001-01-02T00:00:00Z"])
        #expect(r.status == 2)
        for arguments in [["verify", "--bogus"], ["stats", "--json", "--prometheus"], ["tail", "-n", "-1"], ["dump", "--from-offset", "5", "--to-offset", "1"],
                          ["dump", "--from-time", "yesterday"], ["tail", "--poll-ms", "0"], ["repair", "a", "b"], ["stats", "--now", "soon"]] {
            let r = try await SpoolProcess.run(arguments)
            #expect(r.status == 2, "\(arguments)")
            #expect(!r.stderr.isEmpty, "\(arguments)")
        }
        for command in ["verify", "stats", "tail", "repair", "dump"] {
            let help = try await SpoolProcess.run([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Examples:"), "\(command)")
        }
    }

    @Test("verify --deep calls kafka-python's gzip and snappy batches clean, and a batch with codec bits 5 corruption")
    func verifyDeep() async throws {
        let dir = ScratchDirectory()
        for (name, base) in [("gzip-batch.bin", "2000"), ("snappy-batch.bin", "3000")] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: SpoolProcess.repositoryRoot + "/fixtures/interop/" + name))
            let path = dir.path + "/" + String(repeating: "0", count: 20 - base.count) + base + ".log"  // its batch's base offset
            try bytes.write(to: URL(fileURLWithPath: path))
            let r = try await SpoolProcess.run(["verify", path, "--deep", "--json"])
            #expect(r.status == 0, "\(name): \(r.stdout)")
            #expect(r.stdout.contains(#""clean":true"#) && r.stdout.contains(#""records":10"#), "\(r.stdout)")
        }
        // The gzip batch with its codec bits set to 5 (no codec has that number) and its CRC
        // recomputed: only decoding finds it, and it is damage.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: SpoolProcess.repositoryRoot + "/fixtures/interop/gzip-batch.bin")))
        bytes[RecordBatchHeader.attributesPosition + 1] = 5
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcCoverageStart...])) }
        for i in 0..<4 { bytes[RecordBatchHeader.crcPosition + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * i)) }
        let path = dir.path + "/invalid/00000000000000002000.log"
        try FileManager.default.createDirectory(atPath: dir.path + "/invalid", withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var r = try await SpoolProcess.run(["verify", path])
        #expect(r.status == 0, "\(r.stdout)")
        r = try await SpoolProcess.run(["verify", path, "--deep", "--json"])
        #expect(r.status == 1)
        #expect(r.stdout.contains(#""kind":"corruption""#) && r.stdout.contains("invalid codec bits 5"), "\(r.stdout)")
        #expect(r.stdout.contains(#""unsupported":0"#), "\(r.stdout)")
    }

    @Test("a root locked by a writer: dump, verify, stats and tail work; repair refuses and names the lock")
    func lockedRoot() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.makeRoot(root)
        var options = SpoolOptions()
        options.logger.logLevel = .critical
        let writer = try SpoolRoot.open(at: root, options: options)
        defer { writer.close() }
        for arguments in [["verify", "--dir", root], ["stats", "--dir", root], ["dump", root, "--json"], ["tail", "--dir", root, "--queue", "q", "-n", "2"]] {
            let r = try await SpoolProcess.run(arguments)
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
        }
        for arguments in [["repair", "--dir", root], ["repair", "--dir", root, "--dry-run"]] {
            let r = try await SpoolProcess.run(arguments)
            #expect(r.status == 2, "\(arguments)")
            #expect(r.stderr.contains("locked") && r.stderr.contains("spool.lock"), "\(r.stderr)")
        }
    }

    @Test("tail prints the last N tasks, and tail -f follows tasks another process enqueues")
    func tailFollows() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.makeRoot(root)
        let last = try await SpoolProcess.run(["tail", "--dir", root, "--queue", "q", "-n", "2", "--json"])
        #expect(last.status == 0)
        #expect(last.stdout.split(separator: "\n").count == 2)
        #expect(last.stdout.contains(#""offset":298,"#) && last.stdout.contains(#""offset":299,"#))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: SpoolProcess.binary)
        process.arguments = ["tail", "--dir", root, "--queue", "q", "-n", "1", "-f", "--poll-ms", "20"]
        let output = dir.path + "/tail.out"
        #expect(FileManager.default.createFile(atPath: output, contents: nil))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        defer { if process.isRunning { process.terminate() }; process.waitUntilExit() }
        // Enqueue only once tail has printed the last task: it found the end first.
        var seen = ""
        for _ in 0..<1000 where !seen.contains("offset 299 ") {
            try await Task.sleep(nanoseconds: 20_000_000)
            seen = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        }
        let enqueued = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "followed-one", "followed-two"])
        #expect(enqueued.status == 0, "\(enqueued.stderr)")
        for _ in 0..<1000 where !seen.contains("followed-two") {
            try await Task.sleep(nanoseconds: 20_000_000)
            seen = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        }
        #expect(seen.contains("offset 299 "))
        #expect(seen.contains("offset 300 ") && seen.contains(#""followed-one""#))
        #expect(seen.contains("offset 301 ") && seen.contains(#""followed-two""#))
        #expect(process.isRunning, "-f keeps following")
    }
}
