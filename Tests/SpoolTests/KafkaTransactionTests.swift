import Foundation
import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Kafka data that Spool must read as Kafka's read_committed consumers do (FORMAT.md, "Control
/// batches and transactions"): markers are never tasks, aborted records are never delivered,
/// and nothing past an unfinished transaction is read. The bytes come from
/// `fixtures/interop/` (kafka-python's builder, marker bits set by hand: see its README).
@Suite("Kafka transactions and leader epochs")
struct KafkaTransactionTests {
    static let repository = String(String(#filePath).split(separator: "/Tests/", omittingEmptySubsequences: false)[0])
    /// Offsets 5000–5002: a transactional batch of producer 4242; 5003: its COMMIT marker.
    static func transactionFixture() throws -> [UInt8] {
        try Files.read(repository + "/fixtures/interop/transaction-with-commit-marker.bin")
    }

    /// The fixture's two batches, split: the transactional data batch and the marker batch.
    static func split(_ bytes: [UInt8]) throws -> (data: [UInt8], marker: [UInt8]) {
        let first = try bytes.withUnsafeBytes { try RecordBatchHeader.decode($0) }
        return (Array(bytes[0..<first.totalBytes]), Array(bytes[first.totalBytes...]))
    }

    /// A root whose queue `q` holds `bytes` as its only segment, based at `base`.
    static func root(in dir: String, holding bytes: [UInt8], base: Int64) throws -> SpoolRoot {
        let directory = QueueFiles.directory(dir + "/root", "q")
        try Files.makeDirectory(dir + "/root")
        try Files.makeDirectory(dir + "/root/queues")
        try Files.makeDirectory(directory)
        try Files.write(QueueFiles.logPath(directory, base), bytes)
        return try openRoot(at: dir + "/root", options: testOptions())
    }

    /// Turns the marker's type from COMMIT (1) into ABORT (0): the key's type is byte 3 of the
    /// first record's key, inside the CRC, so the CRC is recomputed.
    static func abortMarker(_ marker: [UInt8]) throws -> [UInt8] {
        var bytes = marker
        // An uncompressed one-record batch: the record's key starts after the header, the record
        // length, attributes, timestamp delta, offset delta and key length (one byte each here).
        let keyStart = RecordBatchHeader.size + 5
        #expect(Array(bytes[keyStart..<keyStart + 4]) == [0, 0, 0, 1], "the fixture's marker is a COMMIT (version 0, type 1)")
        bytes[keyStart + 3] = 0
        let crc = CRC32C.checksum(Array(bytes[RecordBatchHeader.crcCoverageStart...]))
        withUnsafeBytes(of: crc.bigEndian) { raw in
            for i in 0..<4 { bytes[RecordBatchHeader.crcPosition + i] = raw[i] }
        }
        return bytes
    }

    static func claimAll(_ group: ConsumerGroup) async throws -> [String] {
        var values: [String] = []
        // Bounded: the queue holds a handful of records.
        for _ in 0..<10 {
            let batch = try await group.claim(max: 100)
            if batch.tasks.isEmpty { break }
            values += batch.tasks.map { String(decoding: $0.payload ?? [], as: UTF8.self) }
            try await group.ack(batch)
        }
        return values
    }

    @Test("a committed Kafka transaction delivers exactly its data records; the COMMIT marker is never a task")
    func committedTransactionDeliversDataOnly() async throws {
        try await withTemporaryDirectory { dir in
            let root = try Self.root(in: dir, holding: try Self.transactionFixture(), base: 5000)
            defer { root.close() }
            let group = try root.group("g", on: "q")
            #expect(try await Self.claimAll(group) == ["txn-5000", "txn-5001", "txn-5002"])
            #expect(group.progress.watermark == 5004, "the marker's offset counts as done, so the group is not stuck below it")
            #expect(group.progress.lag == 0)
        }
    }

    @Test("the marker's offset is written with the group's acks: after a reopen the group's watermark is past it")
    func markerOffsetSurvivesReopen() async throws {
        try await withTemporaryDirectory { dir in
            do {
                let root = try Self.root(in: dir, holding: try Self.transactionFixture(), base: 5000)
                defer { root.close() }
                _ = try await Self.claimAll(try root.group("g", on: "q"))
            }
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            #expect(try root.group("g", on: "q").progress.watermark == 5004)
        }
    }

    @Test("an aborted Kafka transaction delivers nothing: neither its records nor its ABORT marker")
    func abortedTransactionDeliversNothing() async throws {
        try await withTemporaryDirectory { dir in
            let (data, marker) = try Self.split(try Self.transactionFixture())
            let root = try Self.root(in: dir, holding: data + (try Self.abortMarker(marker)), base: 5000)
            defer { root.close() }
            let log = try root.queue("q")
            let after = try await log.append(Array("after the abort".utf8))
            #expect(after == 5004)
            let group = try root.group("g", on: "q")
            #expect(try await Self.claimAll(group) == ["after the abort"])
            #expect(group.progress.lag == 0)
        }
    }

    @Test("an unfinished Kafka transaction is the last stable offset: nothing at or after it is delivered")
    func openTransactionStopsDelivery() async throws {
        try await withTemporaryDirectory { dir in
            let (data, _) = try Self.split(try Self.transactionFixture())
            let root = try Self.root(in: dir, holding: data, base: 5000)
            defer { root.close() }
            let log = try root.queue("q")
            _ = try await log.append(Array("after the open transaction".utf8))
            let group = try root.group("g", on: "q")
            #expect(try await Self.claimAll(group) == [], "read_committed never reads past an open transaction")
            #expect(try readAll(log, from: 5000).isEmpty)
        }
    }

    @Test("a plain reader skips the COMMIT marker too, and reports its offset as passed over")
    func readerReportsMarkerAsPassedOver() async throws {
        try await withTemporaryDirectory { dir in
            let root = try Self.root(in: dir, holding: try Self.transactionFixture(), base: 5000)
            defer { root.close() }
            var reader = try root.queue("q").reader(from: 5000)
            #expect(try reader.read(max: 100).map(\.offset) == [5000, 5001, 5002])
            #expect(reader.takePassedOver() == [5003..<5004])
        }
    }

    @Test("a batch with partitionLeaderEpoch -1 (Java and aiokafka producers) is consumed, and verify calls it clean")
    func epochMinusOneIsConsumed() async throws {
        try await withTemporaryDirectory { dir in
            let bytes = try Files.read(Self.repository + "/fixtures/interop/epoch-minus-one-batch.bin")
            let header = try bytes.withUnsafeBytes { try RecordBatchHeader.decode($0) }
            #expect(header.partitionLeaderEpoch == -1)
            do {
                let root = try Self.root(in: dir, holding: bytes, base: 4000)
                defer { root.close() }
                #expect(try await Self.claimAll(try root.group("g", on: "q")) == (4000..<4010).map { "epoch-\($0)" })
            }
            let report = try Verifier(deep: true).verify(path: dir + "/root")
            #expect(report.problems.isEmpty, "\(report.problems)")
        }
    }

    @Test("a broker's leader epoch (7) stamped on every batch of a Spool segment changes nothing a reader sees")
    func brokerEpochIsAccepted() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            let log = try root.queue("q")
            for i in 0..<20 { _ = try await log.append(Array("task \(i)".utf8)) }
            root.close()
            let path = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            for batch in try batches(in: path).batches {
                try ByteMutator.setInt32(path, at: batch.position + Int64(RecordBatchHeader.partitionLeaderEpochPosition), 7)
            }
            let again = try openRoot(at: dir + "/root", options: testOptions())
            defer { again.close() }
            #expect(try readAll(try again.queue("q")).count == 20)
            let report = try Verifier(deep: true).verify(path: dir + "/root")
            #expect(report.problems.isEmpty, "\(report.problems)")
        }
    }
}

/// Kafka's defaults bound a record only by its batch (FORMAT.md, "Limits").
@Suite("Kafka-sized records")
struct KafkaSizedRecordTests {
    @Test("a record with a 1 MiB value (1,048,576 B) and one with 100 headers are appended and read back with the default limits")
    func oneMebibyteValueAndHundredHeaders() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            let big = [UInt8](repeating: 0x5A, count: 1_048_576)
            let headers = (0..<100).map { RecordHeader(name: "h\($0)", value: Array("v\($0)".utf8)) }
            let first = try await log.append(batch: [RecordInput(value: big, timestamp: 1)])
            _ = try await log.append(batch: [RecordInput(value: Array("headers".utf8), headers: headers, timestamp: 2)])
            let records = try readAll(log, from: first)
            #expect(records.count == 2)
            #expect(records[0].value == big)
            #expect(records[1].headers == headers)
        }
    }
}
