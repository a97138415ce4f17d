import Foundation
import Testing

/// `--compression` on writing commands, `spool train-dict`, and `spool bench w7`.
@Suite("compression commands")
struct CompressionCommandTests {
    @Test("enqueue with --compression writes batches of that codec, and dump shows their sizes and ratio")
    func enqueueCompressed() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let codecs = ["lz4", "zstd:7", "gzip", "gzip:9", "snappy"]
        for codec in codecs {
            let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--count", "500", "--batch", "100", "--compression", codec])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let r = try await SpoolProcess.run(["dump", root + "/queues/q"])
        #expect(r.status == 0, "\(r.stderr)")
        let batches = r.stdout.split(separator: "\n").filter { $0.hasPrefix("batch ") }
        #expect(batches.count == 5 * codecs.count)
        for (index, name) in ["lz4", "zstd", "gzip", "gzip", "snappy"].enumerated() {
            #expect(batches[(5 * index)..<(5 * index + 5)].allSatisfy { $0.contains("codec \(name) ") && $0.contains("×)") }, "\(name)")
        }
        let verify = try await SpoolProcess.run(["verify", "--dir", root, "--deep"])
        #expect(verify.status == 0, "\(verify.stdout)")
        let stats = try await SpoolProcess.run(["stats", "--dir", root, "--json"])
        #expect(stats.stdout.contains(#""codec":"snappy""#), "\(stats.stdout)")
        let json = try await SpoolProcess.run(["dump", root + "/queues/q", "--json"])
        let lines = json.stdout.split(separator: "\n").filter { $0.contains(#""type":"batch""#) }
        #expect(lines.allSatisfy { $0.contains(#""records_bytes_stored":"#) && $0.contains(#""records_bytes":"#) })
    }

    @Test("a compression that does not exist is a usage error naming the choices")
    func badCompression() async throws {
        let dir = ScratchDirectory()
        for bad in ["gzip:10", "gzip:0", "snappy:1", "zstd:99", "lz4:3", "zstd:", "brotli", ""] {
            let r = try await SpoolProcess.run(["enqueue", "--dir", dir.path + "/root", "--compression", bad, "x"])
            #expect(r.status == 2, "--compression '\(bad)'")
            #expect(r.stderr.contains("compression"), "\(r.stderr)")
        }
    }

    @Test("train-dict learns from a queue, and enqueue with zstd-dict then writes smaller batches that read back")
    func trainDictionary() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        #expect(try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--count", "3000", "--batch", "100"]).status == 0)
        let trained = try await SpoolProcess.run(["train-dict", "--dir", root, "--queue", "q", "--json"])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stdout.contains(#""samples":3000"#))
        let id = try #require(trained.stdout.range(of: #""dictionary_id":"#).map { Int(trained.stdout[$0.upperBound...].prefix { $0.isNumber }) } ?? nil)
        #expect(FileManager.default.fileExists(atPath: root + "/queues/q/dictionaries/\(id).zdict"))
        for (queue, codec) in [("q", "zstd-dict"), ("q", "zstd")] {
            let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", queue, "--count", "200", "--batch", "10", "--compression", codec])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let dump = try await SpoolProcess.run(["dump", root + "/queues/q", "--json"])
        #expect(dump.status == 0, "\(dump.stderr)")
        let sizes = dump.stdout.split(separator: "\n").filter { $0.contains(#""type":"batch""#) && $0.contains(#""codec":"zstd""#) }.map { line -> Int in
            let range = line.range(of: #""bytes":"#)!
            return Int(line[range.upperBound...].prefix { $0.isNumber })!
        }
        #expect(sizes.count == 40)
        let withDictionary = sizes.prefix(20).reduce(0, +), without = sizes.suffix(20).reduce(0, +)
        #expect(withDictionary < without, "\(withDictionary) B with the dictionary, \(without) B without")
    }

    @Test("train-dict on an empty or missing queue exits 2 and names it")
    func trainDictionaryWithoutTasks() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["train-dict", "--dir", dir.path + "/root", "--queue", "nothing"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("queues/nothing"))
    }

    @Test("bench w7 prints a line per codec with bytes per task and ratios to none")
    func benchFootprint() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["bench", "w7", "--dir", dir.path + "/w7", "--n", "2000", "--codecs", "none,lz4,zstd"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        for (line, codec) in zip(lines, ["none", "lz4", "zstd"]) {
            #expect(line.contains(#""compression":"\#(codec)""#))
            #expect(line.contains(#""bytes_per_task":"#))
        }
        #expect(lines[1].contains(#""bytes_vs_none":"#) && lines[2].contains(#""tps_vs_none":"#))
    }
}
