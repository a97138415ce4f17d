import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// The data directory: its lock, where it may live, what it creates, and queue names.
@Suite("Root")
struct RootTests {
    @Test("a second open of the same root in this process throws .locked naming the lock file")
    func secondOpenInProcessIsLocked() throws {
        try withTemporaryDirectorySync { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { _ = try SpoolRoot.open(at: dir + "/root", options: testOptions()) }
            #expect(error?.code == .locked)
            #expect(error?.path == dir + "/root/spool.lock")
            #expect(error?.message.contains("process \(getpid())") == true, "the error names the holder: \(error?.message ?? "")")
            // The same root through another spelling of its path is the same lock.
            let again = #expect(throws: SpoolError.self) { _ = try SpoolRoot.open(at: dir + "/root//", options: testOptions()) }
            #expect(again?.code == .locked)
        }
    }

    @Test("a second process cannot write while the root is open: it exits with status 2 and says locked")
    func secondProcessIsLocked() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            try await root.queue("q").append(Array("mine".utf8))
            let outcome = try await SpoolBinary.run(["enqueue", "--dir", dir + "/root", "--queue", "q", "theirs"], in: dir, retryOwnLock: false)
            #expect(outcome.status == 2, "\(outcome)")
            #expect(outcome.stderr.contains("locked"), "\(outcome)")
            #expect(outcome.stderr.contains("\(getpid())"), "the holder's pid is named")
            root.close()
            // Once released, the other process gets in.
            let after = try await SpoolBinary.run(["enqueue", "--dir", dir + "/root", "--queue", "q", "theirs"], in: dir)
            #expect(after.status == 0, "\(after)")
            let reopened = try openRoot(at: dir + "/root", options: testOptions())
            defer { reopened.close() }
            #expect(try readAll(try reopened.queue("q")).map { String(decoding: $0.value!, as: UTF8.self) } == ["mine", "theirs"])
        }
    }

    @Test("close releases the lock: another root opens the path and sees the data")
    func closeReleasesTheLock() async throws {
        try await withTemporaryDirectory { dir in
            let first = try openRoot(at: dir + "/root", options: testOptions())
            try await first.queue("q").append([7])
            first.close()
            first.close()  // idempotent
            let second = try openRoot(at: dir + "/root", options: testOptions())
            defer { second.close() }
            #expect(try readAll(try second.queue("q")).map(\.value) == [[7]])
        }
    }

    @Test("queue() on a closed root throws .closed instead of opening a log without the lock")
    func queueOnClosedRootThrows() async throws {
        try await withTemporaryDirectory { dir in
            let first = try openRoot(at: dir + "/root", options: testOptions())
            _ = try first.queue("q")
            first.close()
            let second = try openRoot(at: dir + "/root", options: testOptions())
            defer { second.close() }
            _ = try second.queue("q")
            // `first` no longer holds the lock: a log from it would be a second writer.
            let error = #expect(throws: SpoolError.self) { _ = try first.queue("q") }
            #expect(error?.code == .closed)
            first.close()
        }
    }

    @Test("a missing data directory with createIfMissing false throws .notFound naming it")
    func missingDirectoryNotCreated() throws {
        try withTemporaryDirectorySync { dir in
            let error = #expect(throws: SpoolError.self) {
                _ = try SpoolRoot.open(at: dir + "/absent", options: testOptions { $0.createIfMissing = false })
            }
            #expect(error?.code == .notFound)
            #expect(error?.path == dir + "/absent")
            #expect(!Files.exists(dir + "/absent"))
        }
    }

    @Test("a data directory whose parent is missing throws .notFound naming the path")
    func missingParent() throws {
        try withTemporaryDirectorySync { dir in
            let error = #expect(throws: SpoolError.self) { _ = try SpoolRoot.open(at: dir + "/no/such/root", options: testOptions()) }
            #expect(error?.code == .notFound)
            #expect(error?.path == dir + "/no/such/root")
            #expect(error?.hint?.contains("parent") == true)
        }
    }

    @Test("a regular file as the data directory throws .invalidArgument naming it")
    func regularFileAsRoot() throws {
        try withTemporaryDirectorySync { dir in
            try Files.write(dir + "/file", [1])
            let error = #expect(throws: SpoolError.self) { _ = try SpoolRoot.open(at: dir + "/file", options: testOptions()) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.path == dir + "/file")
            #expect(try Files.read(dir + "/file") == [1], "the file was left alone")
        }
    }

    @Test("a data directory under a regular file (ENOTDIR) throws a clear error naming the path")
    func rootUnderRegularFile() throws {
        try withTemporaryDirectorySync { dir in
            try Files.write(dir + "/file", [1])
            let error = #expect(throws: SpoolError.self) { _ = try SpoolRoot.open(at: dir + "/file/root", options: testOptions()) }
            #expect(error?.code == .io)
            #expect(error?.path == dir + "/file/root")
            #expect(error?.errno == ENOTDIR)
            #expect(error.map { "\($0)" }?.contains("Not a directory") == true, "the text names the cause: \(error.map { "\($0)" } ?? "")")
        }
    }

    @Test("options out of range throw .invalidArgument naming the option", arguments: [
        ("segmentBytes", testOptions { $0.segmentBytes = 1000 }),
        ("preallocationStepBytes", testOptions { $0.preallocationStepBytes = 100 }),
        ("recoveryCheckpointBytes", testOptions { $0.recoveryCheckpointBytes = 10 }),
        ("pendingBytesMax", testOptions { $0.pendingBytesMax = 1024 }),
        ("durability interval", testOptions { $0.durability = .interval(milliseconds: 0) }),
    ])
    func optionsOutOfRange(name: String, options: SpoolOptions) throws {
        try withTemporaryDirectorySync { dir in
            let error = #expect(throws: SpoolError.self) { _ = try SpoolRoot.open(at: dir + "/root", options: options) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(name) == true, "\(error?.message ?? "")")
            #expect(!Files.exists(dir + "/root"), "nothing was created")
        }
    }

    @Test("invalid queue names throw .invalidArgument and create nothing", arguments: [
        "", "a/b", "..", ".", ".hidden", "a\u{0}b", String(repeating: "x", count: 201), "../escape", "a b", "é", "q\n",
    ])
    func invalidQueueNames(name: String) throws {
        try withTemporaryDirectorySync { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            defer { root.close() }
            let error = #expect(throws: SpoolError.self) { _ = try root.queue(name) }
            #expect(error?.code == .invalidArgument)
            #expect(Files.list(dir + "/root/queues").isEmpty)
            #expect(Files.list(dir + "/root") == ["queues", "spool.lock"])
        }
    }

    @Test("a valid 200-byte queue name works and its directory stays inside <root>/queues")
    func longestQueueName() async throws {
        try await withTemporaryDirectory { dir in
            let name = String(repeating: "a", count: 190) + "-_.0123Z9"
            try #require(name.utf8.count == 199)
            let longest = name + "x"
            let root = try openRoot(at: dir + "/root", options: testOptions())
            let log = try root.queue(longest)
            #expect(try await log.append([1]) == 0)
            #expect(log.directory == dir + "/root/queues/" + longest)
            #expect(Files.list(dir + "/root/queues") == [longest])
            #expect(Files.isDirectory(dir + "/root/queues/" + longest))
            #expect(try root.queueNames() == [longest])
            #expect(try root.queue(longest) === log, "the same name gives the same log")
            root.close()
            #expect(Files.list(dir + "/root") == ["queues", "spool.lock"])
        }
    }

    @Test("files are created 0600 and directories 0700")
    func fileModes() async throws {
        try await withTemporaryDirectory { dir in
            let root = try openRoot(at: dir + "/root", options: testOptions())
            try await root.queue("q").append([1])
            root.close()
            let queue = QueueFiles.directory(dir + "/root", "q")
            for directory in [dir + "/root", dir + "/root/queues", queue] {
                #expect(Files.mode(directory) == 0o700, "\(directory)")
            }
            for file in [dir + "/root/spool.lock", QueueFiles.logPath(queue, 0), QueueFiles.indexPath(queue, 0),
                         QueueFiles.timeIndexPath(queue, 0), queue + "/recovery-point"] {
                #expect(Files.mode(file) == 0o600, "\(file)")
            }
        }
    }
}
