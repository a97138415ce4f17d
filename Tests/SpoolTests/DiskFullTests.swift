import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Synchronization
import Testing

/// A disk that is full (every write fails with ENOSPC) until a file whose name ends with
/// `freedBy` is deleted, as if deleting it gave the space back.
final class FullDiskFileSystem: FileSystem {
    let base = PosixFileSystem()
    let full = Atomic<Bool>(false)
    let freedBy: String
    private let paths = Mutex<[Int32: String]>([:])

    init(freedBy: String) { self.freedBy = freedBy }

    func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        let fd = try base.open(path, flags: flags, mode: mode)
        paths.withLock { $0[fd] = path }
        return fd
    }
    func close(_ fd: Int32) { paths.withLock { _ = $0.removeValue(forKey: fd) }; base.close(fd) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        try base.read(fd, into: buffer, at: position)
    }
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws {
        if full.load(ordering: .acquiring) {
            throw SpoolError.system("pwrite", errno: ENOSPC, path: paths.withLock { $0[fd] })
        }
        try base.write(fd, from: buffer, at: position)
    }
    func fdatasync(_ fd: Int32) throws { try base.fdatasync(fd) }
    func fsync(_ fd: Int32) throws { try base.fsync(fd) }
    func truncate(_ fd: Int32, to length: Int64) throws { try base.truncate(fd, to: length) }
    func size(_ fd: Int32) throws -> Int64 { try base.size(fd) }
    func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    func unlink(_ path: String) throws {
        try base.unlink(path)
        if path.hasSuffix(freedBy) { full.store(false, ordering: .releasing) }
    }
    func makeDirectory(_ path: String, mode: mode_t) throws { try base.makeDirectory(path, mode: mode) }
    func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    func fileType(_ path: String) -> FileType { base.fileType(path) }
}

@Suite("Disk full")
struct DiskFullTests {
    typealias F = CompactionFixture

    @Test("ENOSPC on a queue's segment fails enqueue with .diskFull naming the file; reads and acks go on; enqueue resumes when space returns")
    func enospcStopsWritersOnly() async throws {
        try await withTemporaryDirectory { dir in
            let fs = FaultInjectingFileSystem()
            let root = try openRoot(at: dir + "/root", options: F.options { $0.fileSystem = fs; $0.preallocationStepBytes = 4096 })
            let log = try root.queue("q")
            try await F.fill(log, count: 100)
            let segment = QueueFiles.logPath(log.directory, log.committed.segment)
            var plan = FaultInjectingFileSystem.Plan()
            plan.writeBudgetBytes = 0
            plan.writeSuffix = segment
            plan.writeErrno = ENOSPC
            fs.setPlan(plan)
            let error = await #expect(throws: SpoolError.self) { try await log.append(Array(repeating: 1, count: 10_000)) }
            #expect(error?.code == .diskFull)
            #expect(error?.path == segment)
            #expect(error?.hint?.contains("free space") == true)
            // Readers and the group (its own log) still work.
            #expect(try F.readChecked(log) == Array(0..<100))
            let group = try root.group("g", on: "q")
            let claimed = try await group.claim(max: 10)
            #expect(try await group.ack(claimed).acked == 10)
            // Space returns: appends go on at the next offset, nothing doubled.
            fs.setPlan(.init())
            #expect(try await log.append(F.payload(100)) == 100)
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: F.options())
            defer { reopened.close() }
            #expect(try F.readChecked(try reopened.queue("q")) == Array(0..<101))
            #expect(try await F.claimAll(try reopened.group("g", on: "q")) == Array(10..<101))
        }
    }

    @Test("on a full disk a rewrite takes the compaction reserve's space and completes; without a reserve it stops naming .cleaned and loses nothing")
    func reserveLetsCompactionRun() async throws {
        for reserved in [true, false] {
            try await withTemporaryDirectory { dir in
                let fs = FullDiskFileSystem(freedBy: DiskReserve.fileName)
                let root = try openRoot(at: dir + "/root", options: F.options {
                    $0.fileSystem = fs
                    $0.compactionReserveBytes = reserved ? 1 << 20 : 0
                })
                defer { root.close() }
                let log = try root.queue("q")
                _ = try root.compact()
                #expect(Files.exists(dir + "/root/" + DiskReserve.fileName) == reserved)
                try await F.fill(log, count: 1500)
                let live = Set((0..<1200).filter { $0 % 10 == 0 }.map(Int64.init))
                try await root.group("g", on: "q").acknowledge(offsets: (0..<1200).map(Int64.init).filter { !live.contains($0) })
                fs.full.store(true, ordering: .releasing)
                let report = try root.compact()
                let q = try #require(report.queues.first)
                if reserved {
                    #expect(q.segmentsRewritten >= 2, "\(report)")
                    #expect(report.problems.isEmpty)
                    // Made again after the pass, once there was room.
                    #expect(Files.size(dir + "/root/" + DiskReserve.fileName) == 1 << 20)
                } else {
                    #expect(q.segmentsRewritten == 0)
                    #expect(q.error?.contains("diskFull") == true && q.error?.contains(".log.cleaned") == true, "\(q.error ?? "")")
                    #expect(!Files.list(log.directory).contains { $0.hasSuffix(".cleaned") })
                }
                fs.full.store(false, ordering: .releasing)
                if reserved { #expect(try F.readChecked(log) == live.sorted() + Array(1200..<1500)) }
                #expect(Set(try F.readChecked(log)).isSuperset(of: live.union(1200..<1500)))
            }
        }
    }

    @Test("an index whose blocks cannot be allocated at a roll fails the append with .diskFull naming the index; nothing acked is lost")
    func indexAllocationFailureIsDiskFull() async throws {
        try await withTemporaryDirectory { dir in
            let fs = FaultInjectingFileSystem()
            let root = try openRoot(at: dir + "/root", options: F.options { $0.fileSystem = fs })
            let log = try root.queue("q")
            try await F.fill(log, count: 100)
            var plan = FaultInjectingFileSystem.Plan()
            plan.allocateErrno = ENOSPC
            plan.writeSuffix = ".index"
            fs.setPlan(plan)
            var acked: [Int64] = Array(0..<100)
            var failure: SpoolError? = nil
            // Bounded: 64 KiB segments roll within about 300 tasks.
            for offset in Int64(100)..<2000 {
                do {
                    acked.append(try await log.append(F.payload(offset)))
                } catch let error as SpoolError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "no append failed though no index could be allocated")
            #expect(error.code == .diskFull, "\(error)")
            #expect(error.path?.hasSuffix(".index") == true, "\(error)")
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: F.options())
            defer { reopened.close() }
            let offsets = try F.readChecked(try reopened.queue("q"))
            #expect(Set(acked).isSubset(of: Set(offsets)), "acked offsets lost")
        }
    }

    @Test("with less free space than a preallocation step, acks are still written and compaction still frees space")
    func acksAndCompactionWorkOnANearlyFullDisk() async throws {
        try await withTemporaryDirectory { dir in
            let fs = FaultInjectingFileSystem()
            let root = try openRoot(at: dir + "/root", options: F.options { $0.fileSystem = fs })
            let log = try root.queue("q")
            try await F.fill(log, count: 1000)
            // 48 KiB left for logs: less than any group log's preallocation step.
            var plan = FaultInjectingFileSystem.Plan()
            plan.writeBudgetBytes = 48 << 10
            plan.writeSuffix = ".log"
            fs.setPlan(plan)
            let group = try root.group("g", on: "q")
            var acked = 0
            for _ in 0..<100 {
                let batch = try await group.claim(max: 10)
                if batch.tasks.isEmpty { break }
                acked += try await group.ack(batch).acked
            }
            #expect(acked == 1000, "acks failed on a nearly full disk after \(acked)")
            let report = try root.compact()
            #expect((report.queues.first?.segmentsDeleted ?? 0) > 0, "compaction freed nothing: \(report)")
            root.close()
            let reopened = try openRoot(at: dir + "/root", options: F.options())
            defer { reopened.close() }
            #expect(try await F.claimAll(try reopened.group("g", on: "q")).isEmpty, "acked tasks came back")
        }
    }
}
