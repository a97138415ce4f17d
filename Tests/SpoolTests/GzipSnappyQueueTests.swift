import Foundation
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Queues compressed with gzip and snappy (Kafka codecs 1 and 2): what they write reads back
/// through the engine, `verify --deep` calls it clean, and kafka-python, an independent Kafka
/// decoder, reads the same segment files (Tools/kafka-python-decode.py, in the virtual
/// environment Tools/ensure-python-clients.sh makes).
@Suite("gzip and snappy queues")
struct GzipSnappyQueueTests {
    static let repository = String(#filePath).components(separatedBy: "/Tests/")[0]

    /// Records with null and present keys, a null and an empty value, headers (one with a null
    /// value), and two large values: one compressible, one not (past snappy's 32 KiB blocks).
    static func records() -> [RecordInput] {
        var random = SplitMix64(seed: 13)
        var inputs = (0..<300).map { i -> RecordInput in
            let value: [UInt8]? = i == 7 ? nil : i == 8 ? [] : Array(#"{"task":\#(i),"kind":"email","to":"user\#(i)@example.com"}"#.utf8)
            var headers = [RecordHeader(name: "spool.attempt", value: Array("\(i % 3 + 1)".utf8))]
            if i % 10 == 0 { headers.append(RecordHeader(name: "trace", value: nil)) }
            return RecordInput(value: value, key: i % 4 == 0 ? nil : Array("key-\(i)".utf8), headers: headers, timestamp: 1_764_000_000_000 + Int64(i))
        }
        inputs.append(RecordInput(value: Array(String(repeating: "compressible ", count: 10_000).utf8), timestamp: 1_764_000_001_000))
        inputs.append(RecordInput(value: (0..<100_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }, timestamp: 1_764_000_001_001))
        return inputs
    }

    /// Writes `records()` into queue "q" of a new root compressed with `compression`: single
    /// appends and batches of 50, then closes the root. Returns the queue's directory.
    static func writeQueue(_ root: String, compression: Compression) async throws -> String {
        let spool = try openRoot(at: root, options: testOptions { $0.compression = compression })
        defer { spool.close() }
        let log = try spool.queue("q")
        let inputs = records()
        try await log.append(batch: Array(inputs[0..<1]))
        for start in stride(from: 1, to: inputs.count, by: 50) {
            try await log.append(batch: Array(inputs[start..<min(start + 50, inputs.count)]))
        }
        return QueueFiles.directory(root, "q")
    }

    /// The codec of every batch of the queue's segments, as stored.
    static func codecs(_ directory: String) throws -> [CompressionCodec] {
        var codecs: [CompressionCodec] = []
        for base in QueueFiles.bases(directory) {
            try SegmentFile(path: QueueFiles.logPath(directory, base)).forEachBatch(decode: false) { entry in
                codecs.append(try entry.header.codec())
                return true
            }
        }
        return codecs
    }

    @Test("a queue opened with .gzip or .snappy writes batches of that codec that read back after reopening",
          arguments: [Compression.gzip(level: 6), .gzip(level: 1), .snappy])
    func queueRoundTrip(compression: Compression) async throws {
        try await withTemporaryDirectory { dir in
            let directory = try await Self.writeQueue(dir + "/root", compression: compression)
            #expect(try Self.codecs(directory) == Array(repeating: compression.codec, count: 8), "one batch per append")
            let spool = try openRoot(at: dir + "/root", options: testOptions())
            defer { spool.close() }
            let read = try readAll(try spool.queue("q"))
            let inputs = Self.records()
            #expect(read.count == inputs.count)
            for (record, input) in zip(read, inputs) {
                #expect(record.key == input.key && record.value == input.value && record.headers == input.headers && record.timestamp == input.timestamp)
            }
            #expect(read.map(\.offset) == (0..<Int64(inputs.count)).map { $0 })
        }
    }

    @Test("verify --deep calls a gzip queue and a snappy queue clean, records and all", arguments: [Compression.gzip(level: 6), .snappy])
    func verifyDeepIsClean(compression: Compression) async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.writeQueue(dir + "/root", compression: compression)
            let report = try Verifier(deep: true).verify(path: dir + "/root")
            #expect(report.problems == [])
            #expect(report.records == Int64(Self.records().count))
            #expect(report.batches == 8)
        }
    }

    @Test("a batch with codec bits 5 is corruption under verify --deep; a codec this build cannot decode would be its own finding")
    func unsupportedIsNotCorruption() async throws {
        try await withTemporaryDirectory { dir in
            var batch: [UInt8] = []
            try RecordBatchEncoder.encode([RecordInput(value: Array("x".utf8), timestamp: 1)], baseOffset: 0, into: &batch)
            batch[RecordBatchHeader.attributesPosition + 1] = 5
            let crc = batch.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcCoverageStart...])) }
            for i in 0..<4 { batch[RecordBatchHeader.crcPosition + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * i)) }
            let path = dir + "/00000000000000000000.log"
            try Data(batch).write(to: URL(fileURLWithPath: path))
            let report = try Verifier(deep: true).verify(path: path)
            #expect(report.problems.map(\.kind) == [.corruption])
            #expect(report.problems.first?.message.contains("invalid codec bits 5") == true)
        }
        // Every codec is supported by this build, so the other case can only be shown on the
        // error a batch of an unsupported codec would give.
        let unsupported = SpoolError.corruption(FormatError.unsupportedCodec(.snappy), path: "s.log", segment: 0, position: 0, offset: 0)
        #expect(unsupported.code == .unsupported)
        #expect(VerifyProblem.Kind(decodeFailure: unsupported) == .unsupported)
        let invalid = SpoolError.corruption(FormatError.invalidCodec(5), path: "s.log", segment: 0, position: 0, offset: 0)
        #expect(VerifyProblem.Kind(decodeFailure: invalid) == .corruption)
    }

    @Test("--compression spellings: gzip[:LEVEL] and snappy parse and print back; bad levels are refused, also when opening a queue")
    func compressionSpellings() async throws {
        let cases: [(String, Compression)] = [
            ("gzip", .gzip(level: 6)), ("gzip:1", .gzip(level: 1)), ("gzip:9", .gzip(level: 9)), ("snappy", .snappy),
            ("none", .none), ("lz4", .lz4), ("zstd:7", .zstd(level: 7)),
        ]
        for (text, compression) in cases {
            #expect(try Compression(parsing: text) == compression)
            #expect(try Compression(parsing: compression.description) == compression)
        }
        #expect(Compression.gzip(level: 6).description == "gzip" && Compression.gzip(level: 2).description == "gzip:2")
        #expect(Compression.gzip(level: 4).level == 4 && Compression.snappy.level == nil)
        for bad in ["gzip:0", "gzip:10", "snappy:3", "gzip:", "gz", ""] {
            #expect(throws: SpoolError.self, "\(bad)") { try Compression(parsing: bad) }
        }
        try await withTemporaryDirectory { dir in
            let spool = try openRoot(at: dir + "/root", options: testOptions())
            defer { spool.close() }
            let error = #expect(throws: SpoolError.self) { try spool.queue("q", compression: .gzip(level: 10)) }
            #expect(error?.code == .invalidArgument && error?.message.contains("gzip level 10") == true)
        }
    }

    // MARK: kafka-python decodes what Spool writes

    /// The venv's python, made once per test process by Tools/ensure-python-clients.sh.
    static let python: Result<String, KafkaPythonUnavailable> = {
        let r = run([repository + "/Tools/ensure-python-clients.sh"])
        let path = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard r.status == 0, !path.isEmpty else { return .failure(KafkaPythonUnavailable(detail: r.stderr)) }
        return .success(path)
    }()

    struct KafkaPythonUnavailable: Error, CustomStringConvertible {
        var detail: String
        var description: String { "Tools/ensure-python-clients.sh failed (python3 with venv and PyPI are needed): \(detail)" }
    }

    /// Runs a program to its end; stderr goes through a temporary file, so a chatty stderr can
    /// never block it while stdout is read.
    static func run(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        let errorPath = NSTemporaryDirectory() + "spool-kafka-python-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).err"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let out = Pipe()
        process.standardOutput = out
        guard let errorFile = FileHandle(forWritingAtPath: errorPath) else { return (-1, "", "cannot create \(errorPath)") }
        defer { try? errorFile.close() }
        process.standardError = errorFile
        do { try process.run() } catch { return (-1, "", "\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), errors)
    }

    private static func hex(_ bytes: [UInt8]?) -> String? {
        bytes.map { $0.map { String(format: "%02x", $0) }.joined() }
    }

    @Test("kafka-python decodes every record of a gzip queue and of a snappy queue that Spool wrote",
          arguments: [Compression.gzip(level: 6), .gzip(level: 9), .snappy])
    func kafkaPythonDecodes(compression: Compression) async throws {
        let python = try Self.python.get()
        try await withTemporaryDirectory { dir in
            let directory = try await Self.writeQueue(dir + "/root", compression: compression)
            let files = QueueFiles.bases(directory).map { QueueFiles.logPath(directory, $0) }
            let r = Self.run([python, Self.repository + "/Tools/kafka-python-decode.py"] + files)
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n")
            let inputs = Self.records()
            try #require(lines.count == inputs.count, "\(r.stderr)")
            for (index, (line, input)) in zip(lines, inputs).enumerated() {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(object["codec"] as? String == compression.codec.description)
                #expect((object["offset"] as? NSNumber)?.int64Value == Int64(index))
                #expect((object["timestamp"] as? NSNumber)?.int64Value == input.timestamp)
                #expect(object["key"] as? String == Self.hex(input.key), "record \(index)")
                #expect(object["value"] as? String == Self.hex(input.value), "record \(index)")
                let headers = try #require(object["headers"] as? [[Any]])
                #expect(headers.map { $0[0] as? String } == input.headers.map(\.name))
                #expect(headers.map { $0[1] as? String } == input.headers.map { Self.hex($0.value) })
            }
        }
    }
}
