import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// Compressed queues end to end: codecs per queue and per open, batch linger, decompression
/// once per batch, and trained zstd dictionaries, including a missing or swapped dictionary.
@Suite("Compression")
struct CompressionTests {
    /// Compressible task text, different for every id.
    static func task(_ id: Int64) -> [UInt8] {
        Array("{\"id\":\(id),\"type\":\"email\",\"to\":\"user\(id % 1000)@example.com\",\"attempt\":0,\"pad\":\"xxxxxxxxxxxxxxxx\"}".utf8)
    }

    static func append(_ log: QueueLog, from first: Int64, count: Int, batch: Int) async throws {
        var id = first
        while id < first + Int64(count) {
            let k = min(Int64(batch), first + Int64(count) - id)
            let records = (id..<id + k).map { RecordInput(value: task($0), timestamp: TestPayload.timestamp($0)) }
            let offset = try await log.append(batch: records)
            #expect(offset == id)
            id += k
        }
    }

    /// The codec of every batch in the queue's segments, in order.
    static func codecs(_ log: QueueLog) throws -> [Int] {
        var out: [Int] = []
        for segment in try SpoolLayout.segments(at: log.directory) {
            try SegmentFile(path: segment.path).forEachBatch { entry in
                out.append(Int(entry.header.codecBits))
                return true
            }
        }
        return out
    }

    @Test("each codec round-trips through the log, and every batch stores the queue's codec",
          arguments: [Compression.none, .gzip(level: 6), .gzip(level: 1), .snappy, .lz4, .zstd(level: 3), .zstd(level: 19)])
    func codecRoundTrip(compression: Compression) async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions { $0.compression = compression }
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            try await Self.append(log, from: 0, count: 1_000, batch: 100)
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            let again = try reopened.queue("q")
            expectRecords(try readAll(again), count: 1_000) { Self.task($0) }
            let codecs = try Self.codecs(again)
            #expect(codecs.count == 10)
            #expect(codecs.allSatisfy { $0 == Int(compression.codec.rawValue) })
        }
    }

    @Test("a queue's compression changes on reopen, and older batches keep and decode with their codec")
    func compressionChangesOnReopen() async throws {
        try await withTemporaryDirectory { dir in
            var count: Int64 = 0
            for compression in [Compression.none, .lz4, .zstd(level: 5), .none] {
                let root = try openRoot(at: dir + "/root", options: testOptions { $0.compression = compression })
                try await Self.append(try root.queue("q"), from: count, count: 300, batch: 100)
                count += 300
                root.close()
            }
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            expectRecords(try readAll(log), count: 1_200) { Self.task($0) }
            #expect(try Self.codecs(log) == [0, 0, 0, 3, 3, 3, 4, 4, 4, 0, 0, 0])
        }
    }

    @Test("a queue open with one compression refuses another until the root is reopened; nil keeps it")
    func openQueueKeepsItsCompression() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q", compression: .lz4)
            #expect(log.compression == .lz4)
            #expect(try root.queue("q") === log)
            #expect(try root.queue("q", compression: .lz4) === log)
            let error = #expect(throws: SpoolError.self) { try root.queue("q", compression: .zstd()) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.hint?.contains("close the root") == true)
            #expect(throws: SpoolError.self) { try root.queue("other", compression: .zstd(level: 40)) }
        }
    }

    @Test("group logs are never compressed, whatever the root's default")
    func groupLogsStayUncompressed() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.compression = .zstd() })
            defer { root.close() }
            try await Self.append(try root.queue("q"), from: 0, count: 10, batch: 10)
            let group = try root.group("g", on: "q")
            let batch = try await group.claim(max: 10)
            try await group.ack(batch)
            let groupDirectory = try root.queue("q").directory + "/groups/g"
            var codecs: [Int] = []
            for base in QueueFiles.bases(groupDirectory) {
                try SegmentFile(path: QueueFiles.logPath(groupDirectory, base)).forEachBatch { codecs.append(Int($0.header.codecBits)); return true }
            }
            #expect(!codecs.isEmpty && codecs.allSatisfy { $0 == 0 })
        }
    }

    @Test("a reader decompresses each batch once, however few tasks each read takes from it")
    func eachBatchIsDecompressedOnce() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.compression = .zstd() })
            defer { root.close() }
            let log = try root.queue("q")
            try await Self.append(log, from: 0, count: 2_000, batch: 1_000)
            var reader = log.reader(from: 0)
            var records: [Record] = []
            while true {
                let some = try reader.read(max: 7)
                if some.isEmpty { break }
                records += some
            }
            expectRecords(records, count: 2_000) { Self.task($0) }
            #expect(reader.batchesDecompressed == 2)
            // A seek forgets the kept rest: the batch is decompressed again, once.
            reader.seek(to: 500)
            #expect(try reader.read(max: 3).map(\.offset) == [500, 501, 502])
            #expect(try reader.read(max: 3).map(\.offset) == [503, 504, 505])
            #expect(reader.batchesDecompressed == 3)
        }
    }

    @Test("a consumer group taking tasks a few at a time decompresses each batch once")
    func consumerGroupDecompressesOnce() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.compression = .lz4 })
            defer { root.close() }
            let log = try root.queue("q")
            try await Self.append(log, from: 0, count: 1_000, batch: 1_000)
            var groupOptions = GroupOptions()
            groupOptions.lookaheadMax = 16
            let group = try root.group("g", on: "q", options: groupOptions)
            var seen: [Int64] = []
            while seen.count < 1_000 {
                let batch = try await group.claim(max: 10)
                if batch.tasks.isEmpty { break }
                seen += batch.tasks.map(\.offset)
                try await group.ack(batch)
            }
            #expect(seen == Array(0..<1_000))
            #expect(group.readerBatchesDecompressed == 1)
        }
    }
}

/// Batch linger: small appends from concurrent producers become one compressed batch.
@Suite("Batch linger")
struct LingerTests {
    @Test("concurrent single-task appends linger into shared compressed batches, each told its own offset")
    func concurrentAppendsShareBatches() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions {
                $0.compression = .zstd()
                $0.lingerMicroseconds = 10_000
            }
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let log = try root.queue("q")
            let producers = 32
            let offsets = try await withThrowingTaskGroup(of: (Int64, Int64).self) { group in
                for id in 0..<Int64(producers) {
                    group.addTask { (id, try await log.append(CompressionTests.task(id))) }
                }
                var all: [(Int64, Int64)] = []
                for try await pair in group { all.append(pair) }
                return all
            }
            #expect(Set(offsets.map(\.1)) == Set(0..<Int64(producers)))
            let records = try readAll(log)
            #expect(records.count == producers)
            for (id, offset) in offsets {
                #expect(records[Int(offset)].value == CompressionTests.task(id), "task \(id) at offset \(offset)")
            }
            let batches = try CompressionTests.codecs(log)
            #expect(batches.count < producers, "\(batches.count) batches for \(producers) lingering appends")
            #expect(batches.allSatisfy { $0 == 4 })
        }
    }

    @Test("a lone lingering append is written once its linger ends, without waiting for others to fill a batch")
    func loneAppendIsNotHeld() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.compression = .lz4
                $0.lingerMicroseconds = 2_000
            })
            defer { root.close() }
            let log = try root.queue("q")
            // Each append is alone: it can only complete through its linger deadline (a test
            // that hangs here shows the writer waiting for a fill that never comes).
            for id in Int64(0)..<5 {
                #expect(try await log.append(CompressionTests.task(id)) == id)
            }
            expectRecords(try readAll(log), count: 5) { CompressionTests.task($0) }
            #expect(try CompressionTests.codecs(log) == [3, 3, 3, 3, 3])
        }
    }

    @Test("an append over a limit fails alone; the appends lingering with it succeed")
    func badAppendFailsAlone() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.compression = .zstd()
                $0.lingerMicroseconds = 10_000
                $0.limits.recordBytesMax = 1_000
            })
            defer { root.close() }
            let log = try root.queue("q")
            let results = await withTaskGroup(of: (Int, Result<Int64, SpoolError>).self) { group in
                for i in 0..<9 {
                    group.addTask {
                        let value = i == 4 ? [UInt8](repeating: 65, count: 4_000) : CompressionTests.task(Int64(i))
                        do { return (i, .success(try await log.append(value))) } catch { return (i, .failure(error as! SpoolError)) }
                    }
                }
                var all: [(Int, Result<Int64, SpoolError>)] = []
                for await result in group { all.append(result) }
                return all
            }
            for (i, result) in results {
                switch result {
                case .success: #expect(i != 4, "the oversized append was accepted")
                case .failure(let error):
                    #expect(i == 4, "append \(i) failed: \(error)")
                    #expect(error.code == .limitExceeded)
                }
            }
            #expect(try readAll(log).count == 8)
        }
    }

    @Test("linger is ignored on uncompressed queues and for appends above lingerAppendBytesMax")
    func lingerOnlyForSmallCompressedAppends() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.lingerMicroseconds = 10_000
                $0.lingerAppendBytesMax = 100
            })
            defer { root.close() }
            let plain = try root.queue("plain")
            let zipped = try root.queue("zipped", compression: .zstd())
            // Concurrent appends that lingered would share batches; these must not.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in Int64(0)..<20 {
                    group.addTask { try await plain.append(CompressionTests.task(id)) }
                    group.addTask { try await zipped.append(CompressionTests.task(id)) }   // over 100 bytes
                }
                try await group.waitForAll()
            }
            #expect(try CompressionTests.codecs(plain).count == 20)
            #expect(try CompressionTests.codecs(zipped).count == 20)
        }
    }
}

/// Trained zstd dictionaries: stored beside the queue, found by id, and a clear error when one
/// is missing or swapped.
@Suite("Zstd dictionaries")
struct DictionaryTests {
    /// A queue with 3,000 plain tasks, a dictionary trained from them, and 300 more tasks
    /// compressed with it in batches of 10. Returns the dictionary's id.
    static func queueWithDictionary(_ root: String) async throws -> UInt32 {
        let first = try openRoot(at: root, options: testOptions())
        try await CompressionTests.append(try first.queue("q"), from: 0, count: 3_000, batch: 100)
        let directory = try first.queue("q").directory
        first.close()
        let outcome = try DictionaryTrainer.train(queueDirectory: directory, samplesMax: 2_000)
        #expect(outcome.samples == 2_000)
        let second = try openRoot(at: root, options: testOptions { $0.compression = .zstdDictionary() })
        try await CompressionTests.append(try second.queue("q"), from: 3_000, count: 300, batch: 10)
        second.close()
        return outcome.dictionary.id
    }

    @Test("batches compressed with a trained dictionary name it, read back after reopen, and are smaller")
    func dictionaryRoundTrip() async throws {
        try await withTemporaryDirectory { dir in
            let id = try await Self.queueWithDictionary(dir + "/root")
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            expectRecords(try readAll(log), count: 3_300) { CompressionTests.task($0) }
            // The same 300 tasks with plain zstd, for comparison.
            let plain = try root.queue("plain", compression: .zstd())
            for first in stride(from: Int64(3_000), to: 3_300, by: 10) {
                try await plain.append(batch: (first..<first + 10).map { RecordInput(value: CompressionTests.task($0), timestamp: 0) })
            }
            var withDictionary = 0, withoutDictionary = 0
            for segment in try SpoolLayout.segments(at: log.directory) {
                try SegmentFile(path: segment.path).forEachBatch { entry in
                    if entry.header.baseOffset >= 3_000 { withDictionary += entry.header.totalBytes }
                    return true
                }
            }
            for segment in try SpoolLayout.segments(at: plain.directory) {
                try SegmentFile(path: segment.path).forEachBatch { withoutDictionary += $0.header.totalBytes; return true }
            }
            #expect(withDictionary < withoutDictionary, "\(withDictionary) B with dictionary \(id), \(withoutDictionary) B without")
        }
    }

    @Test("a batch whose dictionary file is missing fails with the dictionary's id, the position and the file to restore")
    func missingDictionary() async throws {
        try await withTemporaryDirectory { dir in
            let id = try await Self.queueWithDictionary(dir + "/root")
            let store = DictionaryStore(queueDirectory: dir + "/root/queues/q")
            #expect(unlink(store.path(of: id)) == 0)
            #expect(unlink(store.directory + "/current") == 0)
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            var reader = try root.queue("q").reader(from: 3_000)
            let error = #expect(throws: SpoolError.self) { try reader.read(max: 1) }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("dictionary \(id)") == true)
            #expect(error?.position != nil && error?.offset == 3_000)
            #expect(error?.hint?.contains("dictionaries/\(id).zdict") == true)
            // Batches before the dictionary still read.
            var early = try root.queue("q").reader(from: 0)
            #expect(try early.read(max: 3_000).count == 3_000)
        }
    }

    @Test("a dictionary file holding another dictionary is refused by id, and the batch is not misread")
    func swappedDictionary() async throws {
        try await withTemporaryDirectory { dir in
            let id = try await Self.queueWithDictionary(dir + "/root")
            let store = DictionaryStore(queueDirectory: dir + "/root/queues/q")
            // Another dictionary, trained from other tasks, put in place of the right one.
            let samples = (0..<500).map { Array("other task \($0) with different words \($0 * 7)".utf8) }
            let other = try ZstdDictionary.train(samples: samples, capacityBytes: 4_096)
            try #require(other.id != id)
            let fd = open(store.path(of: id), O_WRONLY | O_TRUNC)
            try #require(fd >= 0)
            _ = other.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            let error = #expect(throws: SpoolError.self) { try store.dictionary(id: id) }
            #expect(error?.code == .corruption)
            #expect(error?.message.contains("holds dictionary \(other.id), not \(id)") == true)
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            var reader = try root.queue("q").reader(from: 3_000)
            #expect(throws: SpoolError.self) { try reader.read(max: 1) }
        }
    }

    @Test("zstd-dict on a queue without a dictionary compresses with plain zstd")
    func dictionaryModeWithoutDictionary() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.compression = .zstdDictionary() })
            defer { root.close() }
            let log = try root.queue("q")
            try await CompressionTests.append(log, from: 0, count: 100, batch: 10)
            expectRecords(try readAll(log), count: 100) { CompressionTests.task($0) }
            #expect(try CompressionTests.codecs(log).allSatisfy { $0 == 4 })
        }
    }

    @Test("training refuses a queue with too few tasks, naming the queue")
    func trainingNeedsTasks() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            try await CompressionTests.append(try root.queue("q"), from: 0, count: 3, batch: 3)
            root.close()
            let error = #expect(throws: SpoolError.self) {
                try DictionaryTrainer.train(queueDirectory: dir + "/root/queues/q")
            }
            #expect(error?.path == dir + "/root/queues/q")
        }
    }
}
