import Glibc
@testable import Spool
import SpoolTesting
import Testing

/// Paths below an open root resolve beneath the root's directory descriptor (openat2 with
/// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a directory swapped for a symlink after the root was
/// opened, or a `..` escape, is refused with an error naming the path, and nothing outside the
/// root is created or changed.
@Suite("Root confinement (openat2 beneath the root's descriptor)", .serialized)
struct RootConfinementTests {
    static let payload = [UInt8](repeating: 7, count: 1_000)

    @Test("a queue's directory replaced by a symlink to an outside directory after the root was opened: the roll's append fails naming a link, the outside directory stays empty")
    func queueDirectorySwappedForSymlinkAfterOpenRefusesAppends() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root", outside = dir + "/outside"
            let spool = try openRoot(at: root, options: testOptions { $0.segmentBytes = 64 << 10 })
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
            #expect(error?.path?.hasPrefix(directory + "/") == true && error?.message.contains("symbolic link") == true,
                    "\(String(describing: error))")
            #expect(Files.list(outside).isEmpty, "files were created outside the root: \(Files.list(outside))")
        }
    }

    @Test("a group's directory replaced by a symlink to an outside copy after the root was opened: opening the group fails naming a link, the copy is untouched")
    func groupDirectorySwappedForSymlinkAfterOpenRefusesTheGroup() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root", outside = dir + "/outside"
            let options = testOptions()
            do {
                let spool = try openRoot(at: root, options: options)
                defer { spool.close() }
                _ = try spool.queue("q").appendBlocking(batch: [RecordInput(value: Self.payload, timestamp: 1)])
                let group = try spool.group("g", on: "q")
                _ = try group.ackBlocking(try group.claimBlocking(max: 1).tasks)
            }
            let spool = try openRoot(at: root, options: options)
            defer { spool.close() }
            _ = try spool.queue("q")
            let groupDirectory = QueueFiles.directory(root, "q") + "/groups/g"
            try #require(rename(groupDirectory, outside) == 0)
            try Files.makeDirectory(groupDirectory)
            try #require(rmdir(groupDirectory) == 0 && symlink(outside, groupDirectory) == 0)
            let before = ForeignFileTests.snapshot(outside)
            let error = #expect(throws: SpoolError.self) {
                let group = try spool.group("g", on: "q")
                _ = try group.ackBlocking(try group.claimBlocking(max: 1).tasks)
            }
            #expect(error?.path?.hasPrefix(groupDirectory) == true && error?.message.contains("symbolic link") == true,
                    "\(String(describing: error))")
            #expect(ForeignFileTests.snapshot(outside) == before, "the group's files outside the root changed")
        }
    }

    @Test("'..' escapes below a confined root are refused for open, mkdir, rename and unlink, naming the path; nothing is made outside")
    func dotDotEscapesAreRefused() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            try Files.makeDirectory(root)
            try Files.makeDirectory(root + "/queues")
            try Files.write(root + "/queues/inside", Array("x".utf8))
            let fs = try PosixFileSystem().confined(toRoot: root)
            let escapes: [(String, () throws -> Void)] = [
                (root + "/queues/../../made", { _ = try fs.open(root + "/queues/../../made", flags: O_RDWR | O_CREAT, mode: 0o600) }),
                (root + "/../dir", { try fs.makeDirectory(root + "/../dir", mode: 0o700) }),
                (root + "/queues/inside", { try fs.rename(root + "/queues/inside", to: root + "/queues/../../stolen") }),
                (root + "/queues/../../x", { try fs.unlink(root + "/queues/../../x") }),
            ]
            for (path, call) in escapes {
                let error = #expect(throws: SpoolError.self) { try call() }
                #expect(error?.message.contains("escapes the root") == true, "\(path): \(String(describing: error))")
            }
            #expect(Files.list(dir).sorted() == ["root"], "something was made outside the root: \(Files.list(dir))")
            #expect(Files.exists(root + "/queues/inside"))
        }
    }

    @Test("an absolute symlink inside a confined root is not followed: opening through it fails naming a link on the way")
    func absoluteLinkOnTheWayIsRefused() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            try Files.makeDirectory(root)
            try Files.makeDirectory(dir + "/outside")
            try #require(symlink(dir + "/outside", root + "/queues") == 0)
            let fs = try PosixFileSystem().confined(toRoot: root)
            let error = #expect(throws: SpoolError.self) {
                _ = try fs.open(root + "/queues/made", flags: O_RDWR | O_CREAT, mode: 0o600)
            }
            #expect(error?.path == root + "/queues/made" && error?.message.contains("symbolic link on the way") == true,
                    "\(String(describing: error))")
            #expect(Files.list(dir + "/outside").isEmpty)
        }
    }

    enum VerifyLink: String, CaseIterable { case queueDirectory, segmentFile }

    @Test("verify reports a symlinked queue directory or segment inside a root as a problem naming it, and does not follow it",
          arguments: VerifyLink.allCases)
    func verifyReportsSymlinkInsideRootWithoutFollowingIt(link: VerifyLink) async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root", outside = dir + "/outside"
            _ = try await InspectTests.writeRoot(root, count: 200)
            let directory = QueueFiles.directory(root, "q")
            let planted: String
            switch link {
            case .queueDirectory:
                planted = directory
                try #require(rename(directory, outside) == 0)
            case .segmentFile:
                planted = QueueFiles.logPath(directory, 1_000_000)
                try Files.write(outside, [UInt8](repeating: 0xFF, count: 4_096))
            }
            try #require(symlink(outside, planted) == 0)
            let report = try Verifier().verify(path: root)
            #expect(!report.isClean)
            #expect(report.problems.contains { $0.file == planted && $0.message.contains("symbolic link") }, "\(report.problems)")
            // Not followed: the linked queue's segments (or the linked file's garbage) are not checked.
            #expect(report.problems.allSatisfy { $0.file == planted }, "\(report.problems)")
            if link == .queueDirectory { #expect(report.segments == 0) }
        }
    }
}
