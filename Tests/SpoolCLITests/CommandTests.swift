import Foundation
import SpoolFormat
import Testing

@Suite("spool command")
struct CommandTests {
    @Test("enqueue from arguments, stdin and the generator appends consecutive offsets that dump shows")
    func enqueueSources() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        var r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "jobs", "alpha", "beta"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("enqueued 2 tasks to jobs: offsets 0–1"))
        r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "jobs", "--stdin", "--json"], input: "one\ntwo\nthree\n")
        #expect(r.status == 0)
        #expect(r.stdout.contains(#""enqueued":3,"first_offset":2,"last_offset":4"#))
        r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "jobs", "--count", "100", "--batch", "10", "--producers", "3"])
        #expect(r.status == 0)
        r = try await SpoolProcess.run(["dump", root + "/queues/jobs", "--json", "--payloads"])
        #expect(r.status == 0)
        let records = r.stdout.split(separator: "\n").filter { $0.contains(#""type":"record""#) }
        #expect(records.count == 105)
        let offsets = records.compactMap { line -> Int? in
            guard let range = line.range(of: #""offset":"#) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(offsets == Array(0..<105))
        #expect(r.stdout.contains(#""value":"alpha""#) && r.stdout.contains(#""value":"three""#))
    }

    @Test("dump of a Kafka client's segment matches the golden text and JSON")
    func dumpInteropGolden() async throws {
        for (arguments, golden) in [
            (["dump", "fixtures/interop/00000000000000001000.log", "--payloads", "--full"], "fixtures/cli/dump-interop.txt"),
            (["dump", "fixtures/interop/00000000000000001000.log", "--payloads", "--json"], "fixtures/cli/dump-interop.jsonl"),
        ] {
            let r = try await SpoolProcess.run(arguments, directory: SpoolProcess.repositoryRoot)
            #expect(r.status == 0, "\(r.stderr)")
            try Golden.check(r.stdout, against: golden)
        }
    }

    @Test("dump of kafka-python's gzip and snappy batches shows their ten records each, matching the golden text")
    func dumpGzipAndSnappy() async throws {
        let files = ["fixtures/interop/gzip-batch.bin", "fixtures/interop/snappy-batch.bin"]
        let text = try await SpoolProcess.run(["dump"] + files + ["--payloads", "--full"], directory: SpoolProcess.repositoryRoot)
        #expect(text.status == 0, "\(text.stderr)")
        try Golden.check(text.stdout, against: "fixtures/cli/dump-interop-gzip-snappy.txt")
        #expect(text.stdout.contains("codec gzip ") && text.stdout.contains("codec snappy "))

        let json = try await SpoolProcess.run(["dump"] + files + ["--payloads", "--json"], directory: SpoolProcess.repositoryRoot)
        #expect(json.status == 0, "\(json.stderr)")
        let records = try json.stdout.split(separator: "\n").compactMap { line -> [String: Any]? in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return object["type"] as? String == "record" ? object : nil
        }
        let expected = (0..<10).map { "gzip-\(2000 + $0)" } + (0..<10).map { "snappy-\(3000 + $0)" }
        #expect(records.map { $0["value"] as? String } == expected)
        let offsets: [Int64?] = records.map { ($0["offset"] as? NSNumber)?.int64Value }
        let expectedOffsets: [Int64?] = Array(2000..<2010) + Array(3000..<3010)
        #expect(offsets == expectedOffsets)
        let keys: [String?] = records.map { $0["key"] as? String }
        let expectedKeys: [String?] = (0..<20).map { (i: Int) -> String? in i % 10 % 3 == 0 ? nil : "k\(i % 10)" }
        #expect(keys == expectedKeys)
    }

    @Test("dump of a path that does not exist exits 2 and names the path")
    func dumpMissing() async throws {
        let r = try await SpoolProcess.run(["dump", "/nonexistent/spool/queue"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("/nonexistent/spool/queue"))
        #expect(r.stderr.contains("no such file or directory"))
    }

    @Test("garbage arguments exit 2 with a usage message")
    func usageErrors() async throws {
        for arguments in [["frobnicate"], ["enqueue", "--batch", "zero", "x"], ["enqueue"], ["audit"], ["enqueue", "--durability", "sometimes", "x"]] {
            let r = try await SpoolProcess.run(arguments)
            #expect(r.status == 2, "\(arguments)")
            #expect(!r.stderr.isEmpty, "\(arguments)")
        }
        let help = try await SpoolProcess.run(["dump", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Examples:"))
    }

    @Test("recover --json reports what it scanned and the next offset")
    func recoverJSON() async throws {
        let dir = ScratchDirectory()
        _ = try await SpoolProcess.run(["enqueue", "--dir", dir.path, "--queue", "q", "--count", "1000", "--batch", "50"])
        let r = try await SpoolProcess.run(["recover", "--dir", dir.path, "--json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains(#""queue":"q""#))
        #expect(r.stdout.contains(#""next_offset":1000"#))
        #expect(r.stdout.contains(#""bytes_truncated":0"#))
        let missing = try await SpoolProcess.run(["recover", "--dir", dir.path + "/absent"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("does not exist"))
    }

    @Test("audit passes for a journal of acknowledged appends and exits 1 when one is missing")
    func audit() async throws {
        let dir = ScratchDirectory()
        let journal = dir.path + "/journal.txt"
        _ = try await SpoolProcess.run(["enqueue", "--dir", dir.path, "--queue", "q", "--count", "500", "--batch", "7", "--journal", journal])
        var r = try await SpoolProcess.run(["audit", "--dir", dir.path, "--queue", "q", "--journal", journal])
        #expect(r.status == 0)
        #expect(r.stdout.contains("audited 500 acknowledged tasks"))
        #expect(r.stdout.contains("all present and intact"))
        try "\(try String(contentsOfFile: journal, encoding: .utf8))900 3 1\n".write(toFile: journal, atomically: true, encoding: .utf8)
        r = try await SpoolProcess.run(["audit", "--dir", dir.path, "--queue", "q", "--journal", journal])
        #expect(r.status == 1)
        #expect(r.stdout.contains("offset 900: missing"))
    }

    @Test("bench enqueue prints the qbench JSON, --crash dies by SIGKILL, and bench recover finds the first task")
    func benchCrashRecover() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["bench", "enqueue", "--backend", "spool", "--dir", dir.path, "--payload", "128", "--n", "2000", "--batch", "100", "--threads", "2", "--crash"])
        #expect(r.status == 9 || r.status == SIGKILL)
        for field in ["\"n\":2000", "\"tps\":", "\"p50_us\":", "\"p90_us\":", "\"p99_us\":", "\"p999_us\":", "\"max_us\":"] {
            #expect(r.stdout.contains(field), "\(field)")
        }
        let recovered = try await SpoolProcess.run(["bench", "recover", "--dir", dir.path, "--payload", "128"])
        #expect(recovered.status == 0)
        #expect(recovered.stdout.contains(#""found":1"#))
    }
    @Test("consume, ack and nack work by offset across processes, and an unknown queue exits 2")
    func consumerCommands() async throws {
        let dir = ScratchDirectory()
        _ = try await SpoolProcess.run(["enqueue", "--dir", dir.path, "--queue", "q", "a", "b", "c"])
        var r = try await SpoolProcess.run(["ack", "--dir", dir.path, "--queue", "q", "--group", "g", "0"])
        #expect(r.stdout.contains("acked 1 task(s) in q for group g; watermark 1"))
        r = try await SpoolProcess.run(["nack", "--dir", dir.path, "--queue", "q", "--group", "g", "1", "--delay-ms", "0", "--json"])
        #expect(r.stdout.contains(#""nacked":1"#))
        r = try await SpoolProcess.run(["consume", "--dir", dir.path, "--queue", "q", "--group", "g", "--ack", "--json"])
        #expect(r.stdout.contains(#""offset":1,"attempt":2"#))
        #expect(r.stdout.contains(#""offset":2,"attempt":1"#))
        #expect(r.stdout.contains(#""claimed":2,"acked":2,"watermark":3,"lag":0"#))
        r = try await SpoolProcess.run(["consume", "--dir", dir.path, "--queue", "qq", "--group", "g"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("no queue named qq"))
        r = try await SpoolProcess.run(["ack", "--dir", dir.path, "--queue", "q", "--group", "g", "7"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("offset 7 is not in queue q"))
    }
    @Test("bench enqueue --typed and drain --typed run W2 and W4 through typed jobs, and a raw queue is refused by the typed drain")
    func benchTyped() async throws {
        let dir = ScratchDirectory()
        var r = try await SpoolProcess.run(["bench", "enqueue", "--dir", dir.path + "/t", "--payload", "64", "--n", "500", "--batch", "50", "--typed"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""tasks":"typed""#))
        r = try await SpoolProcess.run(["bench", "drain", "--dir", dir.path + "/t", "--payload", "64", "--n", "500", "--typed"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""drained":500"#) && r.stdout.contains(#""tasks":"typed","ok":true"#))
        _ = try await SpoolProcess.run(["bench", "enqueue", "--dir", dir.path + "/r", "--payload", "64", "--n", "10"])
        r = try await SpoolProcess.run(["bench", "drain", "--dir", dir.path + "/r", "--payload", "64", "--n", "10", "--typed"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("not a typed bench job"))
    }
    @Test("bench w9 and w11 run briefly and report their workloads' fields")
    func benchW9W11() async throws {
        let dir = ScratchDirectory()
        var r = try await SpoolProcess.run(["bench", "w9", "--dir", dir.path + "/w9", "--n", "2000"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""workload":"w9","n":2000"#) && r.stdout.contains(#""p99_us":"#))
        r = try await SpoolProcess.run(["bench", "w11", "--dir", dir.path + "/w11", "--duration", "1", "--producers", "2", "--consumers", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""workload":"w11""#) && r.stdout.contains(#""samples_second_rsskib_fds_diskbytes":[[1,"#))
    }
}

/// Compares output with a golden file in fixtures/; SPOOL_UPDATE_GOLDEN=1 rewrites the file.
enum Golden {
    static func check(_ output: String, against relativePath: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = SpoolProcess.repositoryRoot + "/" + relativePath
        if ProcessInfo.processInfo.environment["SPOOL_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try output.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(output == expected, "output differs from \(relativePath); SPOOL_UPDATE_GOLDEN=1 rewrites it", sourceLocation: sourceLocation)
    }
}

enum Human {
    static func crcText(_ value: UInt32) -> String {
        let h = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - h.count) + h
    }
}
