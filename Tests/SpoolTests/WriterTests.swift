import Foundation
import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Synchronization
import Testing

/// The writer: group commit, durability policies, backpressure, segment rolls, limits, and
/// what happens when the disk fills up or a sync fails.
@Suite("Writer")
struct WriterTests {
    // MARK: Group commit and durability

    @Test("16 concurrent producers get distinct offsets and share fdatasyncs (group commit)")
    func groupCommitSharesSyncs() async throws {
        try await withTemporaryDirectory { dir in
            // A disk whose syncs take 2 ms, so producers arriving during a sync wait for the next one.
            let faults = FaultInjectingFileSystem(wrapping: GatedFileSystem(syncDelayMicroseconds: 2_000))
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.fileSystem = faults })
            defer { root.close() }
            let log = try root.queue("q")
            let before = faults.counters.dataSyncs
            let producers = 16, perProducer = 25
            let acked = Collector<(id: Int64, offset: Int64)>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for p in 0..<producers {
                    group.addTask {
                        for i in 0..<perProducer {
                            let id = Int64(p * 1000 + i)
                            let offset = try await log.append(TestPayload.make(id, size: 100), timestamp: id)
                            acked.add((id, offset))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let syncs = faults.counters.dataSyncs - before
            let total = producers * perProducer
            let offsets = acked.values.map(\.offset)
            #expect(offsets.count == total)
            #expect(Set(offsets).count == total, "every append got its own offset")
            #expect(offsets.sorted() == Array(0..<Int64(total)))
            #expect(syncs >= 1)
            #expect(syncs < total, "\(syncs) fdatasyncs for \(total) appends: groups share a sync")
            let records = try readAll(log)
            let byOffset = Dictionary(uniqueKeysWithValues: acked.values.map { ($0.offset, $0.id) })
            #expect(records.count == total)
            for record in records {
                let id = byOffset[record.offset]!
                #expect(record.value == TestPayload.make(id, size: 100) && record.timestamp == id, "offset \(record.offset)")
            }
        }
    }

    @Test("no append is answered before the fdatasync covering it has returned")
    func answeredOnlyAfterSync() async throws {
        try await withTemporaryDirectory { dir in
            let gate = GatedFileSystem()
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.fileSystem = gate })
            defer { root.close() }
            let log = try root.queue("q")
            gate.closeGate()
            let answered = AtomicCounter()
            let append = Task {
                let offset = try await log.append(Array("durable".utf8))
                answered.increment()
                return offset
            }
            try await gate.waitUntilSyncIsHeld()
            await pause(milliseconds: 100)
            #expect(answered.value == 0, "the append returned while its sync was still held")
            gate.openGate()
            #expect(try await append.value == 0)
            #expect(answered.value == 1)
        }
    }

    @Test("durability .never issues no fdatasync per append, only fsyncs when a segment rolls and at close")
    func neverDurabilityDoesNotSyncPerAppend() async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjectingFileSystem()
            let options = testOptions { $0.fileSystem = faults; $0.durability = .never; $0.segmentBytes = 64 << 10 }
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            let before = faults.counters
            for i in 0..<300 {
                try await log.append(TestPayload.make(Int64(i), size: 1000))
            }
            let afterAppends = faults.counters
            #expect(afterAppends.dataSyncs == before.dataSyncs, "no fdatasync for 300 appends under .never")
            let segments = QueueFiles.bases(QueueFiles.directory(dir + "/root", "q")).count
            #expect(segments >= 4)
            #expect(afterAppends.fullSyncs > before.fullSyncs, "sealing a segment fsyncs it")
            root.close()
            #expect(faults.counters.fullSyncs > afterAppends.fullSyncs, "close fsyncs the tail")
            #expect(faults.counters.dataSyncs == before.dataSyncs)

            let reopened = try openRoot(at: dir + "/root", options: testOptions())
            defer { reopened.close() }
            expectRecords(try readAll(try reopened.queue("q")), count: 300) { TestPayload.make($0, size: 1000) }
        }
    }

    @Test("durability .interval answers before syncing and syncs within the interval")
    func intervalDurabilitySyncsLater() async throws {
        try await withTemporaryDirectory { dir in
            let gate = GatedFileSystem()
            let faults = FaultInjectingFileSystem(wrapping: gate)
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.fileSystem = faults; $0.durability = .interval(milliseconds: 50)
            })
            defer { root.close() }
            let log = try root.queue("q")
            let before = faults.counters.dataSyncs
            gate.closeGate()
            // Answered although the sync is held: the interval policy does not wait for one.
            let completed = gate.dataSyncs
            #expect(try await log.append(Array("soon durable".utf8)) == 0)
            #expect(gate.dataSyncs == completed, "no sync can complete while the gate is closed")
            // The deferred sync comes by itself once the interval has passed.
            try await gate.waitUntilSyncIsHeld()
            gate.openGate()
            try await waitFor("the deferred sync to finish") { faults.counters.dataSyncs > before && gate.waitingAtGate == 0 }
            #expect(!gate.timedOut)
        }
    }

    @Test("appendBlocking from several threads assigns every record exactly one offset")
    func blockingAppendsFromThreads() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            let acked = Collector<(Int64, Int64)>()
            let failures = AtomicCounter()
            let threads = (0..<4).map { t in
                OSThread {
                    for i in 0..<40 {
                        let id = Int64(t * 1000 + i)
                        do {
                            let first = try log.appendBlocking(batch: [
                                RecordInput(value: TestPayload.make(id, size: 64), timestamp: id),
                                RecordInput(value: TestPayload.make(id + 500, size: 64), timestamp: id),
                            ])
                            acked.add((id, first))
                        } catch {
                            failures.increment()
                        }
                    }
                }
            }
            for thread in threads { thread.join() }
            #expect(failures.value == 0)
            let firsts = acked.values.map(\.1)
            #expect(Set(firsts).count == 160)
            #expect(firsts.allSatisfy { $0 % 2 == 0 }, "a two-record append keeps its records together")
            let records = try readAll(log)
            #expect(records.count == 320)
            for (id, first) in acked.values {
                #expect(records[Int(first)].value == TestPayload.make(id, size: 64))
                #expect(records[Int(first) + 1].value == TestPayload.make(id + 500, size: 64))
            }
        }
    }

    @Test("close writes, syncs and answers every append queued before it, then returns")
    func closeDrainsQueuedAppends() async throws {
        try await withTemporaryDirectory { dir in
            let gate = GatedFileSystem()
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.fileSystem = gate })
            let log = try root.queue("q")
            gate.closeGate()
            let first = Task { try await log.append(TestPayload.make(0, size: 100)) }
            try await gate.waitUntilSyncIsHeld()
            let queued = (1...3).map { id in Task { try await log.append(TestPayload.make(Int64(id) * 10, size: 100)) } }
            await pause(milliseconds: 200)
            let closed = AtomicCounter()
            let closer = OSThread { root.close(); closed.increment() }
            await pause(milliseconds: 100)
            #expect(closed.value == 0, "close waits for the queued appends")
            gate.openGate()
            try await waitFor("close to return") { closed.value == 1 }
            closer.join()
            #expect(try await first.value == 0)
            var offsets: [Int64] = []
            for task in queued { offsets.append(try await task.value) }
            #expect(Set(offsets) == [1, 2, 3])
            let late = await #expect(throws: SpoolError.self) { try await log.append([9]) }
            #expect(late?.code == .closed)
            #expect(!gate.timedOut)

            let reopened = try openRoot(at: dir + "/root", options: testOptions())
            defer { reopened.close() }
            #expect(try readAll(try reopened.queue("q")).count == 4)
        }
    }

    // MARK: Backpressure

    @Test("backpressure .fail throws .queueFull once pendingBytesMax is waiting, and writes only what it accepted")
    func backpressureFailThrowsQueueFull() async throws {
        try await withTemporaryDirectory { dir in
            let gate = GatedFileSystem()
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.fileSystem = gate; $0.backpressure = .fail
                $0.limits.batchBytesMax = 16 << 10; $0.pendingBytesMax = 16 << 10
            })
            defer { root.close() }
            let log = try root.queue("q")
            let size = try encodedSize([RecordInput(value: TestPayload.make(0, size: 4000), timestamp: 0)])
            let fitting = (16 << 10) / size
            gate.closeGate()
            let first = Task { try await log.append(TestPayload.make(0, size: 4000), timestamp: 0) }
            try await gate.waitUntilSyncIsHeld()  // the writer is busy with the first; the rest must queue

            let flood = 12
            let refused = AtomicCounter()
            let answered = AtomicCounter()
            let results = Task {
                await withTaskGroup(of: (Int64, Result<Int64, SpoolError>).self) { group in
                    for i in 1...Int64(flood) {
                        group.addTask {
                            do {
                                let offset = try await log.append(TestPayload.make(i, size: 4000), timestamp: i)
                                answered.increment()
                                return (i, .success(offset))
                            } catch let error as SpoolError {
                                if error.code == .queueFull { refused.increment() }
                                return (i, .failure(error))
                            } catch {
                                return (i, .failure(SpoolError(.io, "\(error)")))
                            }
                        }
                    }
                    var all: [(Int64, Result<Int64, SpoolError>)] = []
                    for await result in group { all.append(result) }
                    return all
                }
            }
            try await waitFor("\(flood - fitting) producers to be refused") { refused.value >= flood - fitting }
            #expect(answered.value == 0, "nothing is answered while the sync is held")
            gate.openGate()
            #expect(try await first.value == 0)
            let all = await results.value
            var accepted: [Int64: Int64] = [:]
            for (id, result) in all {
                switch result {
                case .success(let offset): accepted[offset] = id
                case .failure(let error):
                    #expect(error.code == .queueFull, "\(error)")
                    #expect(error.path == QueueFiles.directory(dir + "/root", "q"))
                }
            }
            #expect(accepted.count == fitting)
            #expect(refused.value == flood - fitting)
            #expect(Set(accepted.keys) == Set(1...Int64(fitting)))
            let records = try readAll(log)
            #expect(records.count == 1 + fitting, "refused appends wrote nothing")
            for record in records.dropFirst() {
                #expect(record.value == TestPayload.make(accepted[record.offset]!, size: 4000))
            }
        }
    }

    @Test("backpressure .wait parks producers past pendingBytesMax and completes them all")
    func backpressureWaitParks() async throws {
        try await withTemporaryDirectory { dir in
            let gate = GatedFileSystem()
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.fileSystem = gate; $0.backpressure = .wait
                $0.limits.batchBytesMax = 16 << 10; $0.pendingBytesMax = 16 << 10
            })
            defer { root.close() }
            let log = try root.queue("q")
            gate.closeGate()
            let first = Task { try await log.append(TestPayload.make(0, size: 4000), timestamp: 0) }
            try await gate.waitUntilSyncIsHeld()
            let answered = AtomicCounter()
            let flood = Task {
                try await withThrowingTaskGroup(of: (Int64, Int64).self) { group in
                    for i in 1...Int64(12) {
                        group.addTask {
                            let offset = try await log.append(TestPayload.make(i, size: 4000), timestamp: i)
                            answered.increment()
                            return (i, offset)
                        }
                    }
                    var all: [(Int64, Int64)] = []
                    for try await pair in group { all.append(pair) }
                    return all
                }
            }
            await pause(milliseconds: 200)
            #expect(answered.value == 0)
            gate.openGate()
            #expect(try await first.value == 0)
            let all = try await flood.value
            #expect(all.count == 12)
            #expect(Set(all.map(\.1)) == Set(1...Int64(12)))
            let records = try readAll(log)
            let ids = Dictionary(uniqueKeysWithValues: all.map { ($0.1, $0.0) })
            #expect(records.count == 13)
            for record in records.dropFirst() { #expect(record.value == TestPayload.make(ids[record.offset]!, size: 4000)) }
        }
    }

    // MARK: Segments

    @Test("segments roll by size; each is named by its first offset in 20 digits")
    func segmentsRollBySize() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.segmentBytes = 64 << 10 })
            let log = try root.queue("q")
            for i in 0..<60 {
                let records = (0..<5).map { j in RecordInput(value: TestPayload.make(Int64(i * 5 + j), size: 1000), timestamp: 0) }
                try await log.append(batch: records)
            }
            root.close()
            let directory = QueueFiles.directory(dir + "/root", "q")
            let names = QueueFiles.segments(directory)
            #expect(names.count >= 4)
            var expectedBase: Int64 = 0
            for name in names {
                #expect(name.count == 24 && name.dropLast(4).allSatisfy(\.isNumber), "\(name)")
                let base = try #require(Int64(name.dropLast(4)))
                #expect(base == expectedBase, "segment \(name) starts where the previous ended")
                let (found, end) = try batches(in: directory + "/" + name)
                #expect(found.first?.baseOffset == base)
                #expect(end.problem == nil)
                #expect(Files.size(directory + "/" + name) <= 64 << 10)
                expectedBase = found.last!.nextOffset
            }
            #expect(expectedBase == 300)
        }
    }

    @Test("segments roll by age with an injected clock")
    func segmentsRollByAge() async throws {
        try await withTemporaryDirectory { dir in
            let clock = TestClock()
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.clock = clock; $0.segmentMaxAgeMilliseconds = 60_000
            })
            defer { root.close() }
            let log = try root.queue("q")
            let directory = QueueFiles.directory(dir + "/root", "q")
            try await log.append(Array("a".utf8))
            clock.advance(milliseconds: 30_000)
            try await log.append(Array("b".utf8))
            #expect(QueueFiles.bases(directory) == [0], "30 s old: no roll")
            clock.advance(milliseconds: 30_001)
            try await log.append(Array("c".utf8))
            #expect(QueueFiles.bases(directory) == [0, 2], "60 s old: the third append starts a segment")
            clock.advance(milliseconds: 59_000)
            try await log.append(Array("d".utf8))
            #expect(QueueFiles.bases(directory) == [0, 2])
            #expect(try readAll(log).map { String(decoding: $0.value!, as: UTF8.self) } == ["a", "b", "c", "d"])
        }
    }

    @Test("a segment whose first record is past the maximum age rolls on the first append after reopen")
    func segmentAgeSurvivesReopen() async throws {
        try await withTemporaryDirectory { dir in
            let clock = TestClock()
            let options = testOptions { $0.clock = clock; $0.segmentMaxAgeMilliseconds = 60_000 }
            let root = try openRoot(at: dir + "/root", options: options)
            try await root.queue("q").append(Array("old".utf8))
            root.close()
            clock.advance(milliseconds: 120_000)
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            try await reopened.queue("q").append(Array("new".utf8))
            #expect(QueueFiles.bases(QueueFiles.directory(dir + "/root", "q")) == [0, 1],
                    "the segment is two minutes old with a one-minute limit: the append must go to a new segment")
        }
    }

    @Test("sealed segments are trimmed: the log ends at its last batch and the indexes hold only their entries")
    func sealedSegmentsAreTrimmed() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions { $0.segmentBytes = 64 << 10; $0.preallocationStepBytes = 16 << 10 }
            let root = try openRoot(at: dir + "/root", options: options)
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<200 { try await log.append(TestPayload.make(Int64(i), size: 900), timestamp: TestPayload.timestamp(Int64(i))) }
            let directory = QueueFiles.directory(dir + "/root", "q")
            let bases = QueueFiles.bases(directory)
            #expect(bases.count >= 3)
            let capacity = Segment.indexCapacity(segmentBytes: options.segmentBytes, interval: options.indexIntervalBytes)
            // Every segment but the last (still active) is sealed.
            for base in bases.dropLast() {
                let path = QueueFiles.logPath(directory, base)
                let (found, end) = try batches(in: path)
                #expect(Files.size(path) == found.last!.end, "no preallocated space left in a sealed segment")
                #expect(end.trailingBytes == 0)
                let indexSize = Files.size(QueueFiles.indexPath(directory, base))
                let timeSize = Files.size(QueueFiles.timeIndexPath(directory, base))
                #expect(indexSize > 0 && indexSize % 8 == 0)
                // Kafka's meaning: the time index gets an entry only when the greatest timestamp
                // grows, plus a closing one at the seal, so the counts may differ.
                #expect(timeSize > 0 && timeSize % 12 == 0)
                let times = try Files.read(QueueFiles.timeIndexPath(directory, base))
                #expect(!times.suffix(12).allSatisfy { $0 == 0 }, "the time index holds no preallocated zeros")
                #expect(indexSize < Int64(capacity * 8), "the index was trimmed to its entries")
                let entries = try Files.read(QueueFiles.indexPath(directory, base))
                #expect(!entries.suffix(8).allSatisfy { $0 == 0 }, "the last entry is a real one, not preallocated zeros")
            }
            // The active one is still preallocated ahead of its tail.
            let active = QueueFiles.logPath(directory, bases.last!)
            #expect(Files.size(active) > log.committed.position)
        }
    }

    // MARK: Limits

    @Test("a record above limits.recordBytesMax throws .limitExceeded, writes nothing, and later appends go on")
    func recordAboveLimitIsRejected() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.limits.recordBytesMax = 1000 })
            defer { root.close() }
            let log = try root.queue("q")
            for i in 0..<3 { try await log.append(TestPayload.make(Int64(i), size: 100)) }
            let before = log.committed
            let alone = await #expect(throws: SpoolError.self) { try await log.append(TestPayload.make(99, size: 2000)) }
            #expect(alone?.code == .limitExceeded)
            #expect(alone?.cause as? FormatError == .limitExceeded(what: "bytes of record 0", value: 2_007, limit: 1000),
                    "the encoder's typed error is kept as the cause: \(String(describing: alone?.cause))")
            let mixed = await #expect(throws: SpoolError.self) {
                try await log.append(batch: [RecordInput(value: [1], timestamp: 0), RecordInput(value: TestPayload.make(98, size: 1001), timestamp: 0)])
            }
            #expect(mixed?.code == .limitExceeded)
            #expect(log.committed == before, "nothing was written")
            #expect(try await log.append(TestPayload.make(3, size: 100)) == 3)
            expectRecords(try readAll(log), count: 4) { TestPayload.make($0, size: 100) }
        }
    }

    @Test("a segment rolls before its offsets pass the relative-offset limit, even when a batch of several records would cross it")
    func rollsBeforeRelativeOffsetOverflows() async throws {
        try await withTemporaryDirectory { dir in
            var options = testOptions()
            options.segmentRelativeOffsetMax = 9  // a segment holds offsets base...base+9
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            for i in 0..<8 { try await log.append(TestPayload.make(Int64(i), size: 10)) }
            // Offsets 8-11 do not fit beside 0-7: the roll comes before the batch, not inside it.
            let batch = (8..<12).map { RecordInput(value: TestPayload.make(Int64($0), size: 10), timestamp: TestPayload.timestamp(Int64($0))) }
            #expect(try await log.append(batch: batch) == 8)
            for i in 12..<25 { try await log.append(TestPayload.make(Int64(i), size: 10)) }
            expectRecords(try readAll(log), count: 25) { TestPayload.make($0, size: 10) }
            root.close()
            let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/root/queues/q").filter { $0.hasSuffix(".log") }.sorted()
            #expect(names.map { Int64($0.dropLast(4))! } == [0, 8, 18])
            let report = try Verifier().verify(path: dir + "/root")
            #expect(report.problems.isEmpty, "\(report.problems)")
        }
    }

    @Test("an append larger than limits.batchBytesMax is split into consecutive batches")
    func largeAppendIsSplitIntoBatches() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.limits.batchBytesMax = 16 << 10 })
            defer { root.close() }
            let log = try root.queue("q")
            try await log.append(Array("first".utf8))
            let records = (1...40).map { RecordInput(value: TestPayload.make(Int64($0), size: 1000), timestamp: Int64($0)) }
            #expect(try await log.append(batch: records) == 1)
            #expect(try await log.append(Array("last".utf8)) == 41)
            let read = try readAll(log)
            expectRecords(Array(read[1...40]), from: 1, count: 40) { TestPayload.make($0, size: 1000) }
            let (found, _) = try batches(in: QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0))
            #expect(found.count >= 5, "1 + at least 3 for the 40 KB append + 1")
            #expect(found.allSatisfy { $0.totalBytes <= 16 << 10 })
        }
    }

    @Test("an append that cannot fit in one segment throws .limitExceeded")
    func appendLargerThanASegmentIsRejected() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.segmentBytes = 64 << 10 })
            defer { root.close() }
            let log = try root.queue("q")
            let records = (0..<100).map { RecordInput(value: TestPayload.make(Int64($0), size: 1000), timestamp: 0) }
            let error = await #expect(throws: SpoolError.self) { try await log.append(batch: records) }
            #expect(error?.code == .limitExceeded)
            #expect(log.committed.nextOffset == 0)
            #expect(try await log.append([1]) == 0)
        }
    }

    @Test("an empty append throws .invalidArgument")
    func emptyAppendIsRejected() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let log = try root.queue("q")
            let error = await #expect(throws: SpoolError.self) { try await log.append(batch: []) }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("appends after close throw .closed")
    func appendAfterCloseThrowsClosed() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            let log = try root.queue("q")
            try await log.append([1])
            root.close()
            let error = await #expect(throws: SpoolError.self) { try await log.append([2]) }
            #expect(error?.code == .closed)
            let blocking = #expect(throws: SpoolError.self) { try log.appendBlocking(batch: [RecordInput(value: [3], timestamp: 0)]) }
            #expect(blocking?.code == .closed)
        }
    }

    // MARK: Failures of the disk

    @Test("disk full fails the append with .diskFull naming the segment; acknowledged data survives and appends resume when space returns")
    func diskFull() async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjectingFileSystem()
            let root = try openRoot(at: dir + "/root", options: testOptions {
                $0.fileSystem = faults; $0.preallocationStepBytes = 4096; $0.segmentBytes = 1 << 20
            })
            let log = try root.queue("q")
            var acked: [Int64: Int64] = [:]  // offset -> payload id
            for id in Int64(0)..<5 { acked[try await log.append(TestPayload.make(id, size: 1000))] = id }

            var plan = FaultInjectingFileSystem.Plan()
            plan.writeBudgetBytes = 40_000
            plan.writeSuffix = ".log"
            plan.writeErrno = ENOSPC
            faults.setPlan(plan)
            var failure: SpoolError? = nil
            for id in Int64(5)..<500 {
                do {
                    acked[try await log.append(TestPayload.make(id, size: 1000))] = id
                } catch let error as SpoolError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "the budget must run out")
            let segment = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            #expect(error.code == .diskFull)
            #expect(error.path == segment)
            #expect(error.errno == ENOSPC)
            #expect(acked.count > 5, "some appends fitted in the budget")
            let again = await #expect(throws: SpoolError.self) { try await log.append(TestPayload.make(1000, size: 1000)) }
            #expect(again?.code == .diskFull)
            #expect(try readAll(log).count == acked.count, "readers see exactly the acknowledged records")

            faults.setPlan(FaultInjectingFileSystem.Plan())
            let resumed = try await log.append(TestPayload.make(2000, size: 1000))
            #expect(resumed == Int64(acked.count), "failed appends used no offsets")
            acked[resumed] = 2000
            root.close()

            let reopened = try openRoot(at: dir + "/root", options: testOptions())
            defer { reopened.close() }
            expectRecords(try readAll(try reopened.queue("q")), count: acked.count) { TestPayload.make(acked[$0]!, size: 1000) }
        }
    }

    @Test("an fdatasync failure fails the append; later appends throw .closed naming it; acknowledged data survives reopen")
    func syncFailureClosesTheLog() async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjectingFileSystem()
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.fileSystem = faults })
            let log = try root.queue("q")
            for i in 0..<10 { try await log.append(TestPayload.make(Int64(i), size: 300)) }
            var plan = FaultInjectingFileSystem.Plan()
            plan.syncErrno = EIO
            faults.setPlan(plan)
            let segment = QueueFiles.logPath(QueueFiles.directory(dir + "/root", "q"), 0)
            let first = await #expect(throws: SpoolError.self) { try await log.append(TestPayload.make(10, size: 300)) }
            #expect(first?.code == .io)
            #expect(first?.errno == EIO)
            #expect(first?.path == segment)
            // Even with the disk healthy again, the log refuses: the kernel may have dropped the pages.
            faults.setPlan(FaultInjectingFileSystem.Plan())
            let later = await #expect(throws: SpoolError.self) { try await log.append(TestPayload.make(11, size: 300)) }
            #expect(later?.code == .closed)
            #expect(later?.message.contains("earlier failure") == true)
            #expect(later?.message.contains("fdatasync") == true)
            #expect(later?.errno == EIO)
            #expect(later?.path == segment)
            root.close()

            let reopened = try openRoot(at: dir + "/root", options: testOptions())
            defer { reopened.close() }
            let again = try reopened.queue("q")
            let records = try readAll(again)
            #expect(records.count >= 10)
            expectRecords(Array(records.prefix(10)), count: 10) { TestPayload.make($0, size: 300) }
            // The unacknowledged record may be there (at-least-once), and only as written.
            if records.count == 11 { #expect(records[10].value == TestPayload.make(10, size: 300)) }
            #expect(records.count <= 11)
            #expect(try await again.append([1]) == Int64(records.count))
        }
    }

    @Test("a roll blocked by a stray file where the next segment goes fails appends naming it; appends resume once it is gone")
    func rollBlockedByStrayFile() async throws {
        try await withTemporaryDirectory { dir in
            let options = testOptions { $0.segmentBytes = 64 << 10 }
            let root = try openRoot(at: dir + "/root", options: options)
            let log = try root.queue("q")
            let directory = QueueFiles.directory(dir + "/root", "q")
            let valueSize = 8500  // seven fit in a segment
            for id in Int64(0)..<7 { #expect(try await log.append(TestPayload.make(id, size: valueSize)) == id) }
            let stray = QueueFiles.logPath(directory, 7)
            try Files.write(stray, Array("not a segment".utf8))
            for attempt in 0..<2 {
                let error = await #expect(throws: SpoolError.self) { try await log.append(TestPayload.make(7, size: valueSize)) }
                #expect(error?.path == stray, "attempt \(attempt): \(error.map { "\($0)" } ?? "")")
                #expect(error?.errno == EEXIST)
            }
            expectRecords(try readAll(log), count: 7) { TestPayload.make($0, size: valueSize) }
            #expect(unlink(stray) == 0)
            #expect(try await log.append(TestPayload.make(7, size: valueSize)) == 7)
            #expect(QueueFiles.bases(directory) == [0, 7])
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: options)
            defer { reopened.close() }
            expectRecords(try readAll(try reopened.queue("q")), count: 8) { TestPayload.make($0, size: valueSize) }
        }
    }

    @Test("a recovery point that cannot be written at close costs only a longer scan at the next open")
    func recoveryPointUnwritableAtClose() async throws {
        try await withTemporaryDirectory { dir in
            var plan = FaultInjectingFileSystem.Plan()
            plan.failRenameSuffix = "recovery-point"
            let faults = FaultInjectingFileSystem(plan: plan)
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.fileSystem = faults })
            let log = try root.queue("q")
            for i in Int64(0)..<50 { try await log.append(TestPayload.make(i, size: 500)) }
            let end = log.committed.position
            root.close()
            let directory = QueueFiles.directory(dir + "/root", "q")
            #expect(!Files.exists(directory + "/recovery-point"))

            let reopened = try openRoot(at: dir + "/root", options: testOptions())
            defer { reopened.close() }
            let again = try reopened.queue("q")
            #expect(again.recoveryReport.recoveryPointMissing)
            #expect(again.recoveryReport.bytesScanned == end)
            #expect(again.recoveryReport.removedTemporaryFiles == ["recovery-point.tmp"])
            expectRecords(try readAll(again), count: 50) { TestPayload.make($0, size: 500) }
            #expect(try await again.append([1]) == 50)
        }
    }

    @Test("a segment roll that fails after part of a group was acknowledged never hands out an offset twice")
    func failedRollKeepsOffsetsUnique() async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjectingFileSystem()
            let gate = GatedFileSystem(wrapping: faults)
            let root = try openRoot(at: dir + "/root", options: testOptions { $0.fileSystem = gate; $0.segmentBytes = 64 << 10 })
            defer { root.close() }
            let log = try root.queue("q")
            // Seven such batches fit in a 64 KiB segment, the eighth does not.
            let valueSize = 8500
            let batchSize = try encodedSize([RecordInput(value: TestPayload.make(0, size: valueSize), timestamp: 0)])
            try #require(7 * batchSize <= 64 << 10 && 8 * batchSize > 64 << 10)
            var acked: [Int64: Int64] = [:]  // offset -> payload id
            for id in Int64(0)..<5 { acked[try await log.append(TestPayload.make(id, size: valueSize), timestamp: id)] = id }

            // The recovery point cannot be renamed into place, so sealing segment 0 will fail.
            var plan = FaultInjectingFileSystem.Plan()
            plan.failRenameSuffix = "recovery-point"
            faults.setPlan(plan)
            // Hold the sync of append 5 so that appends 6, 7 and 8 gather into one group: the
            // first of them fits in segment 0, the second needs a roll.
            gate.closeGate()
            let fifth = Task { try await log.append(TestPayload.make(5, size: valueSize), timestamp: 5) }
            try await gate.waitUntilSyncIsHeld()
            let group = Task {
                await withTaskGroup(of: (Int64, Result<Int64, any Error>).self) { tasks in
                    for id in Int64(6)...8 {
                        tasks.addTask {
                            do { return (id, .success(try await log.append(TestPayload.make(id, size: valueSize), timestamp: id))) }
                            catch { return (id, .failure(error)) }
                        }
                    }
                    var all: [(Int64, Result<Int64, any Error>)] = []
                    for await result in tasks { all.append(result) }
                    return all
                }
            }
            await pause(milliseconds: 300)  // let all three reach the writer's queue
            gate.openGate()
            acked[try await fifth.value] = 5
            for (id, result) in await group.value {
                if case .success(let offset) = result {
                    #expect(acked[offset] == nil, "offset \(offset) handed out twice")
                    acked[offset] = id
                }
            }
            // The disk is fine again: the next appends roll and go on.
            faults.setPlan(FaultInjectingFileSystem.Plan())
            for id in Int64(9)...10 {
                let offset = try await log.append(TestPayload.make(id, size: valueSize), timestamp: id)
                #expect(acked[offset] == nil, "offset \(offset) was already acknowledged for payload \(acked[offset] ?? -1)")
                acked[offset] = id
            }
            #expect(Set(acked.keys) == Set(0..<Int64(acked.count)), "acknowledged offsets are consecutive")
            let records = try readAll(log)
            #expect(records.map(\.offset) == Array(0..<Int64(records.count)))
            for record in records {
                if let id = acked[record.offset] {
                    #expect(record.value == TestPayload.make(id, size: valueSize), "offset \(record.offset) holds payload \(id)")
                }
            }
        }
    }
}
