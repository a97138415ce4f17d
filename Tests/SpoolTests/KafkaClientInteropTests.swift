import Foundation
import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// fixtures/interop/clients/ (made by Tools/make-interop-fixtures.py): segments written by
/// kafka-python, aiokafka and librdkafka, not by Spool, with every codec, partitionLeaderEpoch
/// −1 and 7, committed and aborted transactions with their control batches, 100 headers, a
/// 1 MiB value and a batch of exactly message.max.bytes. Issue 13's "Done means": each is
/// consumed through a consumer group as exactly its data records (expected.jsonl, read_committed),
/// `spool verify --deep` calls it clean, and the indexes Spool builds for it are Kafka's
/// (Tools/kafka-index-check.py, written from Kafka's LogSegment/OffsetIndex/TimeIndex).
///
/// The index check runs the Kafka clients' venv (`.venv-interop`, made by
/// Tools/ensure-python-clients.sh, which Tools/test.sh runs first); this suite installs nothing.
@Suite("Segments written by Kafka clients")
struct KafkaClientInteropTests {
    static let repository = String(#filePath).components(separatedBy: "/Tests/")[0]
    static let clients = repository + "/fixtures/interop/clients"
    /// kafka-python-baseline holds only what Spool read before issue 13: the control that shows
    /// these checks can pass.
    static let fixtures = ["kafka-python", "aiokafka", "kafka-python-limits", "librdkafka", "kafka-python-baseline"]
    static let venvPython = repository + "/.venv-interop/bin/python"
    static let hasPython3 = executableOnPath("python3") != nil

    /// One line of expected.jsonl: a data record a read_committed consumer sees.
    struct Expected: Equatable, CustomStringConvertible {
        var offset: Int64
        var timestamp: Int64
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [RecordHeader]
        var description: String {
            "offset \(offset) time \(timestamp) key \(key.map { "\($0.count) B" } ?? "null") "
                + "value \(value.map { "\($0.count) B" } ?? "null") headers \(headers.count)"
        }
    }

    // MARK: The fixtures themselves

    @Test("the client fixtures hold all five codecs per client, epochs -1 and 7, and COMMIT and ABORT markers")
    func fixturesCoverWhatIssue13Names() throws {
        var codecs: [String: Set<Int16>] = [:]
        var epochs = Set<Int32>()
        var markers = Set<Int16>()
        for name in Self.fixtures {
            let segment = try Files.read(try Self.segmentPath(name))
            var position = 0
            for _ in 0..<100_000 where position < segment.count {
                let header = Self.rawHeader(segment, at: position)
                #expect(header.length > 49, "\(name): batch at \(position) is too short")
                if header.attributes & 0x20 != 0 {
                    // Control record: length, attributes, timestamp and offset deltas, key length 4
                    // (zigzag 8), key = version i16, type i16.
                    let key = position + 61 + 5
                    markers.insert(Int16(segment[key + 2]) << 8 | Int16(segment[key + 3]))
                } else {
                    codecs[name.hasPrefix("kafka-python") ? "kafka-python" : name, default: []].insert(header.attributes & 7)
                }
                epochs.insert(header.epoch)
                position += 12 + Int(header.length)
            }
            #expect(position == segment.count, "\(name): the segment ends inside a batch")
        }
        for client in ["kafka-python", "aiokafka", "librdkafka"] {
            #expect(codecs[client] == [0, 1, 2, 3, 4], "\(client) wrote codecs \(codecs[client] ?? [])")
        }
        #expect(epochs.isSuperset(of: [-1, 7]), "epochs \(epochs)")
        #expect(markers == [0, 1], "control record types \(markers) (0 abort, 1 commit)")
        let limits = try Self.expected("kafka-python-limits")
        #expect(limits.contains { $0.value?.count == 1 << 20 }, "no record with a 1,048,576-byte value")
        #expect(limits.contains { $0.headers.count == 100 }, "no record with 100 headers")
    }

    // MARK: Consuming

    @Test("a Kafka client's segment is consumed through a consumer group as exactly its data records",
          arguments: fixtures)
    func consumedAsExactlyItsDataRecords(_ name: String) async throws {
        let expected = try Self.expected(name)
        try await withTemporaryDirectory { dir in
            let root = try Self.rootHolding(name, in: dir)
            let spool = try SpoolRoot.open(at: root, options: Self.options())
            defer { spool.close() }
            let group = try spool.group("interop", on: "q")
            var seen: [Expected] = []
            // Bounded: every pass acks what it claimed; more passes than records means a loop.
            for _ in 0...expected.count + 1 {
                let batch = try await group.claim(max: 64)
                if batch.isEmpty { break }
                seen += batch.tasks.map {
                    Expected(offset: $0.offset, timestamp: $0.enqueuedAt, key: $0.key, value: $0.payload, headers: $0.headers)
                }
                let result = try await group.ack(batch)
                #expect(result.acked == batch.count)
            }
            #expect(seen.count == expected.count, "\(name): consumed \(seen.count) records, expected \(expected.count)")
            var differences = 0
            for (got, want) in zip(seen, expected) where got != want {
                differences += 1
                if differences <= 5 { Issue.record("\(name): consumed \(got), expected \(want)") }
            }
            #expect(differences == 0, "\(name): \(differences) consumed records differ from expected.jsonl")
            #expect(try Files.read(root + "/queues/q/" + Self.segmentName(name)) == Files.read(try Self.segmentPath(name)),
                    "\(name): Spool changed the client's bytes")
        }
    }

    // MARK: spool verify --deep

    @Test("spool verify --deep calls a Kafka client's segment clean once Spool has opened it and built its indexes",
          arguments: fixtures)
    func verifyDeepCallsItCleanAfterOpen(_ name: String) async throws {
        try await withTemporaryDirectory { dir in
            let root = try Self.rootHolding(name, in: dir)
            try Self.openAndClose(root)
            let outcome = try await SpoolBinary.run(["verify", "--deep", "--dir", root], in: dir)
            #expect(outcome.status == 0, "\(name): \(outcome)")
        }
    }

    @Test("spool verify --deep calls a Kafka client's segment clean as dropped into a queue, before any index exists",
          arguments: fixtures)
    func verifyDeepCallsItCleanAsDroppedIn(_ name: String) async throws {
        try await withTemporaryDirectory { dir in
            let root = try Self.rootHolding(name, in: dir)
            let outcome = try await SpoolBinary.run(["verify", "--deep", "--dir", root], in: dir)
            #expect(outcome.status == 0, "\(name), as the client wrote it, without indexes: \(outcome)")
        }
    }

    // MARK: Kafka's index meaning

    @Test("the indexes Spool builds for a Kafka client's segment mean what Kafka's do (kafka-index-check)",
          .enabled(if: hasPython3, "python3 is not on PATH: install python3 and python3-venv, then run Tools/ensure-python-clients.sh"),
          arguments: fixtures)
    func indexesAreKafkas(_ name: String) async throws {
        try await withTemporaryDirectory { dir in
            let root = try Self.rootHolding(name, in: dir)
            try Self.openAndClose(root)
            let segment = try root + "/queues/q/" + Self.segmentName(name)
            #expect(try Files.read(segment) == Files.read(try Self.segmentPath(name)), "\(name): Spool changed the client's bytes")
            let interval = SpoolOptions().indexIntervalBytes
            let check = try Self.indexCheck([segment, "--exact", "--index-interval-bytes", String(interval)])
            #expect(check.status == 0, "\(name): kafka-index-check found problems:\n\(check.output)")
        }
    }

    @Test("kafka-index-check's self-test tells a correct index from wrong ones",
          .enabled(if: hasPython3, "python3 is not on PATH: install python3 and python3-venv, then run Tools/ensure-python-clients.sh"))
    func indexCheckerSelfTest() throws {
        let check = try Self.indexCheck(["--self-test"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("self-test passed"))
        #expect(check.output.components(separatedBy: "self-test ok:").count - 1 >= 7, "\(check.output)")
    }

    // MARK: Helpers

    static func options() -> SpoolOptions {
        var options = SpoolOptions()
        options.logger.logLevel = .critical
        options.compactionIntervalMilliseconds = nil
        return options
    }

    static func segmentName(_ name: String) throws -> String {
        let logs = Files.list(clients + "/" + name).filter { $0.hasSuffix(".log") }
        try #require(logs.count == 1, "\(name) holds \(logs.count) segments, expected one")
        return logs[0]
    }

    static func segmentPath(_ name: String) throws -> String {
        clients + "/" + name + "/" + (try segmentName(name))
    }

    /// A fresh root whose queue `q` holds only the client's segment, as a user would drop it in.
    static func rootHolding(_ name: String, in dir: String) throws -> String {
        let root = dir + "/root"
        try Files.makeDirectory(root)
        try Files.makeDirectory(root + "/queues")
        try Files.makeDirectory(root + "/queues/q")
        try Files.write(root + "/queues/q/" + segmentName(name), try Files.read(segmentPath(name)))
        return root
    }

    /// Opens the root and its queue (recovery scans the segment and builds its indexes), then closes it.
    static func openAndClose(_ root: String) throws {
        let spool = try SpoolRoot.open(at: root, options: options())
        defer { spool.close() }
        _ = try spool.queue("q")
    }

    static func expected(_ name: String) throws -> [Expected] {
        let text = String(decoding: try Files.read(clients + "/" + name + "/expected.jsonl"), as: UTF8.self)
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let headers = try #require(object["headers"] as? [[String: Any]]).map { header in
                RecordHeader(name: header["name"] as? String ?? "",
                             value: try bytes(header["value"], encoding: header["encoding"]))
            }
            return Expected(
                offset: try #require((object["offset"] as? NSNumber)?.int64Value),
                timestamp: try #require((object["timestamp"] as? NSNumber)?.int64Value),
                key: try bytes(object["key"], encoding: object["key_encoding"]),
                value: try bytes(object["value"], encoding: object["value_encoding"]),
                headers: headers)
        }
    }

    /// A JSON field's bytes: null, UTF-8 text or base64.
    static func bytes(_ field: Any?, encoding: Any?) throws -> [UInt8]? {
        guard let text = field as? String else { return nil }
        switch encoding as? String {
        case "utf-8": return Array(text.utf8)
        case "base64": return Array(try #require(Data(base64Encoded: text), "bad base64 in expected.jsonl"))
        default: throw SpoolError(.invalidArgument, "expected.jsonl: unknown encoding \(String(describing: encoding))")
        }
    }

    /// The fields of a batch header this suite reads by hand (big-endian, FORMAT.md "Batch header").
    static func rawHeader(_ bytes: [UInt8], at position: Int) -> (length: Int32, epoch: Int32, attributes: Int16) {
        func int32(_ at: Int) -> Int32 { bytes[at..<at + 4].reduce(Int32(0)) { $0 << 8 | Int32($1) } }
        let attributes = Int16(bytes[position + 21]) << 8 | Int16(bytes[position + 22])
        return (int32(position + 8), int32(position + 12), attributes)
    }

    /// Runs Tools/kafka-index-check.py with the clients' venv python. A missing venv fails (it is
    /// made by Tools/ensure-python-clients.sh, which Tools/test.sh runs); it is never installed here.
    static func indexCheck(_ arguments: [String]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: venvPython) else {
            Issue.record("\(venvPython) is missing: run Tools/ensure-python-clients.sh (Tools/test.sh runs it) first")
            throw SpoolError(.notFound, "the Kafka clients' venv is missing", path: venvPython)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: venvPython)
        process.arguments = [repository + "/Tools/kafka-index-check.py"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SPOOL_INTEROP_VENV_ACTIVE"] = "1"  // never re-exec into an installer
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
