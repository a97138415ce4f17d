import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Synchronization
import Testing

/// Files a root must not trust: symbolic links (they would send writes outside the root) and
/// FIFOs (a read would block forever). Each is refused with an error naming it.
@Suite("Symlinks and FIFOs in a root", .serialized)
struct ForeignFileTests {
    /// Runs `body` on a thread of its own and waits at most 20 s. A body blocked opening
    /// `fifo` is released (a writer opens the FIFO) so the test ends either way; returns
    /// whether it finished in time.
    static func finishes(_ fifo: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = AtomicCounter()
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box { body(); done.increment() })
        pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.run()
            return nil
        }, box.toOpaque())
        let deadline = SystemClock().monotonicNanoseconds() + 20_000_000_000
        while done.value == 0 && SystemClock().monotonicNanoseconds() < deadline { usleep(10_000) }
        let finished = done.value > 0
        if !finished {
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        pthread_join(thread, nil)
        return finished
    }

    final class Box: @unchecked Sendable {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    enum Place: String, CaseIterable { case segment, recoveryPoint, checkpoint }

    @Test("a FIFO named like a segment, a recovery point or a checkpoint is refused with an error (or a verify problem) naming it, never a hang",
          arguments: Place.allCases)
    func fifoIsRefusedNotAHang(place: Place) async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await InspectTests.writeRoot(root, count: 200, acked: 10)
            let directory = QueueFiles.directory(root, "q")
            let fifo: String
            switch place {
            case .segment: fifo = QueueFiles.logPath(directory, 100_000)
            case .recoveryPoint: fifo = directory + "/recovery-point"; unlink(fifo)
            case .checkpoint: fifo = directory + "/groups/g/checkpoint"
            }
            try #require(mkfifo(fifo, 0o600) == 0)
            let errors = Collector<SpoolError>()
            let finished = Self.finishes(fifo) {
                do {
                    let spool = try SpoolRoot.open(at: root, options: options)
                    defer { spool.close() }
                    _ = try spool.group("g", on: "q")
                } catch let error as SpoolError { errors.add(error) } catch {}
                do {
                    // A FIFO named like a segment is never listed as one: verify reports it as a problem.
                    for problem in try Verifier().verify(path: root).problems where problem.file == fifo {
                        errors.add(SpoolError(.invalidArgument, problem.message, path: problem.file))
                    }
                } catch let error as SpoolError { errors.add(error) } catch {}
                do { _ = try StatsCollector().collect(path: root) } catch let error as SpoolError { errors.add(error) } catch {}
            }
            #expect(finished, "opening, verifying or collecting stats hung on the FIFO at \(fifo)")
            let found = errors.values
            #expect(found.contains { $0.path == fifo && $0.message.contains("FIFO") }, "no error names the FIFO: \(found)")
        }
    }

    enum Link: String, CaseIterable { case activeSegment, lockFile, queueDirectory, groupsDirectory }

    @Test("a symlink planted in a root (active segment, spool.lock, a queue's or groups directory) is refused naming it; the outside target is untouched",
          arguments: Link.allCases)
    func symlinkIsRefusedAndOutsideUntouched(link: Link) async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await InspectTests.writeRoot(root, count: 200)
            let directory = QueueFiles.directory(root, "q")
            let outside = dir + "/outside"
            let planted: String
            switch link {
            case .activeSegment:
                planted = directory + "/" + QueueFiles.segments(directory).last!
                try Files.write(outside, try Files.read(planted))
                unlink(planted)
            case .lockFile:
                planted = root + "/spool.lock"
                try Files.write(outside, Array("precious".utf8))
                unlink(planted)
            case .queueDirectory:
                planted = directory
                rename(directory, outside)
            case .groupsDirectory:
                planted = directory + "/groups"
                try Files.makeDirectory(outside)
            }
            try #require(symlink(outside, planted) == 0)
            let before = Self.snapshot(outside)
            let error = #expect(throws: SpoolError.self) {
                let spool = try SpoolRoot.open(at: root, options: options)
                defer { spool.close() }
                let log = try spool.queue("q")
                _ = try spool.group("g", on: "q")
                _ = try log.appendBlocking(batch: [RecordInput(value: Array("x".utf8), timestamp: 1)])
            }
            #expect(error?.path == planted && error?.message.contains("symbolic link") == true, "\(String(describing: error))")
            #expect(Self.snapshot(outside) == before, "the file or directory outside the root changed")
        }
    }

    @Test("a root given as a symlink to a directory (the operator's choice) opens, takes tasks and syncs its directories")
    func rootGivenAsSymlinkOpens() async throws {
        try await withTemporaryDirectory { dir in
            try Files.makeDirectory(dir + "/real")
            try #require(symlink(dir + "/real", dir + "/root") == 0)
            let spool = try openRoot(at: dir + "/root", options: testOptions())
            defer { spool.close() }
            #expect(try await spool.queue("q").append(Array("x".utf8)) == 0)
            #expect(Files.exists(dir + "/real/queues/q"))
        }
    }

    /// Names and sizes under `path` (one level), or the file's bytes.
    static func snapshot(_ path: String) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        if info.st_mode & S_IFMT == S_IFDIR {
            return Files.list(path).map { "\($0):\(Files.size(path + "/" + $0))" }
        }
        return [String(decoding: (try? Files.read(path)) ?? [], as: UTF8.self)]
    }
}
