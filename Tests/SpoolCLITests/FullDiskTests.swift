import Foundation
import Testing

/// A real `spool` process on a nearly full file system: it must end with `diskFull` (exit 2,
/// naming a file) or succeed, never die of a signal (SIGBUS from a store to an mmap'd index
/// page the file system could not back).
@Suite("Full disk and open-file limits, real processes", .serialized)
struct FullDiskTests {
    /// A small tmpfs mounted for the test (needs root, as on the project's machines).
    final class SmallTmpfs {
        let path: String
        let mounted: Bool

        init(parent: String, bytes: Int) {
            path = parent + "/mnt"
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            mounted = Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path]) == 0
        }

        deinit { if mounted { _ = Self.command("/bin/umount", [path]) } }

        /// Fills the file system until `freePages` 4 KiB pages are left (writes fail past that).
        func fill(leaving freePages: Int) throws {
            let free = try Self.freeBytes(path)
            let fill = max(0, free - Int64(freePages) * 4096)
            guard let handle = FileHandle(forWritingAtPath: path + "/fill") ?? {
                _ = FileManager.default.createFile(atPath: path + "/fill", contents: nil)
                return FileHandle(forWritingAtPath: path + "/fill")
            }() else { throw CocoaError(.fileWriteUnknown) }
            defer { try? handle.close() }
            var left = fill
            let chunk = Data(count: 64 << 10)
            while left > 0 {
                let n = Int(min(left, Int64(chunk.count)))
                try handle.write(contentsOf: chunk.prefix(n))
                left -= Int64(n)
            }
        }

        static func freeBytes(_ path: String) throws -> Int64 {
            let attributes = try FileManager.default.attributesOfFileSystem(forPath: path)
            return (attributes[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
        }

        static func command(_ tool: String, _ arguments: [String]) -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            guard (try? process.run()) != nil else { return -1 }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    static let canMount: Bool = {
        let dir = ScratchDirectory()
        return SmallTmpfs(parent: dir.path, bytes: 1 << 20).mounted
    }()

    @Test("enqueue on a small tmpfs filled to each of 48 levels ends in diskFull or success, never a signal (SIGBUS)",
          .enabled(if: canMount, "mounting a tmpfs needs root"))
    func nearlyFullTmpfsNeverSignals() async throws {
        var outcomes: [String] = []
        for freePages in 1...48 {
            let dir = ScratchDirectory()
            let fs = SmallTmpfs(parent: dir.path, bytes: 8 << 20)
            try #require(fs.mounted)
            try fs.fill(leaving: freePages)
            let r = try await SpoolProcess.run(["enqueue", "--dir", fs.path + "/root", "--queue", "q", "--segment-bytes", "65536",
                                                "--count", "200", "--payload-size", "1000"])
            let signalled = r.signalled
            #expect(!signalled, "\(freePages) pages free: killed by signal \(r.status)\n\(r.stderr.prefix(400))")
            if !r.signalled && r.status != 0 {
                #expect(r.status == 2 && r.stderr.contains("diskFull") && r.stderr.contains(fs.path),
                        "\(freePages) pages free: status \(r.status): \(r.stderr.prefix(400))")
            }
            outcomes.append("\(freePages):\(r.signalled ? "signal" : String(r.status))")
        }
        #expect(outcomes.count == 48, "\(outcomes)")
    }

    @Test("consuming a root with more segments than the open-file limit allows reports too many open files, not missing records")
    func tooManyOpenFilesIsAResourceErrorNotCorruption() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let filled = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--segment-bytes", "65536",
                                                 "--count", "4000", "--payload-size", "1000", "--batch", "50"])
        #expect(filled.status == 0, "\(filled.stderr)")
        let segments = try FileManager.default.contentsOfDirectory(atPath: root + "/queues/q").filter { $0.hasSuffix(".log") }.count
        #expect(segments >= 50)
        let r = try await SpoolProcess.run(["-c", "ulimit -n 40 && exec \"$0\" \"$@\"", SpoolProcess.binary,
                                            "consume", "--dir", root, "--queue", "q", "--group", "g", "--ack", "--until-empty"],
                                           executable: "/bin/sh")
        #expect(r.status == 2, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("too many open files"), "\(r.stderr)")
        #expect(!r.stderr.contains("records are missing") && !r.stderr.contains("corruption"), "\(r.stderr)")
    }

    @Test("consuming 80 sealed segments at ulimit -n 128 succeeds: a sealed segment read holds one descriptor (its .log), not three")
    func sealedSegmentsHoldOneDescriptorEach() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        let filled = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--segment-bytes", "65536",
                                                 "--count", "4000", "--payload-size", "1000", "--batch", "50"])
        #expect(filled.status == 0, "\(filled.stderr)")
        let segments = try FileManager.default.contentsOfDirectory(atPath: root + "/queues/q").filter { $0.hasSuffix(".log") }.count
        #expect(segments >= 80)
        let r = try await SpoolProcess.run(["-c", "ulimit -n 128 && exec \"$0\" \"$@\"", SpoolProcess.binary,
                                            "consume", "--dir", root, "--queue", "q", "--group", "g", "--ack", "--until-empty"],
                                           executable: "/bin/sh")
        #expect(r.status == 0, "\(r.stderr.suffix(600))")
    }

    @Test("consuming a queue of 500 sealed segments from the start at ulimit -n 128 succeeds: a log keeps at most 64 idle sealed-segment descriptors open")
    func readingFiveHundredSealedSegmentsStaysUnderTheDescriptorLimit() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        // 1 KB tasks in 64 KiB segments: about 60 a segment, so 31,000 tasks make 500 segments.
        let filled = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--segment-bytes", "65536",
                                                 "--count", "31000", "--payload-size", "1000", "--batch", "50"])
        #expect(filled.status == 0, "\(filled.stderr)")
        let segments = try FileManager.default.contentsOfDirectory(atPath: root + "/queues/q").filter { $0.hasSuffix(".log") }.count
        #expect(segments >= 500)
        let r = try await SpoolProcess.run(["-c", "ulimit -n 128 && exec \"$0\" \"$@\"", SpoolProcess.binary,
                                            "consume", "--dir", root, "--queue", "q", "--group", "g", "--ack", "--until-empty"],
                                           executable: "/bin/sh")
        #expect(r.status == 0, "\(r.stderr.suffix(600))")
    }
    /// Runs `spool arguments...` under `ulimit -n limit`.
    static func underFileLimit(_ limit: Int, _ arguments: [String]) async throws -> SpoolProcess.Outcome {
        try await SpoolProcess.run(["-c", "ulimit -n \(limit) && exec \"$0\" \"$@\"", SpoolProcess.binary] + arguments, executable: "/bin/sh")
    }

    @Test("at ulimit -n 128, one enqueue process that rolls 260 segments succeeds, and so do verifying and consuming them, compacting them away, more appends and verify: no descriptor is held per sealed segment")
    func writerRollingMoreSegmentsThanTheFileLimitKeepsWorking() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        // 1 KB tasks in 64 KiB segments: about 60 a segment, so 16,000 tasks make 260 segments.
        let filled = try await Self.underFileLimit(128, ["enqueue", "--dir", root, "--queue", "q", "--segment-bytes", "65536",
                                                         "--count", "16000", "--payload-size", "1000", "--batch", "50"])
        #expect(filled.status == 0, "\(filled.stderr.suffix(600))")
        let segments = try FileManager.default.contentsOfDirectory(atPath: root + "/queues/q").filter { $0.hasSuffix(".log") }.count
        #expect(segments >= 250)
        let walked = try await Self.underFileLimit(128, ["verify", "--dir", root])
        #expect(walked.status == 0, "\(walked.stdout.suffix(600))\n\(walked.stderr.suffix(600))")
        let consumed = try await Self.underFileLimit(128, ["consume", "--dir", root, "--queue", "q", "--group", "g", "--ack", "--until-empty"])
        #expect(consumed.status == 0, "\(consumed.stderr.suffix(600))")
        let compacted = try await Self.underFileLimit(128, ["compact", "--dir", root])
        #expect(compacted.status == 0, "\(compacted.stderr.suffix(600))")
        let left = try FileManager.default.contentsOfDirectory(atPath: root + "/queues/q").filter { $0.hasSuffix(".log") }.count
        #expect(left == 1, "\(left) segments left after compacting a drained queue")
        let more = try await Self.underFileLimit(128, ["enqueue", "--dir", root, "--queue", "q", "--segment-bytes", "65536",
                                                       "--count", "200", "--payload-size", "1000", "--batch", "50"])
        #expect(more.status == 0, "\(more.stderr.suffix(600))")
        let verified = try await Self.underFileLimit(128, ["verify", "--dir", root])
        #expect(verified.status == 0, "\(verified.stdout.suffix(600))\n\(verified.stderr.suffix(600))")
    }
}
