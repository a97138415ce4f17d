import Foundation
import Glibc
import Testing

/// `spool stats`, `dump` and `tail` skip a symbolic link or a FIFO planted in a root (Spool never
/// follows or reads one) and say so: one warning line on stderr naming the path and what to do,
/// worded as `verify` reports it, then the rest of their output as usual and exit code 0.
@Suite("stats, dump and tail warn about links and FIFOs in a root")
struct ForeignEntryWarningTests {
    /// A root with queue `q` holding tasks a, b, c, an outside file of garbage named like a
    /// segment linked in as segment 1000, and a FIFO named like segment 2000.
    static func plantedRoot(_ dir: ScratchDirectory) async throws -> (root: String, link: String, fifo: String) {
        let root = dir.path + "/root"
        let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "a", "b", "c"])
        try #require(r.status == 0, "\(r.stderr)")
        let outside = dir.path + "/outside.log"
        try Data(repeating: 0xEE, count: 4096).write(to: URL(fileURLWithPath: outside))
        let queue = root + "/queues/q"
        let link = queue + "/00000000000000001000.log", fifo = queue + "/00000000000000002000.log"
        try #require(symlink(outside, link) == 0 && mkfifo(fifo, 0o600) == 0)
        return (root, link, fifo)
    }

    /// The warning lines of `stderr` that name `path`.
    static func warnings(_ stderr: String, naming path: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("spool: warning: \(path): ") }
    }

    static func expectWarnings(_ stderr: String, command: String, link: String, fifo: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let linkLines = warnings(stderr, naming: link), fifoLines = warnings(stderr, naming: fifo)
        #expect(linkLines == ["spool: warning: \(link): a symbolic link inside the root: Spool does not follow it (open refuses it), and \(command) did not check what it points to; replace it with the file or directory itself, or move it out of the root"],
                "\(stderr)", sourceLocation: sourceLocation)
        #expect(fifoLines == ["spool: warning: \(fifo): a FIFO (named pipe) inside the root, not a regular file: Spool does not read it (open refuses it), and \(command) did not check it; move it out of the root"],
                "\(stderr)", sourceLocation: sourceLocation)
    }

    @Test("stats on a root with a linked and a FIFO segment warns about each on stderr, still counts the queue's 3 tasks in 1 segment, and exits 0")
    func statsWarnsAboutPlantedLinkAndFifo() async throws {
        let dir = ScratchDirectory()
        let (root, link, fifo) = try await Self.plantedRoot(dir)
        let r = try await SpoolProcess.run(["stats", "--dir", root, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        Self.expectWarnings(r.stderr, command: "stats", link: link, fifo: fifo)
        #expect(r.stdout.contains("\"queue\":\"q\"") && r.stdout.contains("\"tasks\":3") && r.stdout.contains("\"segments\":1"), "\(r.stdout)")
    }

    @Test("dump of a root with a linked and a FIFO segment warns about each on stderr, prints the 3 real records, never the linked file's bytes, and exits 0")
    func dumpWarnsAboutPlantedLinkAndFifo() async throws {
        let dir = ScratchDirectory()
        let (root, link, fifo) = try await Self.plantedRoot(dir)
        let r = try await SpoolProcess.run(["dump", root, "--records", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        Self.expectWarnings(r.stderr, command: "dump", link: link, fifo: fifo)
        #expect(!r.stdout.contains("00000000000000001000") && !r.stdout.contains("00000000000000002000"), "\(r.stdout)")
        let records = r.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"record\"") }
        #expect(records.count == 3, "\(r.stdout)")
    }

    @Test("tail of a queue with a linked and a FIFO segment warns about each on stderr, prints the 3 tasks, and exits 0")
    func tailWarnsAboutPlantedLinkAndFifo() async throws {
        let dir = ScratchDirectory()
        let (root, link, fifo) = try await Self.plantedRoot(dir)
        let r = try await SpoolProcess.run(["tail", "--dir", root, "--queue", "q"])
        #expect(r.status == 0, "\(r.stderr)")
        Self.expectWarnings(r.stderr, command: "tail", link: link, fifo: fifo)
        for value in ["a", "b", "c"] { #expect(r.stdout.contains(value), "\(r.stdout)") }
        #expect(r.stdout.split(separator: "\n").count == 3, "\(r.stdout)")
    }

    @Test("verify reports the same linked and FIFO segments as problems, worded as the warnings, and exits 1")
    func verifyReportsPlantedLinkAndFifoWithTheSameWording() async throws {
        let dir = ScratchDirectory()
        let (root, link, fifo) = try await Self.plantedRoot(dir)
        let r = try await SpoolProcess.run(["verify", "--dir", root, "--json"])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("\"file\":\"\(link)\"") && r.stdout.contains("and verify did not check what it points to"), "\(r.stdout)")
        #expect(r.stdout.contains("\"file\":\"\(fifo)\"") && r.stdout.contains("a FIFO (named pipe) inside the root, not a regular file"), "\(r.stdout)")
    }

    @Test("stats, dump and tail of a root with nothing planted print no warning")
    func cleanRootGetsNoWarning() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "a"])
        try #require(r.status == 0, "\(r.stderr)")
        for arguments in [["stats", "--dir", root], ["dump", root], ["tail", "--dir", root, "--queue", "q"]] {
            let run = try await SpoolProcess.run(arguments)
            #expect(run.status == 0 && !run.stderr.contains("warning"), "\(arguments): \(run.stderr)")
        }
    }
}
