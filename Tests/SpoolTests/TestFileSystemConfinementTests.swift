import Glibc
@testable import Spool
import SpoolTesting
import Testing

/// The file systems tests and drills wrap the engine in (``FaultInjectingFileSystem``,
/// ``PowerCutFileSystem``) forward ``FileSystem/confined(toRoot:)`` to the file system they
/// wrap: a root opened through them is confined as in production, so a symlink planted in it
/// is refused, and their plan, counters and journal still see every call.
@Suite("Test file systems keep root confinement", .serialized)
struct TestFileSystemConfinementTests {
    static let payload = [UInt8](repeating: 7, count: 1_000)

    /// Opens a root through `fs`, appends one record, swaps the queue's directory for a
    /// symlink to an outside directory, then appends until the segment rolls (the roll creates
    /// files below the link). Returns the error the appends ended with, and the outside dir.
    private func appendThroughPlantedQueueLink(_ fs: any FileSystem, in dir: String) throws -> (SpoolError?, outside: String) {
        let root = dir + "/root", outside = dir + "/outside"
        let spool = try openRoot(at: root, options: testOptions { $0.segmentBytes = 64 << 10; $0.fileSystem = fs })
        defer { spool.close() }
        let log = try spool.queue("q")
        _ = try log.appendBlocking(batch: [RecordInput(value: Self.payload, timestamp: 1)])
        let directory = QueueFiles.directory(root, "q")
        try Files.makeDirectory(outside)
        try #require(rename(directory, root + "/moved-q") == 0)
        try #require(symlink(outside, directory) == 0)
        let error = #expect(throws: SpoolError.self) {
            // 200 records of 1 KB fill more than the 64 KiB segment: the roll creates files.
            for index in 0..<200 {
                _ = try log.appendBlocking(batch: [RecordInput(value: Self.payload, timestamp: Int64(index))])
            }
        }
        return (error, outside)
    }

    @Test("a root opened through a fault-injecting file system refuses a queue directory swapped for a symlink: the roll fails naming the link, nothing is made outside, and the plan's counters saw the calls")
    func faultInjectingFileSystemRefusesPlantedSymlink() async throws {
        try await withTemporaryDirectory { dir in
            let fs = FaultInjectingFileSystem()
            let (error, outside) = try appendThroughPlantedQueueLink(fs, in: dir)
            #expect(error?.message.contains("symbolic link") == true && error?.path?.hasPrefix(dir + "/root/queues/q/") == true,
                    "\(String(describing: error))")
            #expect(Files.list(outside).isEmpty, "files were created outside the root: \(Files.list(outside))")
            // The confined copy shares the plan and counters of the one the test holds.
            #expect(fs.counters.writes > 0 && fs.counters.opens > 0, "\(fs.counters)")
        }
    }

    @Test("a root opened through a power-cut file system refuses a queue directory swapped for a symlink: the roll fails naming the link, nothing is made outside, and the journal recorded the writes")
    func powerCutFileSystemRefusesPlantedSymlink() async throws {
        try await withTemporaryDirectory { dir in
            let journal = dir + "/journal"
            let fs = try PowerCutFileSystem(journalPath: journal)
            let (error, outside) = try appendThroughPlantedQueueLink(fs, in: dir)
            #expect(error?.message.contains("symbolic link") == true && error?.path?.hasPrefix(dir + "/root/queues/q/") == true,
                    "\(String(describing: error))")
            #expect(Files.list(outside).isEmpty, "files were created outside the root: \(Files.list(outside))")
            #expect(Files.size(journal) > Int64(Self.payload.count), "the journal holds \(Files.size(journal)) bytes")
        }
    }

    @Test("a fault-injecting file system confined to a root refuses to open a segment name planted as a symlink to an outside file, and leaves that file unchanged")
    func confinedFaultInjectingFileSystemRefusesLinkedSegment() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root", outside = dir + "/outside.log"
            try Files.makeDirectory(root)
            try Files.makeDirectory(root + "/queues")
            try Files.write(outside, [1, 2, 3])
            try #require(symlink(dir, root + "/queues/q") == 0)
            let fs = try FaultInjectingFileSystem().confined(toRoot: root)
            let error = #expect(throws: SpoolError.self) {
                _ = try fs.open(root + "/queues/q/outside.log", flags: O_RDWR | O_TRUNC, mode: 0o600)
            }
            #expect(error?.path == root + "/queues/q/outside.log" && error?.message.contains("symbolic link") == true,
                    "\(String(describing: error))")
            #expect(try Files.read(outside) == [1, 2, 3])
        }
    }
}
